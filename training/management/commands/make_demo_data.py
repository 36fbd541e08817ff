import csv
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from detector.synth import ALL_KINDS, STYLES
from training import demo_data


class Command(BaseCommand):
    help = (
        "Generate speech-like (or music-like) recordings with injected artifacts (glitch, dropout, long_pause, hum, "
        "clipping) and their labels. Writes them to --out, and/or loads them into a running Relay through its API "
        "(--api and --key): a dataset, the uploads, a published annotation set ready for training."
    )

    def add_arguments(self, parser):
        parser.add_argument("--files", type=int, default=8)
        parser.add_argument("--seconds", type=float, default=60.0, help="Length of each recording.")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--style", choices=STYLES, default="speech")
        parser.add_argument("--kinds", default=",".join(ALL_KINDS), help="Comma-separated artifact kinds.")
        parser.add_argument("--events-per-minute", type=float, default=4.0, help="Of each kind.")
        parser.add_argument("--out", help="Folder for the audio files and labels.csv / labels.jsonl.")
        parser.add_argument("--api", help="Base URL of a running Relay, e.g. http://127.0.0.1:8000")
        parser.add_argument("--key", help="API key for --api.")
        parser.add_argument("--dataset-name", default="Demo: generated speech with artifacts")

    def handle(self, *args, **options):
        kinds = tuple(k.strip() for k in options["kinds"].split(",") if k.strip())
        unknown = set(kinds) - set(ALL_KINDS)
        if unknown:
            raise CommandError(f"unknown kinds {sorted(unknown)}; known: {', '.join(ALL_KINDS)}")
        if not options["out"] and not options["api"]:
            raise CommandError("give --out FOLDER, or --api URL --key KEY, or both")
        if options["api"] and not options["key"]:
            raise CommandError("--api needs --key")
        files = list(
            demo_data.generate(
                options["seed"],
                options["files"],
                options["seconds"],
                kinds=kinds,
                style=options["style"],
                events_per_minute=options["events_per_minute"],
            )
        )
        if options["out"]:
            self._write(Path(options["out"]), files)
        if options["api"]:
            client = demo_data.HttpClient(options["api"], options["key"])
            dataset, annotation_set, _ = demo_data.load_into_relay(
                client, files, options["dataset_name"], kinds=kinds, log=self.stdout.write
            )
            self.stdout.write(f"export DATASET_ID={dataset['id']} SET_ID={annotation_set['id']}")

    def _write(self, out, files):
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "labels.csv", "w", newline="") as csv_file, open(out / "labels.jsonl", "w") as jsonl:
            writer = csv.writer(csv_file)
            writer.writerow(["filename", "artifact_type", "start_ms", "end_ms"])
            for demo in files:
                (out / demo.filename).write_bytes(demo.data)
                for kind, start, end in demo.events:
                    writer.writerow([demo.filename, kind, start, end])
                    jsonl.write(
                        json.dumps({"filename": demo.filename, "artifact_type": kind, "start_ms": start, "end_ms": end})
                        + "\n"
                    )
        self.stdout.write(f"wrote {len(files)} recordings and labels.csv / labels.jsonl to {out}")
