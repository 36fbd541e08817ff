"""Exports of an inference job's detections: json, csv, audacity label tracks, and Label
Studio predictions with the labelling config they need (to correct detections there and
import the result into a draft annotation set)."""

import csv
import io
import json
import zipfile
from xml.sax.saxutils import quoteattr

from relay.exports import Exported, audacity_track, safe_stem, seconds

FORMATS = ("json", "csv", "audacity", "label-studio", "label-studio-config")
PALETTE = ("#E6194B", "#3CB44B", "#4363D8", "#F58231", "#911EB4", "#42D4F4", "#F032E6", "#9A6324")


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


def export(fmt, job, files, single_file=False, url_of=None):
    """`url_of(file)`: a URL the audio of a file can be fetched from (label-studio only)."""
    if fmt == "label-studio":
        return _label_studio_tasks(job, files, url_of)
    if fmt == "label-studio-config":
        return Exported("application/xml", label_studio_config(job).encode(), "xml")
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
            archive.writestr(f"{f.pk}_{safe_stem(f.filename)}.txt", track)
    return Exported("application/zip", buffer.getvalue(), "zip")


def _type_colors(job):
    model = job.model
    names = list(model.artifact_types) if model is not None else []
    configured = (model.config.get("colors") if model is not None else None) or {}
    return {name: configured.get(name, PALETTE[i % len(PALETTE)]) for i, name in enumerate(names)}


def label_studio_config(job):
    """The labelling config of an audio project whose labels are the model's types."""
    labels = "".join(
        f"\n    <Label value={quoteattr(name)} background={quoteattr(color)}/>"
        for name, color in _type_colors(job).items()
    )
    return (
        "<View>\n"
        f'  <Labels name="label" toName="audio" choice="multiple">{labels}\n  </Labels>\n'
        '  <Audio name="audio" value="$audio" zoom="true"/>\n'
        "</View>\n"
    )


def _label_studio_tasks(job, files, url_of):
    """One task per file: the audio, and the detections as a prediction to correct."""
    version = str(job.model_id) if job.model_id else "deleted model"
    tasks = []
    for f in files:
        detections = _detections(f)
        data = {
            "audio": url_of(f) if url_of else f.filename,
            "filename": f.filename,
            "relay_inference_file_id": str(f.pk),
        }
        if f.audio_file_id:
            data["relay_audio_file_id"] = str(f.audio_file_id)
        results = [
            {
                "id": f"{f.pk.hex[:6]}{index}",
                "from_name": "label",
                "to_name": "audio",
                "type": "labels",
                "origin": "prediction",
                "score": d["confidence"],
                "value": {
                    "start": float(seconds(d["start_ms"])),
                    "end": float(seconds(d["end_ms"])),
                    "channel": 0,
                    "labels": [d["artifact_type"]],
                },
            }
            for index, d in enumerate(detections)
        ]
        score = sum(d["confidence"] for d in detections) / len(detections) if detections else 0.0
        tasks.append(
            {"data": data, "predictions": [{"model_version": version, "score": round(score, 4), "result": results}]}
        )
    return Exported("application/json", json.dumps(tasks, indent=1).encode(), "json")
