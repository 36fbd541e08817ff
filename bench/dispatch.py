"""Dispatch and live streams.

1. Job create -> processing: from the moment an inference job (one short dataset file) is
   created (its row written, `created_at`) to the moment a worker claims its file
   (`started_at`), against a bare Celery round trip on the same broker and worker
   (send_task -> the task starts). Goal: p50 and p95 at most 2x the bare round trip. Also
   printed: the whole POST (in process) and POST sent -> claimed. Jobs go one at a time to
   an idle worker.
2. Event streams: N clients hold `GET /events/stream` open on the served app (uvicorn, as
   `make run` serves it) while events are written at a steady rate; the delay from an
   event's commit (`created_at`) to its arrival at every client. Goal: p95 under 1 s with
   hundreds of streams open.

    .venv/bin/python bench/dispatch.py [--jobs 100] [--streams 100,300,500] [--seconds 20]
"""

import argparse
import asyncio
import json
import os
import statistics
import time
from datetime import datetime

import harness

KINDS = ("glitch", "dropout", "long_pause", "hum", "clipping")


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary_ms(seconds):
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50": round(statistics.median(ms), 1),
        "p95": round(percentile(ms, 95), 1),
        "max": round(max(ms), 1),
    }


# --- 1. dispatch latency ------------------------------------------------------------------


def bare_round_trips(count):
    """send_task -> the task starts in the worker (it writes its start time to Redis)."""
    from relay import kv
    from relay.celery import app

    client = kv.client()
    delays = []
    for n in range(count):
        key = f"bench:dispatch:{os.getpid()}:{n}"
        sent = time.time()
        app.send_task("bench.stamp", args=[key], queue="inference")
        deadline = time.monotonic() + 30
        while (started := client.get(key)) is None:
            if time.monotonic() > deadline:
                raise TimeoutError("the bare task did not run")
            time.sleep(0.001)
        delays.append(float(started) - sent)
        client.delete(key)
        time.sleep(0.05)
    return delays


def job_dispatches(api, model_id, audio_id, count):
    """POST /inference-jobs -> its file claimed by a worker (InferenceFile.started_at)."""
    from inference.models import InferenceFile

    delays, answered, dispatched = [], [], []
    for _ in range(count):
        sent = time.time()
        job = api.post("/inference-jobs", {"model_id": model_id, "audio_file_ids": [audio_id]})
        answered.append(time.time() - sent)
        api.wait(f"/inference-jobs/{job['id']}", lambda j: j["status"] == "completed", interval=0.01)
        claimed = InferenceFile.objects.select_related("job").get(job_id=job["id"])
        delays.append(claimed.started_at.timestamp() - sent)
        dispatched.append((claimed.started_at - claimed.job.created_at).total_seconds())
        time.sleep(0.05)
    return delays, answered, dispatched


def train_small_model(api):
    from training import demo_data

    small = list(demo_data.generate(3, 6, 55, kinds=KINDS))
    dataset, annotation_set, audio_ids = demo_data.load_into_relay(
        api, small, "dispatch bench", kinds=KINDS, log=lambda *_: None
    )
    job = api.post(
        "/training-jobs",
        {
            "dataset_id": dataset["id"],
            "annotation_set_id": annotation_set["id"],
            "config": {"artifact_types": list(KINDS), "epochs": 1},
        },
    )
    job = api.wait(f"/training-jobs/{job['id']}", lambda j: j["status"] in ("completed", "failed", "cancelled"))
    assert job["status"] == "completed", job["error_message"]
    return job["model_id"], next(iter(audio_ids.values()))


# --- 2. streams ---------------------------------------------------------------------------


