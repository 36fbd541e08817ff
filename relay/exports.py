"""What the export formats of annotation sets and inference results share."""

import re
from dataclasses import dataclass


@dataclass
class Exported:
    content_type: str
    body: bytes
    extension: str


def seconds(ms):
    """Milliseconds as seconds with 6 decimals: exact to the millisecond on the way back."""
    return f"{ms / 1000:.6f}"


def audacity_track(rows):
    """Audacity label track text of rows with start_ms, end_ms and artifact_type."""
    return "".join(f"{seconds(r['start_ms'])}\t{seconds(r['end_ms'])}\t{r['artifact_type']}\n" for r in rows)


def safe_stem(filename, default="audio"):
    """A file's name without its extension, reduced to letters, digits, `.`, `_` and `-`
    (at most 80): safe as part of an entry name in a zip whatever the user named the file."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", filename.rsplit(".", 1)[0])[:80].strip(".")
    return stem or default
