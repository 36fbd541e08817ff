"""GET /metrics: every process's counters (relay/metrics.py) and the shared state read at
scrape time, behind a bearer token."""

import hmac
import logging

from django.conf import settings
from django.http import Http404, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily

from relay import counts, fleet, health, metrics

logger = logging.getLogger(__name__)


class StateCollector:
    """What the shared state says at scrape time (cheap reads: the fleet table, the job
    counters, one broker round trip)."""

    def collect(self):
        workers = GaugeMetricFamily(
            "relay_workers_alive", "Workers with a recent heartbeat, by queue.", labels=["queue"]
        )
        for queue, n in fleet.count()["by_queue"].items():
            workers.add_metric([queue], n)
        yield workers
        jobs = GaugeMetricFamily("relay_jobs", "Jobs of every tenant by kind and status.", labels=["kind", "status"])
        for kind, status, n in counts.totals():
            jobs.add_metric([kind, status], n)
        yield jobs
        depth = GaugeMetricFamily("relay_queue_depth", "Tasks waiting in each broker queue.", labels=["queue"])
        try:
            for queue, n in health.queue_depths().items():
                depth.add_metric([queue], n)
        except Exception as error:  # the broker is down: no depths in this scrape
            logger.warning("queue depths not read for /metrics: %s", error)
        yield depth


def view(request):
    token = settings.RELAY_METRICS_TOKEN
    if not token:
        raise Http404("metrics are off (set RELAY_METRICS_TOKEN)")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
        return HttpResponse("Missing or wrong bearer token\n", status=401, content_type="text/plain")
    scrape = metrics.registry()
    scrape.register(StateCollector())
    return HttpResponse(generate_latest(scrape), content_type=CONTENT_TYPE_LATEST)
