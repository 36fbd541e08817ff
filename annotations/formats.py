"""Import and export of annotation sets: json, jsonl, csv, audacity, label-studio, edge-impulse.

Exporters take plain rows (dicts) and audio facts; parsers take the uploaded bytes and
return raw items shaped like AnnotationCreate (with `filename` instead of
`audio_file_id` where a format names files), which then go through the same validation
as the API. Times are integer milliseconds; formats in seconds are written with enough
decimals to come back to the same millisecond.

Limits of the formats themselves: audacity and edge-impulse carry no confidence or
extra_data; edge-impulse segments cannot overlap, so overlapping events are written as
segments labelled `type1+type2`, and events of one type that overlap or touch come back
merged into one.
"""

import csv
import io
import json
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass

from relay.errors import problem
from relay.exports import Exported, audacity_track, safe_stem, seconds
from relay.limits import MAX_JSON_DEPTH, too_deep

FORMATS = ("json", "jsonl", "csv", "audacity", "label-studio", "edge-impulse")
CSV_COLUMNS = ("id", "audio_file_id", "filename", "artifact_type", "start_ms", "end_ms", "confidence", "extra_data")
EDGE_IMPULSE_BACKGROUND = "no_artifact"
_UUID_PREFIX = re.compile(r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})", re.I)


TOO_DEEP = f"JSON nested deeper than {MAX_JSON_DEPTH} levels"


class MalformedImport(Exception):
    """The body cannot be read as the format at all (a 400)."""


@dataclass
class AudioFacts:
    id: str
    filename: str
    duration_ms: int | None
    url: str | None = None


def to_ms(value):
    """Seconds (number or numeric string) -> integer ms, or the value unchanged (the
    validator then reports it)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    return round(number * 1000)


def _track_name(audio):
    return f"{audio.id}_{safe_stem(audio.filename)}.txt"


# --- export -------------------------------------------------------------------------------


def export(fmt, rows, audio, meta):
    """rows: dicts with id, audio_file_id, artifact_type, start_ms, end_ms, confidence,
    extra_data; audio: {audio_file_id: AudioFacts}; meta: the set's identity."""
    return _EXPORTERS[fmt](rows, audio, meta)


def _row_out(row, audio):
    return {
        "id": row["id"],
        "audio_file_id": row["audio_file_id"],
        "filename": audio[row["audio_file_id"]].filename,
        "artifact_type": row["artifact_type"],
        "start_ms": row["start_ms"],
        "end_ms": row["end_ms"],
        "confidence": row["confidence"],
        "extra_data": row["extra_data"],
    }


def _export_json(rows, audio, meta):
    body = {
        "format": "relay-annotations",
        "format_version": 1,
        **meta,
        "annotations": [_row_out(row, audio) for row in rows],
    }
    return Exported("application/json", json.dumps(body, indent=1).encode(), "json")


def _export_jsonl(rows, audio, meta):
    lines = (json.dumps(_row_out(row, audio)) for row in rows)
    return Exported("application/x-ndjson", ("\n".join(lines) + "\n").encode(), "jsonl")


def _export_csv(rows, audio, meta):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        out = _row_out(row, audio)
        out["extra_data"] = json.dumps(out["extra_data"]) if out["extra_data"] else ""
        writer.writerow(out)
    return Exported("text/csv", buffer.getvalue().encode(), "csv")


def _export_audacity(rows, audio, meta):
    by_file = defaultdict(list)
    for row in rows:
        by_file[row["audio_file_id"]].append(row)
    if meta.get("audio_file_id"):
        return Exported("text/plain", audacity_track(by_file.get(meta["audio_file_id"], [])).encode(), "txt")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for audio_id, file_rows in by_file.items():
            archive.writestr(_track_name(audio[audio_id]), audacity_track(file_rows))
    return Exported("application/zip", buffer.getvalue(), "zip")


def _export_label_studio(rows, audio, meta):
    by_file = defaultdict(list)
    for row in rows:
        by_file[row["audio_file_id"]].append(row)
    tasks = []
    for audio_id, file_rows in by_file.items():
        facts = audio[audio_id]
        results = [
            {
                "id": str(row["id"])[:10],
                "from_name": "label",
                "to_name": "audio",
                "type": "labels",
                "origin": "manual",
                "score": row["confidence"],
                "value": {
                    "start": float(seconds(row["start_ms"])),
                    "end": float(seconds(row["end_ms"])),
                    "channel": 0,
                    "labels": [row["artifact_type"]],
                },
            }
            for row in file_rows
        ]
        tasks.append(
            {
                "data": {
                    "audio": facts.url or facts.filename,
                    "filename": facts.filename,
                    "relay_audio_file_id": audio_id,
                },
                "annotations": [{"result": results, "ground_truth": False}],
            }
        )
    return Exported("application/json", json.dumps(tasks, indent=1).encode(), "json")


