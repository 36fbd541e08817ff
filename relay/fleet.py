"""The worker fleet: every `celery worker` writes a heartbeat row (hostname, queues,
concurrency, active and processed tasks, version, start time) every
RELAY_WORKER_HEARTBEAT_S from a thread of its main process, and removes it when it stops.
A worker is alive while its last heartbeat is younger than RELAY_WORKER_ALIVE_S. Reading
the fleet is a query on a table of one row per worker: cheap at any size, no broker
round trip.

Tenants see workers under a stable pseudonym (hostnames say things about the network);
operators see hostnames in the admin, or everywhere with RELAY_EXPOSE_WORKER_HOSTNAMES.
"""

import hashlib
import logging
import os
import socket
import threading
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count, Sum
from django.utils import timezone

from relay.models import WorkerHeartbeat

logger = logging.getLogger(__name__)


def alive(now=None):
    now = now or timezone.now()
    return WorkerHeartbeat.objects.filter(last_seen_at__gte=now - timedelta(seconds=settings.RELAY_WORKER_ALIVE_S))


def public_name(hostname):
    if settings.RELAY_EXPOSE_WORKER_HOSTNAMES:
        return hostname
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:{hostname}".encode()).hexdigest()
    return f"worker-{digest[:10]}"


def count(now=None):
    """Alive workers, their slots and running tasks, and alive workers per queue."""
    workers = alive(now)
    totals = workers.aggregate(alive=Count("pk"), concurrency=Sum("concurrency"), active_tasks=Sum("active_tasks"))
    by_queue = {}
    for queues in workers.values_list("queues", flat=True):
        for queue in queues:
            by_queue[queue] = by_queue.get(queue, 0) + 1
    return {
        "alive": totals["alive"],
        "concurrency": totals["concurrency"] or 0,
        "active_tasks": totals["active_tasks"] or 0,
        "by_queue": dict(sorted(by_queue.items())),
    }


def prune(now=None):
    """Reaper hook: workers not seen for RELAY_WORKER_FORGET_AFTER_S (a day) are forgotten."""
    now = now or timezone.now()
    WorkerHeartbeat.objects.filter(
        last_seen_at__lt=now - timedelta(seconds=settings.RELAY_WORKER_FORGET_AFTER_S)
    ).delete()


# --- in the worker ----------------------------------------------------------------------


class Heartbeats:
    """Started when a worker is ready; writes its row until the worker shuts down."""

    def __init__(self, consumer):
        self.consumer = consumer
        self.hostname = consumer.hostname or socket.gethostname()
        self.started_at = timezone.now()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name="relay-fleet-heartbeat", daemon=True)

    def start(self):
        self.beat()
        self.thread.start()
        return self

    def describe(self):
        from celery.worker import state

        consumer = self.consumer
        queues = sorted(queue.name for queue in getattr(consumer.task_consumer, "queues", []) or [])
        pool = getattr(consumer, "pool", None)
        return {
            "queues": queues,
            "concurrency": getattr(pool, "num_processes", None) or getattr(consumer.controller, "concurrency", 0) or 0,
            "active_tasks": len(state.active_requests),
            "processed_tasks": sum(state.total_count.values()),
            "version": settings.VERSION,
            "pid": os.getpid(),
            "started_at": self.started_at,
            "last_seen_at": timezone.now(),
        }

    def beat(self):
        try:
            WorkerHeartbeat.objects.update_or_create(hostname=self.hostname, defaults=self.describe())
        except Exception as error:  # the database is out: the next beat tries again
            logger.warning("worker heartbeat not written: %s", error)
        finally:
            connection.close()

    def _run(self):
        while not self.done.wait(settings.RELAY_WORKER_HEARTBEAT_S):
            self.beat()

    def stop(self):
        self.done.set()
        self.thread.join(timeout=5)
        try:
            WorkerHeartbeat.objects.filter(hostname=self.hostname).delete()
        except Exception as error:
            logger.warning("worker heartbeat row not removed (it ages out): %s", error)
        finally:
            connection.close()


_running: list[Heartbeats] = []


def on_worker_ready(consumer):
    _running.append(Heartbeats(consumer).start())
    logger.info("fleet: heartbeats of %s every %ss", _running[-1].hostname, settings.RELAY_WORKER_HEARTBEAT_S)


def on_worker_shutdown():
    while _running:
        _running.pop().stop()
