"""Inference speed on a 1-hour file: real-time factor (audio seconds per wall second per
core; goal >= 1000x), the same for feature extraction alone (the limit; goal: inference
>= 0.5x of it) and peak worker RSS (goal < 500 MB).

    .venv/bin/python bench/inference_speed.py [--minutes 60]

Trains a small model first (its quality does not matter here), then measures:
- in-process, on one core: decoding to canonical audio, feature extraction, and
  features -> probabilities -> events (the model's part);
- end to end through a real worker (one process, one torch thread): the file's
  processing time from the worker's claim to its stored detections, and the worker's
  peak memory. A 1-minute file goes first: a worker's first file of a model also loads
  the model and warms torch (printed apart), which a long-running worker pays once.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

import harness

KINDS = ("glitch", "dropout", "long_pause", "hum", "clipping")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--worker-log", default=None)
    args = parser.parse_args()
    os.environ["RELAY_TORCH_THREADS"] = "1"
    with harness.stack():
        api = harness.Api()
        with harness.worker(concurrency=1, log_path=args.worker_log):
            model_id = train_small_model(api)
        # A fresh worker for the measurement, so that its peak memory is the inference's own.
        with harness.worker(queues="inference", concurrency=1, log_path=args.worker_log) as worker:
            run(args, worker, api, model_id)


def long_recording(minutes, path):
    """A long speech-like WAV (16 kHz mono) with artifacts: generated minute by minute."""
    import numpy as np
    import soundfile as sf

    from detector.synth import synthesize

    with sf.SoundFile(path, "w", 16000, 1, subtype="PCM_16", format="WAV") as out:
        for minute in range(int(minutes)):
            recording = synthesize(5000 + minute, 60, sample_rate=16000, kinds=KINDS)
            out.write(np.asarray(recording.samples, dtype=np.float32))
    return path


def through_worker(api, model_id, path):
    """(seconds from the worker's claim of the file to its stored detections, the file as the API shows it)."""
    from inference.models import InferenceFile

    data = path.read_bytes()
    inference = api.post("/inference-jobs", {"model_id": model_id, "expected_files": 1})
    ticket = api.post(
        f"/inference-jobs/{inference['id']}/files/upload-url",
        {"filename": path.name, "file_size_bytes": len(data)},
    )
    api.upload(ticket["upload_url"], ticket["upload_fields"], data)
    api.post(f"/inference-jobs/{inference['id']}/files/confirm", {"file_id": ticket["file_id"]})
    result = api.wait(f"/inference-jobs/{inference['id']}", lambda j: j["status"] in ("completed", "cancelled"))
    record = InferenceFile.objects.get(pk=ticket["file_id"])
    return (record.processed_at - record.started_at).total_seconds(), result["files"][0]


def train_small_model(api):
    from training import demo_data

    print("training a small model to measure with ...")
    small = list(demo_data.generate(3, 6, 55, kinds=KINDS))
    dataset, annotation_set, _ = demo_data.load_into_relay(
        api, small, "inference bench", kinds=KINDS, log=lambda *_: None
    )
    job = api.post(
        "/training-jobs",
        {
            "dataset_id": dataset["id"],
            "annotation_set_id": annotation_set["id"],
            "config": {"artifact_types": list(KINDS), "epochs": 2},
        },
    )
    job = api.wait(f"/training-jobs/{job['id']}", lambda j: j["status"] in ("completed", "failed", "cancelled"))
    assert job["status"] == "completed", job["error_message"]
    return job["model_id"]


def run(args, worker, api, model_id):
    import torch

    from detector import pipeline
    from detector.artifact import Detector

    with tempfile.TemporaryDirectory(prefix="relay-bench-") as tmp:
        wav = long_recording(args.minutes, Path(tmp) / "long.wav")
        audio_s = args.minutes * 60
        print(f"{args.minutes:.0f}-minute file: {wav.stat().st_size / 1e6:.0f} MB WAV, 16 kHz mono\n")

        torch.set_num_threads(1)
        from relay import storage
        from training.models import Model

        detector = Detector.from_bytes(storage.get_bytes(Model.objects.get(pk=model_id).storage_key))
        started = time.perf_counter()
        features, _ = pipeline.file_features(wav, detector.feature_config, "audio/wav")
        features_s = time.perf_counter() - started
        started = time.perf_counter()
        detections = detector.detect(features)
        model_s = time.perf_counter() - started
        print("in-process, 1 thread:")
        print(f"  decode + features, one pass {features_s:6.2f} s  {audio_s / features_s:8.0f}x real time")
        print(
            f"  model + event decoding      {model_s:6.2f} s  {audio_s / model_s:8.0f}x real time "
            f"({len(detections)} detections)"
        )
        inference_rtf = audio_s / (features_s + model_s)
        print(
            f"  inference (features + model + events): {inference_rtf:.0f}x real time per core (goal >= 1000x); "
            f"{inference_rtf / (audio_s / features_s):.2f} of decoding and features alone"
        )

        # The worker's first file also loads the model and warms torch (once per worker and
        # model); a 1-minute file takes that, then the 1-hour file measures the steady state.
        short = Path(tmp) / "short.wav"
        long_recording(1, short)
        cold_s, _ = through_worker(api, model_id, short)
        worker_s, processed = through_worker(api, model_id, wav)
        print("\nthrough the worker (1 process, 1 torch thread): download, decode, features, model, store:")
        print(f"  first file of the worker (1 min, loads the model): {cold_s:.2f} s")
        print(
            f"  {worker_s:.1f} s for {audio_s / 60:.0f} min -> {audio_s / worker_s:.0f}x real time per core, "
            f"{processed['detection_count']} detections, status {processed['status']}"
        )
        peak_mb = harness.peak_rss_mb(worker.pid)
        print(f"  peak worker RSS: {peak_mb:.0f} MB (goal < 500 MB)")
    features_rtf, worker_rtf = audio_s / features_s, audio_s / worker_s
    harness.report(
        "inference_speed",
        [
            harness.figure(
                f"inference of a {args.minutes:g}-minute file in process (features + model + events), 1 core",
                f"{inference_rtf:.0f}x real time",
                round(inference_rtf),
                ">= 1000x",
                inference_rtf >= 1000,
            ),
            harness.figure(
                "the same, share of decoding and features alone",
                f"{inference_rtf / features_rtf:.2f} ({features_rtf:.0f}x real time alone)",
                round(inference_rtf / features_rtf, 2),
                ">= 0.5",
                inference_rtf / features_rtf >= 0.5,
            ),
            harness.figure(
                "a worker's first file, 1 minute (loads the model, warms torch)", f"{cold_s:.2f} s", round(cold_s, 2)
            ),
            harness.figure(
                "end to end through a worker (download, decode, features, model, store), 1 core",
                f"{worker_rtf:.0f}x real time ({worker_s:.1f} s)",
                round(worker_rtf),
                ">= 1000x",
                worker_rtf >= 1000,
            ),
            harness.figure("peak worker RSS", f"{peak_mb:.0f} MB", round(peak_mb), "< 500 MB", peak_mb < 500),
        ],
    )


if __name__ == "__main__":
    main()