def _export_edge_impulse(rows, audio, meta):
    by_file = defaultdict(list)
    for row in rows:
        by_file[row["audio_file_id"]].append(row)
    names = defaultdict(int)
    for audio_id in by_file:
        names[audio[audio_id].filename] += 1
    labels = {}
    for audio_id, file_rows in by_file.items():
        facts = audio[audio_id]
        key = facts.filename if names[facts.filename] == 1 else f"{audio_id}_{facts.filename}"
        end = max(facts.duration_ms or 0, max(r["end_ms"] for r in file_rows))
        labels[key] = _segments(file_rows, end)
    body = {"version": 1, "type": "structured-labels", "structuredLabels": labels}
    return Exported("application/json", json.dumps(body, indent=1).encode(), "labels")


def _segments(rows, end_ms):
    """Contiguous [startIndex, endIndex] (inclusive ms) segments covering [0, end_ms),
    each labelled with the types active in it."""
    bounds = sorted({0, end_ms} | {r["start_ms"] for r in rows} | {r["end_ms"] for r in rows})
    segments = []
    for start, stop in zip(bounds, bounds[1:], strict=False):
        active = sorted({r["artifact_type"] for r in rows if r["start_ms"] < stop and r["end_ms"] > start})
        label = "+".join(active) or EDGE_IMPULSE_BACKGROUND
        if segments and segments[-1]["label"] == label:
            segments[-1]["endIndex"] = stop - 1
        else:
            segments.append({"startIndex": start, "endIndex": stop - 1, "label": label})
    return segments


_EXPORTERS = {
    "json": _export_json,
    "jsonl": _export_jsonl,
    "csv": _export_csv,
    "audacity": _export_audacity,
    "label-studio": _export_label_studio,
    "edge-impulse": _export_edge_impulse,
}


# --- import -------------------------------------------------------------------------------


def parse(fmt, body: bytes, *, audio_file_id=None):
    """Raw AnnotationCreate-like items; each may name its file by `audio_file_id` or `filename`."""
    return _PARSERS[fmt](body, audio_file_id)


def _text(body):
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise MalformedImport(f"not UTF-8 text ({error})") from None


def _json(body):
    try:
        data = json.loads(_text(body))
    except json.JSONDecodeError as error:
        raise MalformedImport(f"malformed JSON: {error}") from None
    except RecursionError:
        raise MalformedImport(TOO_DEEP) from None
    if too_deep(data):
        raise MalformedImport(TOO_DEEP)
    return data


def _parse_json(body, audio_file_id):
    data = _json(body)
    items = data.get("annotations") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise MalformedImport('expected {"annotations": [...]} or a list of annotations')
    return items


def _parse_jsonl(body, audio_file_id):
    items = []
    for number, line in enumerate(_text(body).splitlines(), start=1):
        if line.strip():
            try:
                item = json.loads(line)
            except json.JSONDecodeError as error:
                raise MalformedImport(f"malformed JSON on line {number}: {error}") from None
            except RecursionError:
                raise MalformedImport(f"line {number}: {TOO_DEEP}") from None
            if too_deep(item):
                raise MalformedImport(f"line {number}: {TOO_DEEP}")
            items.append(item)
    return items


def _parse_csv(body, audio_file_id):
    try:
        return _csv_items(csv.DictReader(io.StringIO(_text(body))))
    except csv.Error as error:
        raise MalformedImport(f"unreadable CSV: {error}") from None


def _csv_items(reader):
    columns = set(reader.fieldnames or ())
    if not {"artifact_type", "start_ms", "end_ms"} <= columns or not columns & {"audio_file_id", "filename"}:
        raise MalformedImport("CSV needs a header with artifact_type, start_ms, end_ms and audio_file_id or filename")
    items = []
    for row in reader:
        raw = {key: value for key, value in row.items() if key in CSV_COLUMNS and value not in (None, "")}
        for field in ("start_ms", "end_ms"):
            if field in raw and re.fullmatch(r"\d+", raw[field].strip()):
                raw[field] = int(raw[field])
        if "confidence" in raw:
            try:
                raw["confidence"] = float(raw["confidence"])
            except ValueError:
                pass
        if "extra_data" in raw:
            try:
                raw["extra_data"] = json.loads(raw["extra_data"])
            except (json.JSONDecodeError, RecursionError):
                pass  # left as text: validation reports that it is not an object
        items.append(raw)
    return items


def _parseaudacity_track(text, audio_ref):
    items = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("\\"):  # "\" lines hold spectral selections
            continue
        parts = line.split("\t")
        if len(parts) < 2:
            raise MalformedImport(f"audacity label line {number} is not 'start<TAB>end<TAB>label'")
        items.append(
            {
                **audio_ref,
                "start_ms": to_ms(parts[0]),
                "end_ms": to_ms(parts[1]),
                "artifact_type": parts[2].strip() if len(parts) > 2 else "",
            }
        )
    return items