async def hold_stream(host, port, key, received, opened, stop):
    """One SSE client on a raw connection: each event's arrival delay goes to `received`."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        f"GET /api/v1/events/stream?type=audio_file.created HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {key}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        raise RuntimeError(f"stream refused: {status!r}")
    opened.append(1)
    try:
        while not stop.is_set():
            try:
                line = await asyncio.wait_for(reader.readline(), 1.0)
            except TimeoutError:
                continue
            if not line:
                break
            if line.startswith(b"data: "):
                now = time.time()
                body = json.loads(line[6:])
                created = datetime.fromisoformat(body["created_at"]).timestamp()
                received.append(now - created)
    finally:
        writer.close()


async def measure_streams(base_url, keys, count, seconds, write_event):
    host, port = base_url.removeprefix("http://").split(":")
    received, opened, stop = [], [], asyncio.Event()
    tasks = [
        asyncio.create_task(hold_stream(host, int(port), keys[n % len(keys)], received, opened, stop))
        for n in range(count)
    ]
    deadline = time.monotonic() + 60
    while len(opened) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)
    written = 0
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        await asyncio.to_thread(write_event)
        written += 1
        await asyncio.sleep(0.5)
    await asyncio.sleep(2.0)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"streams": len(opened), "events_written": written, "deliveries_expected": written * len(opened), **(
        summary_ms(received) if received else {"n": 0})}  # fmt: skip


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--streams", default="100,300,500")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    os.environ["RELAY_SSE_MAX_STREAMS_PER_KEY"] = "1000"
    os.environ["RELAY_TORCH_THREADS"] = "1"
    results = {}
    with harness.stack():
        from relay.celery import app
        from relay.embedded.servers import CeleryWorker

        api = harness.Api("dispatch")
        worker = CeleryWorker(os.environ, os.devnull, concurrency=2, name="bench")
        worker.argv += ["--include", "bench.dispatch_tasks"]
        worker.start(app)
        try:
            model_id, audio_id = train_small_model(api)
            bare_round_trips(10)  # warm up
            job_dispatches(api, model_id, audio_id, 5)
            bare = bare_round_trips(args.jobs)
            relay, answered, dispatched = job_dispatches(api, model_id, audio_id, args.jobs)
            results["dispatch"] = {
                "bare celery send -> task start, ms": summary_ms(bare),
                "POST /inference-jobs -> file claimed, ms": summary_ms(relay),
                "of which the POST itself (in process), ms": summary_ms(answered),
                "job created (its row written) -> file claimed, ms": summary_ms(dispatched),
            }
            results["dispatch"]["ratio p50, p95"] = [
                round(results["dispatch"]["job created (its row written) -> file claimed, ms"][p] / max(
                    results["dispatch"]["bare celery send -> task start, ms"][p], 0.001), 2)
                for p in ("p50", "p95")
            ]  # fmt: skip
            print(json.dumps(results["dispatch"], indent=2), flush=True)
        finally:
            worker.stop()

        dataset = api.post("/datasets", {"name": "streams", "artifact_types": [{"name": "glitch"}]})
        keys = [api.key]
        from relay import services

        tenant = services.authenticate_key(api.key).tenant
        keys += [services.create_api_key(tenant=tenant, name=f"stream {n}")[1] for n in range(3)]

        def write_event():
            api.post(
                f"/datasets/{dataset['id']}/audio/upload-url",
                {"filename": "e.wav", "content_type": "audio/wav", "file_size_bytes": 1000},
            )

        results["streams"] = []
        with harness.web_server() as base_url:
            for count in [int(n) for n in args.streams.split(",")]:
                measured = asyncio.run(measure_streams(base_url, keys, count, args.seconds, write_event))
                results["streams"].append(measured)
                print(json.dumps(measured), flush=True)
    if args.out:
        with open(args.out, "w") as out:
            json.dump(results, out, indent=2)
    harness.report("dispatch", dispatch_figures(results["dispatch"]) + [stream_figure(s) for s in results["streams"]])


def dispatch_figures(dispatch):
    job = dispatch["job created (its row written) -> file claimed, ms"]
    bare = dispatch["bare celery send -> task start, ms"]
    return [
        harness.figure(
            f"inference job created -> its file claimed, {p}",
            f"{job[p]} vs {bare[p]} ms bare Celery = {ratio}x",
            ratio,
            "<= 2x bare Celery",
            ratio <= 2,
        )
        for p, ratio in zip(("p50", "p95"), dispatch["ratio p50, p95"], strict=True)
    ]


def stream_figure(measured):
    """Event delay at one number of open streams; the goal applies at 300."""
    goal = measured["streams"] == 300
    p95 = measured.get("p95")
    return harness.figure(
        f"event delay to {measured['streams']} open streams, p95",
        f"{p95} ms ({measured['n']} of {measured['deliveries_expected']} deliveries)" if p95 is not None else "none",
        p95,
        "< 1 s" if goal else "",
        (p95 is not None and p95 < 1000) if goal else None,
    )


if __name__ == "__main__":
    main()
