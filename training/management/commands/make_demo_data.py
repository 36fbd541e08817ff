import csv
import json
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from detector.synth import ALL_KINDS, STYLES
from training import demo_data


class Command(BaseCommand):
    help = (
        "Generate speech-like (or music-like) recordings with injected artifacts (glitch, dropout, long_pause, hum, "
        "clipping) and their labels. Writes them to --out, and/or loads them into a running Relay through its API "
        "(--api, with the API key in RELAY_API_KEY): a dataset, the uploads, a published annotation set ready for "
        "training. Progress bars go to stderr."
    )

    def add_arguments(self, parser):
        parser.add_argument("--files", type=int, default=8)
        parser.add_argument("--seconds", type=float, default=60.0, help="Length of each recording.")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--style", choices=STYLES, default="speech")
        parser.add_argument("--kinds", default=",".join(ALL_KINDS), help="Comma-separated artifact kinds.")
        parser.add_argument("--events-per-minute", type=float, default=4.0, help="Of each kind.")
        parser.add_argument("--out", help="Folder for the audio files and labels.csv / labels.jsonl.")
        parser.add_argument(
            "--api",
            default=os.environ.get("RELAY_API_URL"),
            help="Base URL of a running Relay, e.g. http://127.0.0.1:8000 (default: RELAY_API_URL).",
        )
        parser.add_argument(
            "--key",
            help="Deprecated: set RELAY_API_KEY instead (a key on the command line shows in the process list and "
            "the shell history).",
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bars.")
        parser.add_argument("--dataset-name", default="Demo: generated speech with artifacts")

    def handle(self, *args, **options):
        kinds = tuple(k.strip() for k in options["kinds"].split(",") if k.strip())
        unknown = set(kinds) - set(ALL_KINDS)
        if unknown:
            raise CommandError(f"unknown kinds {sorted(unknown)}; known: {', '.join(ALL_KINDS)}")
        if not options["out"] and not options["api"]:
            raise CommandError("give --out FOLDER, or --api URL (and the key in RELAY_API_KEY), or both")
        key = self._key(options) if options["api"] else None
        progress = _silent if options["no_progress"] else self._bar
        generated = demo_data.generate(
            options["seed"],
            options["files"],
            options["seconds"],
            kinds=kinds,
            style=options["style"],
            events_per_minute=options["events_per_minute"],
        )
        files = list(progress(generated, desc="generating", total=options["files"], unit="file"))
        if options["out"]:
            self._write(Path(options["out"]), files)
        if options["api"]:
            client = demo_data.HttpClient(options["api"], key)
            dataset, annotation_set, _ = demo_data.load_into_relay(
                client, files, options["dataset_name"], kinds=kinds, log=self._log, progress=progress
            )
            self.stdout.write(f"export DATASET_ID={dataset['id']} SET_ID={annotation_set['id']}")

    def _key(self, options):
        """RELAY_API_KEY, or (deprecated, with a warning) --key."""
        if options["key"]:
            self.stderr.write(
                "warning: --key is deprecated and will be removed: a key on the command line shows in the process "
                "list and the shell history; set RELAY_API_KEY instead"
            )
            return options["key"]
        key = os.environ.get("RELAY_API_KEY", "").strip()
        if not key:
            raise CommandError("--api needs an API key: set RELAY_API_KEY (export RELAY_API_KEY=rk_...)")
        return key

    def _bar(self, iterable, **options):
        from tqdm import tqdm

        return tqdm(iterable, file=self.stderr._out, dynamic_ncols=True, **options)

    def _log(self, message):
        from tqdm import tqdm

        tqdm.write(message, file=self.stdout._out)  # above any progress bar, not through it

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


def _silent(iterable, **_):
    return iterable
