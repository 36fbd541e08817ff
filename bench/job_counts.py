"""GET /jobs/count with a million jobs: the kept counters (relay/counts.py) against
counting the rows, for a tenant with 1,000,000 training jobs and 100,000 inference jobs
(and another tenant's 100,000). Also the cost the counters add to a status change.

    .venv/bin/python bench/job_counts.py [--jobs 1000000]
"""

import argparse
import json
import statistics
import time

import harness


def timed_ms(fn, repeat):
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 2), round(max(samples), 2)


def load_jobs(tenant_id, table, count, extra_columns="", extra_values=""):
    """`count` finished jobs (and a few active ones) written in one statement."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (id, tenant_id, status, progress, stage, client_reference, created_at,
                attempts, task_id, error_message, updated_at{extra_columns})
            SELECT gen_random_uuid(), %s,
                (ARRAY['completed','completed','completed','failed','cancelled','queued','processing'])[1 + n %% 7],
                1.0, '', '', now() - n * interval '1 second', 1, '', '', now(){extra_values}
            FROM generate_series(1, %s) AS n
            """,
            [tenant_id, count],
        )
        cursor.execute(f"ANALYZE {table}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1_000_000)
    args = parser.parse_args()
    with harness.stack():
        from django.db.models import Count

        from inference.models import InferenceJob
        from relay import counts, work
        from relay.jobs import JobStatus, job_kinds
        from relay.models import Tenant
        from training.models import TrainingJob

        api = harness.Api("counts")
        other = harness.Api("other")
        tenant = Tenant.objects.exclude(name__startswith="other").latest("created_at")
        other_tenant = Tenant.objects.filter(name__startswith="other").get()
        started = time.perf_counter()
        load_jobs(tenant.pk, TrainingJob._meta.db_table, args.jobs, ", annotation_set_version, config, history, name",
                  ", 1, '{}'::jsonb, '[]'::jsonb, ''")  # fmt: skip
        load_jobs(tenant.pk, InferenceJob._meta.db_table, args.jobs // 10, ", config, total_files, processed_files, "
                  "failed_files, total_detections", ", '{}'::jsonb, 0, 0, 0, 0")  # fmt: skip
        load_jobs(other_tenant.pk, InferenceJob._meta.db_table, args.jobs // 10, ", config, total_files, "
                  "processed_files, failed_files, total_detections", ", '{}'::jsonb, 0, 0, 0, 0")  # fmt: skip
        counts.recount(job_kinds().values())
        load_s = time.perf_counter() - started

        served = api.get("/jobs/count")
        truth = dict(TrainingJob.objects.filter(tenant=tenant).values_list("status").annotate(n=Count("id")).order_by())
        assert served["training"]["by_status"] == {s: truth.get(s, 0) for s in JobStatus.values}, served
        assert served["training"]["total"] == args.jobs

        endpoint_ms = timed_ms(lambda: api.get("/jobs/count"), 50)
        other_ms = timed_ms(lambda: other.get("/jobs/count"), 50)

        def group_by():
            for model in (TrainingJob, InferenceJob):
                list(model.objects.filter(tenant=tenant).values_list("status").annotate(n=Count("id")).order_by())

        group_by_ms = timed_ms(group_by, 5)

        # What a status change costs with and without the counters (the locked read and two inserts).
        job_ids = list(
            TrainingJob.objects.filter(tenant=tenant, status=JobStatus.QUEUED).values_list("pk", flat=True)[:400]
        )

        def change(ids):
            for pk in ids:
                work.transition(TrainingJob, pk, from_=[JobStatus.QUEUED], to=JobStatus.CANCELLED)

        started = time.perf_counter()
        change(job_ids[:200])
        counted_ms = (time.perf_counter() - started) * 1000 / 200
        import dataclasses

        plain = dataclasses.replace(TrainingJob.lifecycle, counted=False)
        TrainingJob.lifecycle, counted_life = plain, TrainingJob.lifecycle
        started = time.perf_counter()
        change(job_ids[200:])
        uncounted_ms = (time.perf_counter() - started) * 1000 / 200
        TrainingJob.lifecycle = counted_life
        counts.recount(job_kinds().values())
        assert (
            api.get("/jobs/count")["training"]["by_status"]["cancelled"]
            == TrainingJob.objects.filter(tenant=tenant, status=JobStatus.CANCELLED).count()
        )

        result = {
            "jobs": {"training": args.jobs, "inference": args.jobs // 10, "other tenant": args.jobs // 10},
            "load_and_recount_s": round(load_s, 1),
            "GET /jobs/count, 1.1M jobs: median, max ms": endpoint_ms,
            "GET /jobs/count, other tenant: median, max ms": other_ms,
            "counting the rows instead (GROUP BY status): median, max ms": group_by_ms,
            "a status change with counters, ms": round(counted_ms, 2),
            "a status change without counters, ms": round(uncounted_ms, 2),
        }
        print(json.dumps(result, indent=2))
    total = args.jobs + 2 * (args.jobs // 10)
    harness.report(
        "job_counts",
        [
            harness.figure(
                f"GET /jobs/count with {total:,} jobs, median",
                f"{endpoint_ms[0]} ms (counting rows: {group_by_ms[0]} ms)",
                endpoint_ms[0],
            ),
            harness.figure(
                "a status change with / without counters",
                f"{counted_ms:.2f} / {uncounted_ms:.2f} ms",
                round(counted_ms, 2),
            ),
        ],
    )


if __name__ == "__main__":
    main()
