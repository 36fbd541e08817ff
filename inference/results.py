"""Exports of an inference job's detections: json, csv, audacity label tracks."""

import csv
import io
import json
import zipfile

from relay.exports import Exported, audacity_track

FORMATS = ("json", "csv", "audacity")


def _detections(inference_file):
    return [
        {
            "artifact_type": d.artifact_type,
            "start_ms": d.start_ms,
            "end_ms": d.end_ms,
            "confidence": round(d.confidence, 4),
        }
        for d in inference_file.detections.all()
    ]


def export(fmt, job, files, single_file=False):
    if fmt == "json":
        body = {
            "inference_job_id": str(job.pk),
            "model_id": str(job.model_id) if job.model_id else None,
            "config": job.config,
            "status": job.status,
            "files": [
                {
                    "file_id": str(f.pk),
                    "original_filename": f.filename,
                    "status": f.status,
                    "duration_ms": f.duration_ms,
                    "error_message": f.error_message,
                    "detections": _detections(f),
                }
                for f in files
            ],
        }
        return Exported("application/json", json.dumps(body, indent=1).encode(), "json")
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["file_id", "original_filename", "artifact_type", "start_ms", "end_ms", "confidence"])
        for f in files:
            for d in _detections(f):
                writer.writerow([f.pk, f.filename, d["artifact_type"], d["start_ms"], d["end_ms"], d["confidence"]])
        return Exported("text/csv", buffer.getvalue().encode(), "csv")
    tracks = {f: audacity_track(_detections(f)) for f in files}
    if single_file and len(files) == 1:
        return Exported("text/plain", tracks[files[0]].encode(), "txt")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for f, track in tracks.items():
            stem = f.filename.rsplit(".", 1)[0].replace("/", "_")[:80]
            archive.writestr(f"{f.pk}_{stem}.txt", track)
    return Exported("application/zip", buffer.getvalue(), "zip")
