"""Audio formats Relay accepts, by declared Content-Type (api.md, "Audio files")."""

from detector.audio import DECODERS

# Accepted declared content types: exactly those the decoder knows.
CONTENT_TYPES = frozenset(DECODERS)

SUPPORTED_FORMATS = [
    {"content_type": "audio/wav", "aliases": ["audio/x-wav", "audio/wave"], "extensions": [".wav"]},
    {"content_type": "audio/flac", "aliases": [], "extensions": [".flac"]},
    {"content_type": "audio/ogg", "aliases": [], "extensions": [".ogg", ".oga", ".opus"]},
    {"content_type": "audio/mpeg", "aliases": [], "extensions": [".mp3"]},
    {"content_type": "audio/mp4", "aliases": [], "extensions": [".m4a", ".mp4"]},
    {"content_type": "audio/aac", "aliases": [], "extensions": [".aac"]},
    {"content_type": "audio/webm", "aliases": [], "extensions": [".webm"]},
]
