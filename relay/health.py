"""Dependency checks for GET /api/v1/status. Each is bounded by RELAY_DEPENDENCY_TIMEOUT."""

import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.db import connections

from relay import storage, work
from relay.celery import QUEUES
from relay.celery import app as celery_app


def _database():
    connection = connections.create_connection("default")
    try:
        with connection.cursor() as cursor:
            timeout_ms = int(settings.RELAY_DEPENDENCY_TIMEOUT * 1000)
            cursor.execute(f"SET statement_timeout = {timeout_ms}")
            cursor.execute("SELECT 1")
    finally:
        connection.close()
    return {}


def queues():
    """Every queue a task can be sent to: the declared ones and each kind's lifecycle queue."""
    return sorted(set(QUEUES) | {model.lifecycle.queue for model in work.KINDS.values()})


def queue_depths():
    """{queue: tasks waiting}, read from the broker."""
    with celery_app.connection_for_read(url=settings.CELERY_BROKER_URL) as connection:
        connection.ensure_connection(max_retries=1, interval_start=0, timeout=settings.RELAY_DEPENDENCY_TIMEOUT)
        channel = connection.default_channel
        depth = {}
        for queue in queues():
            try:
                depth[queue] = channel.queue_declare(queue=queue, passive=True).message_count
            except Exception:  # a queue no worker declared yet (RabbitMQ): nothing waits in it
                depth[queue] = 0
                channel = connection.channel()
    return depth


def _broker():
    return {"queue_depth": queue_depths()}


def _storage():
    storage.check()
    return {"bucket": settings.S3_BUCKET}


def live_workers():
    """{hostname: the queues it consumes} of each worker alive now (their heartbeats,
    relay/fleet.py)."""
    from relay import fleet

    return dict(fleet.alive().order_by("hostname").values_list("hostname", "queues"))


def _workers():
    return {"live": live_workers()}


CHECKS = {"database": _database, "broker": _broker, "storage": _storage}


def _timed(check):
    started = time.perf_counter()
    try:
        result = {"status": "ok", **check()}
    except Exception as error:  # reported, not raised: this is what the endpoint is for
        result = {"status": "down", "error": f"{type(error).__name__}: {error}"[:300]}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def run_checks():
    """Run the checks in parallel; one that outlives the timeout is reported down. Live
    workers (their heartbeats, relay/fleet.py) are read only when the database answered."""
    limit = settings.RELAY_DEPENDENCY_TIMEOUT + 1.0
    pool = ThreadPoolExecutor(max_workers=len(CHECKS))
    futures = {name: pool.submit(_timed, check) for name, check in CHECKS.items()}
    results = {}
    for name, future in futures.items():
        try:
            results[name] = future.result(timeout=limit)
        except FutureTimeout:
            results[name] = {"status": "down", "error": f"no answer within {limit:.1f}s", "latency_ms": limit * 1000}
    pool.shutdown(wait=False, cancel_futures=True)
    live = _timed(_workers).get("live", {}) if results["database"]["status"] == "ok" else {}
    results["workers"] = {"count": len(live), "live": sorted(live), "queues": live}
    return results


def summary(results):
    """What any tenant may see: each dependency's state and latency, how many workers are
    live; not queue depths or worker host names (the operators' dashboard shows those)."""
    shown = {
        name: {k: v for k, v in check.items() if k in ("status", "latency_ms", "error")}
        for name, check in results.items()
        if name != "workers"
    }
    shown["workers"] = {"count": results["workers"]["count"]}
    return shown
