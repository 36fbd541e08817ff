"""Ingest of many small files: N half-second WAVs declared in batches of 100
(`POST .../audio/upload-urls`), posted to S3 with presigned forms by client threads,
confirmed in batches (`POST .../audio/confirm-batch`), until every file is `ready`.
Goal: 1,000 files uploaded, confirmed and ready in under 30 s with the default stack
(the web server as `make run` serves it, one worker with `make run`'s concurrency).

    .venv/bin/python bench/ingest.py [--files 1000] [--threads 8] [--concurrency 2]

Loopback only. Prints each phase's time and the total, and writes bench/results/ingest.json.
"""

import argparse
import io
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import harness
import loadgen

BATCH = 100
RESULTS = Path(__file__).resolve().parent / "results" / "ingest.json"


def wav_bytes(seed, seconds=0.5, rate=16000):
    import numpy as np
    import soundfile as sf

    samples = np.random.default_rng(seed).standard_normal(int(seconds * rate)).astype(np.float32) * 0.1
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def batches(items):
    return [items[i : i + BATCH] for i in range(0, len(items), BATCH)]


def ingest(base, key, files, threads):
    """Times of each phase (s) for declaring, posting and confirming `files` [(name, bytes)]."""
    import requests

    session = requests.Session()
    session.headers["X-API-Key"] = key
    api = f"{base}/api/v1"

    def call(method, path, body=None):
        response = session.request(method, api + path, json=body, timeout=120)
        response.raise_for_status()
        return response.json()

    dataset = call("POST", "/datasets", {"name": "ingest", "artifact_types": [{"name": "glitch"}]})
    audio = f"/datasets/{dataset['id']}/audio"
    phases = {}
    started = time.perf_counter()
    tickets = []
    for batch in batches(files):
        body = {"files": [{"filename": n, "content_type": "audio/wav", "file_size": len(d)} for n, d in batch]}
        tickets += call("POST", f"{audio}/upload-urls", body)["uploads"]
    phases["declare"] = time.perf_counter() - started

    posted = time.perf_counter()
    local = threading.local()

    def post(pair):
        ticket, (name, data) = pair
        if not hasattr(local, "session"):
            local.session = requests.Session()
        response = local.session.post(
            ticket["upload_url"], data=ticket["fields"], files={"file": (name, data)}, timeout=120
        )
        assert response.status_code in (200, 201, 204), response.text[:300]

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(post, zip(tickets, files, strict=True)))
    phases["post to S3"] = time.perf_counter() - posted

    confirming = time.perf_counter()
    for batch in batches([t["audio_id"] for t in tickets]):
        answer = call("POST", f"{audio}/confirm-batch", {"audio_ids": batch})
        assert answer["failed"] == 0, answer
    phases["confirm"] = time.perf_counter() - confirming

    waiting = time.perf_counter()
    while True:
        page = call("GET", f"{audio}?processing_status=ready&page_size=1")
        if page["total"] >= len(files):
            break
        failed = call("GET", f"{audio}?processing_status=failed&page_size=1")["total"]
        assert failed == 0, f"{failed} files failed"
        time.sleep(0.2)
    phases["until all ready after the last confirm"] = time.perf_counter() - waiting
    phases["total"] = time.perf_counter() - started
    return phases


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=8, help="client threads posting to S3")
    parser.add_argument("--concurrency", type=int, default=int(os.environ.get("RELAY_WORKER_CONCURRENCY", "2")))
    args = parser.parse_args()
    files = [(f"clip-{i:05d}.wav", wav_bytes(i)) for i in range(args.files)]
    with harness.stack():
        api = harness.Api("ingest")
        with harness.web_server() as base, harness.worker(concurrency=args.concurrency):
            loadgen.loopback_only(base)
            phases = ingest(base, api.key, files, args.threads)
    print(f"\n{args.files} half-second WAVs, {args.threads} client threads, worker concurrency {args.concurrency}:")
    for name, seconds in phases.items():
        print(f"  {name:40s} {seconds:6.1f} s")
    verdict = "met" if phases["total"] < 30 else "not met"
    print(f"goal: all ready in under 30 s: {verdict} ({args.files / phases['total']:.0f} files/s)")
    result = {
        "files": args.files,
        "threads": args.threads,
        "worker_concurrency": args.concurrency,
        "phases_s": {k: round(v, 2) for k, v in phases.items()},
        "load_average": os.getloadavg(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
