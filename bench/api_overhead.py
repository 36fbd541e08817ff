"""API overhead: the annotation list page of 100 through the API (key, tenant, set lookup,
filters, pagination with its total, DRF) next to a bare Django view returning the same 100
rows with `values()` and JsonResponse, served by the same web server (`make run`'s uvicorn),
one kept-alive client, requests interleaved. Prints p50/p95 of each, their ratio (goal
<= 1.5x at p50) and the SQL queries each answers with, and writes bench/results/api_overhead.json/.md.

    .venv/bin/python bench/api_overhead.py [--requests 600]
"""

import argparse
import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.overhead_settings"

import harness  # noqa: E402
import loadgen  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def query_count(client, url, **headers):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url, **headers)  # warm: caches, the key's last_used_at
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **headers)
    assert response.status_code == 200, response.content[:300]
    return len(queries), len(response.json()["items"])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=600, help="of each kind, interleaved")
    args = parser.parse_args()
    import requests
    from django.test import Client

    with harness.stack():
        import serve

        key, api_path = serve.prepare()
        set_id = api_path.split("/annotation-sets/")[1].split("/")[0]
        bare_path = f"/bare/annotation-sets/{set_id}/annotations?page_size=100"
        client = Client()
        api_queries, api_items = query_count(client, api_path, HTTP_X_API_KEY=key)
        bare_queries, bare_items = query_count(client, bare_path)
        assert api_items == bare_items == 100
        with harness.web_server() as base:
            loadgen.loopback_only(base)
            session = requests.Session()
            session.headers["X-API-Key"] = key
            timings = {"api": [], "bare": []}
            for index in range(args.requests + 50):
                for kind, path in (("api", api_path), ("bare", bare_path))[:: 1 if index % 2 else -1]:
                    started = time.perf_counter()
                    response = session.get(base + path, timeout=30)
                    elapsed = (time.perf_counter() - started) * 1000
                    assert response.status_code == 200, response.text[:300]
                    if index >= 50:  # warm-up left out
                        timings[kind].append(elapsed)
    figures = {
        kind: {
            "p50_ms": round(loadgen.percentile(values, 50), 2),
            "p95_ms": round(loadgen.percentile(values, 95), 2),
            "sql_queries": {"api": api_queries, "bare": bare_queries}[kind],
            "requests": len(values),
        }
        for kind, values in timings.items()
    }
    ratio = {q: round(figures["api"][f"{q}_ms"] / figures["bare"][f"{q}_ms"], 2) for q in ("p50", "p95")}
    result = {
        "api_overhead": {
            "what": "annotation list, page of 100, one kept-alive client, interleaved",
            "api": figures["api"],
            "bare_values_jsonresponse": figures["bare"],
            "ratio": ratio,
            "goal": "api p50 <= 1.5x bare",
            "met": ratio["p50"] <= 1.5,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "load_average_1m": round(os.getloadavg()[0], 2),
            "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        }
    }
    api, bare = figures["api"], figures["bare"]
    markdown = "\n".join(
        [
            "| annotation list of 100 | p50 ms | p95 ms | SQL queries |",
            "|---|---|---|---|",
            f"| API (`/annotation-sets/{{id}}/annotations?page_size=100`) | {api['p50_ms']} | {api['p95_ms']} "
            f"| {api['sql_queries']} |",
            f"| bare Django view, `values()` + JsonResponse | {bare['p50_ms']} | {bare['p95_ms']} "
            f"| {bare['sql_queries']} |",
            f"| ratio (goal p50 <= 1.5x) | {ratio['p50']}x | {ratio['p95']}x | |",
            "",
            f"{result['api_overhead']['machine']}, {result['api_overhead']['date']}, "
            f"{args.requests} requests of each, interleaved; load average "
            f"{result['api_overhead']['load_average_1m']} when done (the machine may be shared).",
            "",
        ]
    )
    print(markdown)
    print(json.dumps(result))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "api_overhead.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "api_overhead.md").write_text(markdown)
    harness.report(
        "api_overhead",
        [
            harness.figure(
                "annotation list of 100: API vs bare Django view, p50",
                f"{api['p50_ms']} vs {bare['p50_ms']} ms = {ratio['p50']}x "
                f"({api['sql_queries']} vs {bare['sql_queries']} SQL queries)",
                ratio["p50"],
                "<= 1.5x",
                ratio["p50"] <= 1.5,
            ),
            harness.figure("the same, p95", f"{api['p95_ms']} vs {bare['p95_ms']} ms = {ratio['p95']}x", ratio["p95"]),
        ],
    )


if __name__ == "__main__":
    main()
