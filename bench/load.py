"""Load: N clients at once, each creating inference jobs, uploading a short file to each
(presigned POST to S3), confirming, polling until the job completes, and listing jobs, over
HTTP against the web server as `make run` starts it, with a real worker. Bounded (one
minute by default) and loopback only. Prints requests per second, p50/p95/p99 latency
and errors per kind of request, and jobs completed.

    .venv/bin/python bench/load.py [--clients 8] [--seconds 60]
"""

import argparse
import io
import json
import time

import harness
import loadgen
import numpy as np
import soundfile as sf

KINDS = ("glitch", "dropout", "long_pause", "hum", "clipping")


def short_wav(seconds=2.0, rate=16000):
    rng = np.random.default_rng(0)
    samples = 0.2 * np.sin(np.arange(int(seconds * rate)) * 0.07) + 0.01 * rng.standard_normal(int(seconds * rate))
    buffer = io.BytesIO()
    sf.write(buffer, samples.astype(np.float32), rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def one_job(session, tally, api, model_id, data):
    """Create a job, upload and confirm one file; the job id (None when a step failed)."""
    created = loadgen.timed(
        tally,
        "create job",
        lambda: session.post(f"{api}/inference-jobs", json={"model_id": model_id, "expected_files": 1}),
    )
    if created is None or created.status_code != 201:
        return None
    job = created.json()["id"]
    body = {"filename": "a.wav", "file_size": len(data)}
    ticket = loadgen.timed(
        tally, "upload-url", lambda: session.post(f"{api}/inference-jobs/{job}/files/upload-url", json=body)
    )
    if ticket is None or ticket.status_code != 201:
        return None
    ticket = ticket.json()
    form = {"file": ("a.wav", data)}
    loadgen.timed(
        tally, "S3 presigned POST", lambda: session.post(ticket["upload_url"], data=ticket["upload_fields"], files=form)
    )
    confirm = {"file_id": ticket["file_id"]}
    loadgen.timed(tally, "confirm", lambda: session.post(f"{api}/inference-jobs/{job}/files/confirm", json=confirm))
    return job


def wait_job(session, tally, api, job, until):
    url = f"{api}/inference-jobs/{job}"
    while time.monotonic() < until:
        polled = loadgen.timed(tally, "poll job", lambda: session.get(url))
        if polled is not None and polled.status_code == 200 and polled.json()["status"] in ("completed", "cancelled"):
            return True
        time.sleep(0.2)
    return False


def client(session, tally, deadline, base, key, model_id, data, done):
    session.headers["X-API-Key"] = key
    api = f"{base}/api/v1"
    while time.monotonic() < deadline:
        job = one_job(session, tally, api, model_id, data)
        if job is not None and wait_job(session, tally, api, job, deadline + 60):
            done.append(job)
        loadgen.timed(tally, "list jobs", lambda: session.get(f"{api}/inference-jobs?page_size=20"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    with harness.stack(), harness.worker(concurrency=2):
        from inference_speed import train_small_model

        api = harness.Api("load")
        model_id = train_small_model(api)
        with harness.web_server() as base:
            loadgen.loopback_only(base)
            done = []
            tally, wall = loadgen.run_clients(
                args.clients, args.seconds, client, base, api.key, model_id, short_wav(), done
            )
            rows = loadgen.summary(tally, wall)
            print(loadgen.table(rows, f"\n{args.clients} clients, {args.seconds:.0f} s: {len(done)} jobs completed"))
            print(
                json.dumps(
                    {"load": {"clients": args.clients, "jobs_completed": len(done), "rows": rows}}, default=float
                )
            )
    every = rows[-1]
    harness.report(
        "load",
        [
            harness.figure(
                f"{args.clients} clients creating, uploading, polling jobs for {args.seconds:.0f} s",
                f"{len(done)} jobs completed, {every['per_s']:.0f} req/s, p99 {every['p99']:.0f} ms",
                len(done),
            ),
            harness.figure(
                "the same, errors",
                f"{every['errors']} of {every['requests']}",
                every["errors"],
                "0",
                every["errors"] == 0,
            ),
        ],
    )


if __name__ == "__main__":
    main()
