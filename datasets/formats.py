"""Audio formats Relay accepts, by declared Content-Type (api.md, "Audio files")."""

# content type -> the decoder that reads it ("soundfile" is libsndfile, "av" is FFmpeg via PyAV).
CONTENT_TYPES = {
    "audio/wav": "soundfile",
    "audio/x-wav": "soundfile",
    "audio/wave": "soundfile",
    "audio/flac": "soundfile",
    "audio/ogg": "soundfile",
    "audio/mpeg": "soundfile",
    "audio/mp4": "av",
    "audio/aac": "av",
    "audio/webm": "av",
}

SUPPORTED_FORMATS = [
    {"content_type": "audio/wav", "aliases": ["audio/x-wav", "audio/wave"], "extensions": [".wav"]},
    {"content_type": "audio/flac", "aliases": [], "extensions": [".flac"]},
    {"content_type": "audio/ogg", "aliases": [], "extensions": [".ogg", ".oga", ".opus"]},
    {"content_type": "audio/mpeg", "aliases": [], "extensions": [".mp3"]},
    {"content_type": "audio/mp4", "aliases": [], "extensions": [".m4a", ".mp4"]},
    {"content_type": "audio/aac", "aliases": [], "extensions": [".aac"]},
    {"content_type": "audio/webm", "aliases": [], "extensions": [".webm"]},
]
