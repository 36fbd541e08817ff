"""Detection quality end to end: generate a dataset with a seed, upload it, train through the
API on a real worker, run the model on held-out generated files (other seeds, other sample
rates), and print per-type and macro event F1 (goal: macro >= 0.90, every type >= 0.80),
training time per hour of audio (goal < 60 s on 2 CPU cores) and peak worker memory.

    .venv/bin/python bench/detection.py [--seed 1] [--minutes 30] [--epochs 20]

Starts a throwaway PostgreSQL, Valkey and SeaweedFS (unless DATABASE_URL, CELERY_BROKER_URL
and S3_ENDPOINT_URL are set) and one `celery worker` with one process and 2 torch threads.

    .venv/bin/python bench/detection.py cross [--quick] [options of bench/cross_corpus.py]

is the cross-corpus benchmark instead: in process (no Django, no servers), trained on one
corpus family (synth: detector/synth.py; field: bench/field_corpus.py) and tested on the
other; see bench/cross_corpus.py.
"""

import argparse
import os
import sys
import time
from datetime import datetime

KINDS = ("glitch", "dropout", "long_pause", "hum", "clipping")


def main():
    if sys.argv[1:2] in (["cross"], ["--cross-corpus"]):
        import cross_corpus

        return cross_corpus.main(sys.argv[2:])
    import harness

    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--minutes", type=float, default=30.0, help="Training audio.")
    parser.add_argument("--seconds-per-file", type=float, default=90.0)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument(
        "--start-from",
        choices=("scratch", "prior"),
        default="scratch",
        help="scratch (default): the shipped prior was trained on this generator's audio (other seeds), "
        "so it would flatter this test",
    )
    parser.add_argument("--eval-files", type=int, default=10)
    parser.add_argument("--eval-seed", type=int, default=1000)
    parser.add_argument("--worker-log", default=None)
    args = parser.parse_args()
    os.environ["RELAY_TORCH_THREADS"] = "2"
    with harness.stack(), harness.worker(concurrency=1, log_path=args.worker_log) as worker:
        run(args, worker)


def _seconds(start, end):
    parse = lambda value: datetime.fromisoformat(value.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def run(args, worker):
    import harness

    from detector.metrics import event_metrics
    from training import demo_data

    api = harness.Api()
    files = max(2, round(args.minutes * 60 / args.seconds_per_file))
    print(f"generating {files} files x {args.seconds_per_file:.0f} s (seed {args.seed}) and uploading them ...")
    started = time.perf_counter()
    generated = list(demo_data.generate(args.seed, files, args.seconds_per_file, kinds=KINDS))
    dataset, annotation_set, _ = demo_data.load_into_relay(
        api, generated, "detection bench", kinds=KINDS, log=lambda *_: None
    )
    audio_hours = sum(f.duration_ms for f in generated) / 3_600_000
    print(
        f"  {audio_hours * 60:.1f} minutes of audio ready in {time.perf_counter() - started:.0f} s, "
        f"{annotation_set['total_annotations']} events: {annotation_set['annotations_by_type']}"
    )

    job = api.post(
        "/training-jobs",
        {
            "dataset_id": dataset["id"],
            "annotation_set_id": annotation_set["id"],
            "name": "bench",
            "config": {
                "artifact_types": list(KINDS),
                "epochs": args.epochs,
                "seed": args.seed,
                "start_from": args.start_from,
            },
        },
    )
    job = api.wait(
        f"/training-jobs/{job['id']}", lambda j: j["status"] in ("completed", "failed", "cancelled"), interval=2
    )
    if job["status"] != "completed":
        raise SystemExit(f"training {job['status']}: {job['error_message']}")
    train_seconds = _seconds(job["started_at"], job["completed_at"])
    metrics = job["metrics"]
    print(
        f"\ntraining: {train_seconds:.0f} s for {audio_hours * 60:.1f} min of audio -> "
        f"{train_seconds / audio_hours:.0f} s per hour of audio (goal < 60); epochs run {metrics['epochs_run']}, "
        f"best {metrics['best_epoch']}; validation macro F1 {metrics['macro_f1']:.3f} "
        f"on {metrics['validation_files']} files"
    )

    rates = (8000, 11025, 32000, 48000, 22050, 44100, 16000)
    held_out = list(demo_data.generate(args.eval_seed, args.eval_files, 60, sample_rates=rates, kinds=KINDS))
    inference = api.post("/inference-jobs", {"model_id": job["model_id"], "expected_files": len(held_out)})
    truth = {}
    for demo in held_out:
        ticket = api.post(
            f"/inference-jobs/{inference['id']}/files/upload-url",
            {"filename": demo.filename, "file_size_bytes": len(demo.data), "content_type": demo.content_type},
        )
        api.upload(ticket["upload_url"], ticket["upload_fields"], demo.data)
        api.post(f"/inference-jobs/{inference['id']}/files/confirm", {"file_id": ticket["file_id"]})
        truth[ticket["file_id"]] = demo.events
    result = api.wait(f"/inference-jobs/{inference['id']}", lambda j: j["status"] in ("completed", "cancelled"))
    names = list(KINDS)
    references = {f: [(names.index(k), s, e) for k, s, e in events] for f, events in truth.items()}
    found = {
        f["id"]: [(names.index(d["artifact_type"]), d["start_ms"], d["end_ms"]) for d in f["detections"]]
        for f in result["files"]
    }
    held = event_metrics(references, found, names)
    print(
        f"\nheld-out: {len(held_out)} files x 60 s (seed {args.eval_seed}, rates {sorted(set(rates))}), "
        "model's calibrated decoding"
    )
    print(f"{'type':<12} {'precision':>9} {'recall':>7} {'F1':>6} {'support':>8}")
    for name in names:
        m = held["per_type"][name]
        print(f"{name:<12} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>6.3f} {m['support']:>8}")
    worst = min(held["per_type"], key=lambda n: held["per_type"][n]["f1"])
    print(
        f"macro F1 {held['macro_f1']:.3f} (goal >= 0.90), micro F1 {held['micro_f1']:.3f}, "
        f"worst type {worst} {held['per_type'][worst]['f1']:.3f} (goal >= 0.80)"
    )
    peak_mb = harness.peak_rss_mb(worker.pid)
    print(f"peak worker memory (largest process): {peak_mb:.0f} MB")
    per_hour = train_seconds / audio_hours
    worst_f1 = held["per_type"][worst]["f1"]
    harness.report(
        "detection",
        [
            harness.figure(
                f"held-out macro event F1, trained on {audio_hours * 60:.0f} min",
                f"{held['macro_f1']:.3f}",
                round(held["macro_f1"], 3),
                ">= 0.90",
                held["macro_f1"] >= 0.90,
            ),
            harness.figure(
                "weakest type's F1", f"{worst} {worst_f1:.3f}", round(worst_f1, 3), ">= 0.80", worst_f1 >= 0.80
            ),
            harness.figure(
                "training time per hour of audio", f"{per_hour:.0f} s", round(per_hour), "< 60 s", per_hour < 60
            ),
            harness.figure("peak worker memory", f"{peak_mb:.0f} MB", round(peak_mb)),
        ],
    )


if __name__ == "__main__":
    sys.exit(main())
