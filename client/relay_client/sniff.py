"""The content type of an audio file from its first bytes, not its name (a FLAC named
`.wav` is still FLAC): the types Relay accepts, or None."""

from __future__ import annotations

from pathlib import Path

AUDIO_SUFFIXES = frozenset(
    {".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".mp4", ".aac", ".webm", ".mka"}
)
_BY_SUFFIX = {
    ".wav": "audio/wav",
    ".wave": "audio/wav",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".mp4": "audio/mp4",
    ".aac": "audio/aac",
    ".webm": "audio/webm",
    ".mka": "audio/webm",
}
_W64 = bytes.fromhex("726966662e91cf11a5d628db04c10000")


def _skip_id3(head):
    """The bytes after an ID3v2 tag (MP3s, and some FLAC and AAC files, start with one)."""
    if head[:3] == b"ID3" and len(head) >= 10:
        size = (head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | (head[9] & 0x7F)
        footer = 10 if head[5] & 0x10 else 0
        return head[10 + size + footer :], True
    return head, False


def sniff_bytes(head: bytes) -> str | None:
    """`audio/wav`, `audio/flac`, `audio/ogg`, `audio/mpeg`, `audio/mp4`, `audio/aac`,
    `audio/webm`, or None when the bytes are none of them."""
    if head[:4] in (b"RIFF", b"RIFX", b"RF64", b"BW64") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:16] == _W64:
        return "audio/wav"
    body, had_id3 = _skip_id3(head)
    if body[:4] == b"fLaC":
        return "audio/flac"
    if body[:4] == b"OggS":
        return "audio/ogg"
    if body[4:8] == b"ftyp":
        return "audio/mp4"
    if body[:4] == b"\x1a\x45\xdf\xa3":
        return "audio/webm"
    if len(body) >= 2 and body[0] == 0xFF and body[1] & 0xE0 == 0xE0:
        layer = (body[1] >> 1) & 0x03
        if layer == 0 and body[1] & 0xF0 == 0xF0:
            return "audio/aac"  # ADTS: MPEG sync with layer 00
        if layer != 0:
            return "audio/mpeg"
    if had_id3:
        return "audio/mpeg"  # an ID3 tag whose audio lies beyond what was read
    return None


def sniff(path, head_bytes=65536) -> str | None:
    with open(path, "rb") as handle:
        return sniff_bytes(handle.read(head_bytes))


def guess_by_name(path) -> str | None:
    return _BY_SUFFIX.get(Path(path).suffix.lower())


def content_type_of(path) -> str:
    """Sniffed, else from the name, else `application/octet-stream` (the server refuses it
    with a message naming the accepted types)."""
    return sniff(path) or guess_by_name(path) or "application/octet-stream"


def is_audio(path) -> bool:
    return Path(path).suffix.lower() in AUDIO_SUFFIXES or sniff(path) is not None
