"""`python -m detector detect MODEL FILE...`: a model downloaded from Relay, run here.

Prints the detections of each file as an inference job with the same config would
(the calibrated per-type decoding unless overridden), as JSON (the shape of an
inference job's results) or CSV.
"""

import argparse
import csv
import json
import sys
from pathlib import Path

from detector.artifact import Detector
from detector.audio import DecodeError
from detector.pipeline import detect_file


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m detector", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    detect = commands.add_parser("detect", help="print the detections of audio files")
    detect.add_argument("model", type=Path, help="a model artifact (GET /models/{id}/download)")
    detect.add_argument("files", type=Path, nargs="+", help="audio files (wav, flac, ogg, mp3, m4a, aac, webm)")
    detect.add_argument("--threshold", type=float, help="one threshold for every type (default: calibrated)")
    detect.add_argument("--merge-window-ms", type=float, help="default: calibrated per type")
    detect.add_argument("--min-duration-ms", type=float, help="default: calibrated per type")
    detect.add_argument("--format", choices=("json", "csv"), default="json")
    args = parser.parse_args(argv)

    try:
        detector = Detector.from_bytes(args.model.read_bytes())
    except (OSError, ValueError) as error:
        parser.exit(2, f"{args.model}: {error}\n")
    options = {
        "threshold": args.threshold,
        "merge_window_ms": args.merge_window_ms,
        "min_duration_ms": args.min_duration_ms,
    }
    results, failed = [], 0
    for path in args.files:
        try:
            detections, info = detect_file(detector, path, **options)
        except (OSError, DecodeError) as error:
            print(f"{path}: {error}", file=sys.stderr)
            failed += 1
            continue
        results.append(
            {
                "original_filename": path.name,
                "duration_ms": info.duration_ms,
                "detections": [
                    {"artifact_type": name, "start_ms": start, "end_ms": end, "confidence": round(float(c), 4)}
                    for name, start, end, c in detections
                ],
            }
        )
    write(results, args.format, sys.stdout)
    return 1 if failed else 0


def write(results, fmt, out):
    if fmt == "json":
        json.dump({"files": results}, out, indent=1)
        out.write("\n")
        return
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["original_filename", "artifact_type", "start_ms", "end_ms", "confidence"])
    for result in results:
        for d in result["detections"]:
            writer.writerow(
                [result["original_filename"], d["artifact_type"], d["start_ms"], d["end_ms"], d["confidence"]]
            )


if __name__ == "__main__":
    sys.exit(main())
