"""Metrics for operators, in the Prometheus text format (prometheus-client).

Counted where things happen: requests by view and status (relay.api.middleware), work
items' durations and outcomes by kind (relay.work), bytes of confirmed uploads
(relay.uploads). Read at scrape time (relay/scrape.py): queue depths, live workers, jobs
by status.

Web and worker processes each count in their own memory, or, with PROMETHEUS_MULTIPROC_DIR
set (`make run` sets it), in files of that folder that GET /metrics sums over every
process of the machine. Worker machines of their own expose theirs on
RELAY_WORKER_METRICS_PORT. GET /metrics answers only with `Authorization: Bearer
<RELAY_METRICS_TOKEN>`, and is off (404) while that setting is empty.
"""

import logging
import os

from django.conf import settings
from prometheus_client import CollectorRegistry, Counter, Histogram

logger = logging.getLogger(__name__)

REQUEST_SECONDS = Histogram(
    "relay_http_request_duration_seconds",
    "Time to answer an API request, by view, method and status code.",
    ["view", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WORK_SECONDS = Histogram(
    "relay_work_duration_seconds",
    "Time a worker spent on an item (one attempt), by kind and outcome.",
    ["kind", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600),
)
UPLOAD_BYTES = Counter("relay_upload_bytes", "Bytes of confirmed uploads, by kind.", ["kind"])


def observe_request(request, status_code, seconds):
    match = getattr(request, "resolver_match", None)
    view = (match.view_name if match else "") or "unmatched"
    REQUEST_SECONDS.labels(view, request.method, str(status_code)).observe(seconds)


def observe_work(kind, outcome, seconds):
    WORK_SECONDS.labels(kind, outcome).observe(seconds)


def count_upload(kind, size):
    UPLOAD_BYTES.labels(kind).inc(size or 0)


def registry():
    """Every process's counts (multiprocess mode) or this process's, plus the shared state."""
    scrape = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(scrape)
    else:
        from prometheus_client import REGISTRY

        for collector in list(REGISTRY._collector_to_names):
            scrape.register(collector)
    return scrape


def worker_process_exited(pid):
    """A pool process ended: its live values stop counting (multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def serve_worker_metrics():
    """On a worker machine of its own: its processes' metrics on RELAY_WORKER_METRICS_PORT."""
    port = settings.RELAY_WORKER_METRICS_PORT
    if port:
        from prometheus_client import start_http_server

        start_http_server(port, registry=registry())
        logger.info("worker metrics on port %d", port)
