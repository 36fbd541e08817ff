"""Annotation speed: the time to bulk-create 10,000 annotations through the API (goal < 1 s),
and the SQL queries of a list page of 10 and of 100 annotations (goal: the same number).

    .venv/bin/python bench/bulk_annotations.py [--repeat 5]

Starts a throwaway PostgreSQL, Valkey and SeaweedFS unless DATABASE_URL, CELERY_BROKER_URL
and S3_ENDPOINT_URL are set. Requests go through Django's full stack in-process (JSON
parsing, key check, validation, the insert, the response), without an HTTP server.
"""

import argparse
import json
import os
import statistics
import time
import uuid

import harness


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with harness.stack():
        run(args.repeat)


def run(repeat):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from datasets.models import AudioFile, AudioStatus

    api = harness.Api()
    client = api.client

    def post(path, body):
        return client.post(f"/api/v1{path}", json.dumps(body), content_type="application/json")

    dataset = post("/datasets", {"name": "bench", "artifact_types": [{"name": n} for n in ("glitch", "hum", "pause")]})
    dataset_id = dataset.json()["id"]
    files = [
        AudioFile.objects.create(
            dataset_id=dataset_id,
            filename=f"f{i}.wav",
            content_type="audio/wav",
            file_size=1,
            storage_key=f"bench/{uuid.uuid4()}",
            upload_expires_at=timezone.now(),
            confirmed_at=timezone.now(),
            status=AudioStatus.READY,
            duration_ms=3_600_000,
        )
        for i in range(20)
    ]
    items = [
        {
            "audio_file_id": str(files[i % 20].id),
            "artifact_type": ("glitch", "hum", "pause")[i % 3],
            "start_ms": i * 100,
            "end_ms": i * 100 + 40,
            "confidence": 0.9,
        }
        for i in range(10_000)
    ]
    times = []
    for attempt in range(repeat + 1):  # the first round warms up and is dropped
        annotation_set = post(f"/datasets/{dataset_id}/annotation-sets", {}).json()
        path = f"/datasets/{dataset_id}/annotation-sets/{annotation_set['id']}/annotations"
        started = time.perf_counter()
        if os.environ.get("BENCH_PROFILE") and attempt == repeat:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            response = profiler.runcall(post, path + "/bulk", {"annotations": items})
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        else:
            response = post(path + "/bulk", {"annotations": items})
        elapsed = time.perf_counter() - started
        assert response.status_code == 201 and response.json()["created"] == 10_000, response.content[:300]
        if attempt:
            times.append(elapsed)
    print(
        f"bulk create of 10,000 annotations: median {statistics.median(times) * 1000:.0f} ms, "
        f"best {min(times) * 1000:.0f} ms over {repeat} runs (goal < 1000 ms)"
    )

    queries_per_page = {}
    for size in (10, 100):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/api/v1{path}", {"page_size": size, "ordering": "start_ms"})
        assert len(response.json()["items"]) == size
        queries_per_page[size] = len(queries)
        print(f"list page of {size:>3} annotations: {len(queries)} SQL queries")
    print("(goal: the same number of queries for 10 and 100 items)")
    median_ms = round(statistics.median(times) * 1000)
    harness.report(
        "bulk_annotations",
        [
            harness.figure(
                "bulk create of 10,000 annotations, median",
                f"{median_ms} ms (best {min(times) * 1000:.0f} ms, {repeat} runs)",
                median_ms,
                "< 1000 ms",
                median_ms < 1000,
            ),
            harness.figure(
                "SQL queries of an annotation list page of 10 / 100",
                f"{queries_per_page[10]} / {queries_per_page[100]}",
                queries_per_page[100],
                "the same",
                queries_per_page[10] == queries_per_page[100],
            ),
        ],
    )


if __name__ == "__main__":
    main()
