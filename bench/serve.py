"""Serving: requests per second and latency of a list of 100 annotations over HTTP, with 4
and 16 clients (one kept-alive connection each) for 20 s, on loopback, against the web
server as `make run` starts it. Goal: at 16 clients, 3x the 150-180 req/s that 2 sync
gunicorn workers gave, p99 under 100 ms, no errors.

The clients run on one asyncio loop in this process (loadgen.run_keepalive), so that on a
2-core machine the load generator takes little of the CPU the server is measured on. The
key's read limit is raised for the run (RELAY_RATE_LIMIT_READ=10000000 in the server's
environment): the default, 1,200 a minute per key, would answer most of these requests
with 429. Every request is still counted against it in Redis, as in production.

    .venv/bin/python bench/serve.py [--seconds 20] [--clients 4,16]

On a machine that other work shares, req/s and latencies follow that work; bench/serve_cpu.py
measures the CPU each request costs (web processes, PostgreSQL, Valkey, the clients) instead.
"""

import argparse
import json
import os

import harness
import loadgen

KIND = "annotation list of 100"


def prepare():
    """A tenant with one draft set of 100 annotations; (key, path of the list)."""
    from annotations.models import AnnotationSet
    from tests.helpers import make_audio

    api = harness.Api("serve")
    dataset = api.post("/datasets", {"name": "serve", "artifact_types": [{"name": "glitch"}]})
    audio = make_audio(dataset["id"], "one.wav", duration_ms=3_600_000)
    annotation_set = api.post(f"/datasets/{dataset['id']}/annotation-sets")
    path = f"/datasets/{dataset['id']}/annotation-sets/{annotation_set['id']}/annotations"
    items = [
        {"audio_file_id": str(audio.pk), "artifact_type": "glitch", "start_ms": i * 100, "end_ms": i * 100 + 40}
        for i in range(100)
    ]
    api.post(f"{path}/bulk", {"annotations": items})
    assert AnnotationSet.objects.get(pk=annotation_set["id"]).annotations.count() == 100
    return api.key, f"/api/v1{path}?page_size=100"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", default="4,16")
    args = parser.parse_args()
    results = {}
    with harness.stack():
        key, path = prepare()
        os.environ["RELAY_RATE_LIMIT_READ"] = "10000000"
        with harness.web_server() as base:
            loadgen.loopback_only(base)
            url = base + path
            import requests

            headers = requests.get(url, headers={"X-API-Key": key}, timeout=10).headers
            print(f"server: {headers.get('Server', '?')}, Connection: {headers.get('Connection', 'keep-alive')}")
            for count in (int(c) for c in args.clients.split(",")):
                tally, wall = loadgen.run_keepalive(count, args.seconds, url, {"X-API-Key": key}, KIND)
                rows = loadgen.summary(tally, wall)
                print(loadgen.table(rows, f"\n{count} clients, {args.seconds:.0f} s"))
                results[count] = rows[-1]
    print(json.dumps({"serve": results}, default=float))
    harness.report("serve", [f for count, row in results.items() for f in figures(count, row)])


def figures(count, row):
    """Throughput, p99 and errors at `count` clients; the goals apply at 16 clients."""
    goals = count == 16
    return [
        harness.figure(
            f"annotation list of 100 over HTTP, {count} clients",
            f"{row['per_s']:.0f} req/s",
            round(row["per_s"], 1),
            ">= 540 req/s (3x 150-180)" if goals else "",
            row["per_s"] >= 540 if goals else None,
        ),
        harness.figure(
            f"the same, p99 latency, {count} clients",
            f"{row['p99']:.1f} ms",
            round(row["p99"], 1),
            "< 100 ms" if goals else "",
            row["p99"] < 100 if goals else None,
        ),
        harness.figure(
            f"the same, errors, {count} clients",
            f"{row['errors']} of {row['requests']}",
            row["errors"],
            "0" if goals else "",
            row["errors"] == 0 if goals else None,
        ),
    ]


if __name__ == "__main__":
    main()
