"""Inference results as rows (one per detection), a pandas DataFrame when pandas is
installed, and files: csv, json or Audacity label tracks."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

COLUMNS = ("path", "file_id", "original_filename", "status", "artifact_type", "start_ms", "end_ms", "confidence")
FORMATS = ("csv", "json", "audacity")


def format_for(path, fmt=None):
    """The output format: given, or from the file's suffix (.csv, .json, .txt = audacity)."""
    if fmt:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
        return fmt
    suffix = Path(path).suffix.lower()
    return {".csv": "csv", ".json": "json", ".txt": "audacity", ".labels": "audacity"}.get(suffix, "csv")


def audacity_track(detections):
    """An Audacity label track: `start<TAB>end<TAB>label` in seconds, one line a detection."""
    return "".join(
        f"{d['start_ms'] / 1000:.3f}\t{d['end_ms'] / 1000:.3f}\t{d['artifact_type']}\n"
        for d in sorted(detections, key=lambda d: (d["start_ms"], d["end_ms"]))
    )


class Results:
    """The files of one or more inference jobs with their detections.

    `rows()` gives one dict per detection; `to_dataframe()` the same as a DataFrame;
    `save(path)` writes csv, json or Audacity labels."""

    def __init__(self, jobs, files, paths=None):
        self.jobs = list(jobs)
        self.files = list(files)
        self.paths = dict(paths or {})  # file id -> local path it came from

    def __len__(self):
        return sum(len(f.get("detections") or []) for f in self.files)

    def __iter__(self):
        return iter(self.rows())

    def __repr__(self):
        return f"Results({len(self.files)} file(s), {len(self)} detection(s))"

    @property
    def failed_files(self):
        return [f for f in self.files if f.get("status") == "failed"]

    def rows(self):
        out = []
        for f in self.files:
            for d in f.get("detections") or []:
                out.append(
                    {
                        "path": str(self.paths.get(f["id"], "")),
                        "file_id": f["id"],
                        "original_filename": f["original_filename"],
                        "status": f["status"],
                        "artifact_type": d["artifact_type"],
                        "start_ms": d["start_ms"],
                        "end_ms": d["end_ms"],
                        "confidence": d["confidence"],
                    }
                )
        return out

    def to_dataframe(self):
        try:
            import pandas
        except ImportError:
            raise ImportError("to_dataframe() needs pandas: pip install 'relay-client[pandas]'") from None
        return pandas.DataFrame(self.rows(), columns=list(COLUMNS))

    def to_json(self):
        return {
            "inference_job_ids": [j["id"] for j in self.jobs],
            "files": [
                {
                    "path": str(self.paths.get(f["id"], "")),
                    "file_id": f["id"],
                    "inference_job_id": f.get("inference_job_id"),
                    "original_filename": f["original_filename"],
                    "status": f["status"],
                    "error_message": f.get("error_message") or "",
                    "duration_ms": f.get("duration_ms"),
                    "detections": [
                        {k: d[k] for k in ("artifact_type", "start_ms", "end_ms", "confidence")}
                        for d in f.get("detections") or []
                    ],
                }
                for f in self.files
            ],
        }

    def to_csv(self):
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows())
        return buffer.getvalue()

    def save(self, path, fmt=None):
        """Write the results; Audacity labels of several files go to one track per file
        (`<stem>.<file's stem>.txt` beside `path`). The paths written."""
        path = Path(path)
        fmt = format_for(path, fmt)
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "csv":
            path.write_text(self.to_csv())
            return [path]
        if fmt == "json":
            path.write_text(json.dumps(self.to_json(), indent=1) + "\n")
            return [path]
        if len(self.files) == 1:
            path.write_text(audacity_track(self.files[0].get("detections") or []))
            return [path]
        written = []
        for f in self.files:
            target = path.with_name(f"{path.stem}.{Path(f['original_filename']).stem}{path.suffix or '.txt'}")
            target.write_text(audacity_track(f.get("detections") or []))
            written.append(target)
        return written