def _parse_audacity(body, audio_file_id):
    if body[:4] == b"PK\x03\x04":
        items = []
        try:
            with zipfile.ZipFile(io.BytesIO(body)) as archive:
                for name in sorted(archive.namelist()):
                    if name.endswith("/"):
                        continue
                    base = name.rsplit("/", 1)[-1]
                    match = _UUID_PREFIX.match(base)
                    ref = {"audio_file_id": match[1]} if match else {"filename": base.rsplit(".", 1)[0]}
                    items += _parseaudacity_track(_text(archive.read(name)), ref)
        except zipfile.BadZipFile as error:
            raise MalformedImport(f"bad zip file: {error}") from None
        return items
    if not audio_file_id:
        raise MalformedImport(
            "a single audacity label track needs ?audio_file_id=; or send a zip of tracks "
            "named <audio_file_id>_<anything>.txt"
        )
    return _parseaudacity_track(_text(body), {"audio_file_id": audio_file_id})


def _parse_label_studio(body, audio_file_id):
    tasks = _json(body)
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise MalformedImport("expected a list of Label Studio tasks")
    items = []
    for task in tasks:
        data = task.get("data", {}) if isinstance(task, dict) else {}
        if data.get("relay_audio_file_id"):
            ref = {"audio_file_id": data["relay_audio_file_id"]}
        else:
            source = str(data.get("filename") or data.get("audio") or "")
            ref = {"filename": source.split("?", 1)[0].rsplit("/", 1)[-1]}
        completions = task.get("annotations") or task.get("predictions") or []
        for completion in completions[:1]:
            for result in completion.get("result", []):
                value = result.get("value", {})
                for label in value.get("labels", []):
                    raw = {
                        **ref,
                        "artifact_type": label,
                        "start_ms": to_ms(value.get("start")),
                        "end_ms": to_ms(value.get("end")),
                    }
                    if "score" in result:
                        raw["confidence"] = result["score"]
                    items.append(raw)
    return items


def _parse_edge_impulse(body, audio_file_id):
    data = _json(body)
    labels = data.get("structuredLabels") if isinstance(data, dict) else None
    if not isinstance(labels, dict):
        raise MalformedImport('expected {"type": "structured-labels", "structuredLabels": {...}}')
    items = []
    for key, segments in labels.items():
        match = _UUID_PREFIX.match(key)
        ref = {"audio_file_id": match[1]} if match else {"filename": key}
        spans = defaultdict(list)
        for segment in segments if isinstance(segments, list) else []:
            start, end = segment.get("startIndex"), segment.get("endIndex")
            if not isinstance(start, int) or not isinstance(end, int):
                raise MalformedImport(f"segment of {key} without integer startIndex/endIndex")
            for label in str(segment.get("label", "")).split("+"):
                if label and label != EDGE_IMPULSE_BACKGROUND:
                    spans[label].append((start, end + 1))
        for label, intervals in spans.items():
            merged = []
            for start, end in sorted(intervals):
                if merged and start <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], end)
                else:
                    merged.append([start, end])
            items += [{**ref, "artifact_type": label, "start_ms": s, "end_ms": e} for s, e in merged]
    return items


_PARSERS = {
    "json": _parse_json,
    "jsonl": _parse_jsonl,
    "csv": _parse_csv,
    "audacity": _parse_audacity,
    "label-studio": _parse_label_studio,
    "edge-impulse": _parse_edge_impulse,
}


def resolve_filenames(items, audio_by_filename, loc=("body", "annotations")):
    """Replace `filename` with `audio_file_id`; returns the problems (`relay.errors.problem`).
    `audio_by_filename` is {filename: [(audio id, ready?)]}: of several files with the name,
    the one that is ready is taken (a failed upload and its corrected retry share a name)."""
    errors = []
    for index, raw in enumerate(items):
        if not isinstance(raw, dict) or "audio_file_id" in raw or "filename" not in raw:
            continue
        name = raw.pop("filename")
        matches = audio_by_filename.get(name) or []
        if not matches:  # audacity tracks and some tools name files without their extension
            stem_matches = [ids for filename, ids in audio_by_filename.items() if filename.rsplit(".", 1)[0] == name]
            matches = [i for ids in stem_matches for i in ids]
        ready = [match for match in matches if match[1]]
        if len(matches) > 1 and len(ready) == 1:
            matches = ready
        if len(matches) == 1:
            raw["audio_file_id"] = str(matches[0][0])
        else:
            what = "no audio file of this dataset has" if not matches else "several audio files have"
            hint = f" ({len(ready)} of them ready); name it by audio_file_id" if matches else ""
            errors.append(
                problem([*loc, index, "filename"], f"{what} the filename '{name}'{hint}", "value_error.filename")
            )
    return errors
