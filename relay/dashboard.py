"""What the operators' dashboard (admin/dashboard/) reads: the dependency checks of
/status with what tenants are not shown (queue depths, worker names), and for every kind
of background work its counts by status, its latest failures and the items that look
stuck (those the reaper's next pass will send again or fail: `relay.work.lost`)."""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from relay import health, work

LATEST_FAILURES = 5
STUCK_SHOWN = 10


@dataclass
class Stuck:
    item: object
    reason: str


@dataclass
class Failure:
    item: object
    age: str  # how long ago it failed


@dataclass
class KindOverview:
    kind: str
    model: type
    counts: dict  # every status of the kind, in the order of its choices
    failures: list  # Failure of the latest failed items, newest first
    stuck: list  # up to STUCK_SHOWN Stuck, the longest waiting first
    stuck_total: int

    @property
    def opts(self):
        return self.model._meta

    @property
    def label(self):
        return self.model._meta.verbose_name_plural

    @property
    def total(self):
        return sum(self.counts.values())


def status_counts(model):
    found = dict(model.objects.values_list("status").annotate(n=Count("pk")).order_by())
    return {status: found.get(status, 0) for status in work.statuses(model)}


def age(since, now):
    """A short duration: "42 s", "7 min", "3 h 5 min", "2 d 4 h"."""
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if hours < 1:
        return f"{minutes} min"
    if days < 1:
        return f"{hours} h {minutes % 60} min"
    return f"{days} d {hours % 24} h"


def latest_failures(model, now, limit=LATEST_FAILURES):
    failed = model.objects.filter(status=model.lifecycle.failed).order_by("-updated_at")[:limit]
    return [Failure(item, age(item.updated_at, now)) for item in failed]


def stuck_reason(item, now):
    if item.started_at is None:
        if item.task_id == work.UNSENT:
            return "queued, but the broker refused its task"
        return f"queued {age(item.updated_at, now)} ago, never started"
    return f"{item.status}, no heartbeat for {age(item.heartbeat_at, now)}"


def stuck_items(model, now, limit=STUCK_SHOWN):
    lost = work.lost(model, now)
    shown = [Stuck(item, stuck_reason(item, now)) for item in lost.order_by("updated_at")[:limit]]
    return shown, (len(shown) if len(shown) < limit else lost.count())


def kind_overview(kind, model, now):
    stuck, stuck_total = stuck_items(model, now)
    return KindOverview(kind, model, status_counts(model), latest_failures(model, now), stuck, stuck_total)


def queue_rows(checks):
    """(queue, depth, names of the live workers that consume it) for each queue."""
    consumers = checks["workers"]["queues"]
    return [
        (queue, depth, [name for name, queues in consumers.items() if queue in queues])
        for queue, depth in checks["broker"].get("queue_depth", {}).items()
    ]


def snapshot(now=None):
    """Everything the dashboard shows, read now."""
    now = now or timezone.now()
    checks = health.run_checks()
    return {
        "checks": checks,
        "queues": queue_rows(checks),
        "kinds": [kind_overview(kind, model, now) for kind, model in work.KINDS.items()],
        "now": now,
        "limits": {
            "stuck_after_s": settings.RELAY_STUCK_AFTER_S,
            "never_started_after_s": settings.RELAY_NEVER_STARTED_AFTER_S,
            "max_attempts": settings.RELAY_MAX_PROCESSING_ATTEMPTS,
        },
    }
