"""The worker fleet: heartbeats of real workers, GET /workers and /workers/count."""

from datetime import timedelta

import pytest
from django.utils import timezone

from relay import fleet
from relay.models import WorkerHeartbeat
from tests.helpers import assert_422
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

QUEUES = ["audio", "default", "inference", "training", "webhooks"]


def heartbeat(hostname, seen_s_ago=0, queues=("default",), concurrency=2, active=0):
    now = timezone.now()
    return WorkerHeartbeat.objects.create(
        hostname=hostname,
        queues=list(queues),
        concurrency=concurrency,
        active_tasks=active,
        version="test",
        started_at=now - timedelta(hours=1),
        last_seen_at=now - timedelta(seconds=seen_s_ago),
    )


def test_only_live_workers_count_and_hostnames_stay_private(api, settings):
    heartbeat("gpu-7.internal.example", queues=("training",), concurrency=1, active=1)
    heartbeat("cpu-1.internal.example", queues=("default", "audio"), concurrency=4, active=2)
    heartbeat("gone.internal.example", seen_s_ago=settings.RELAY_WORKER_ALIVE_S + 5)
    page = api.get("/workers").json()
    assert page["total"] == 2 and page["start"] == 0 and page["limit"] == 50
    names = [w["name"] for w in page["items"]]
    assert all(name.startswith("worker-") for name in names) and len(set(names)) == 2
    assert "internal" not in api.get("/workers").content.decode()
    assert api.get("/workers/count").json() == {
        "alive": 2,
        "concurrency": 5,
        "active_tasks": 3,
        "by_queue": {"audio": 1, "default": 1, "training": 1},
    }
    assert api.get("/workers", {"start": 1, "limit": 1}).json()["items"][0]["name"] == names[1]
    assert api.get("/workers", {"start": 5}).json() == {"items": [], "total": 2, "start": 5, "limit": 50}
    settings.RELAY_EXPOSE_WORKER_HOSTNAMES = True
    assert {w["name"] for w in api.get("/workers").json()["items"]} == {
        "gpu-7.internal.example",
        "cpu-1.internal.example",
    }
    fleet.prune(timezone.now() + timedelta(days=2))
    assert not WorkerHeartbeat.objects.exists()


@pytest.mark.parametrize(
    "params, loc", [({"start": "-1"}, "start"), ({"limit": "0"}, "limit"), ({"limit": "x"}, "limit")]
)
def test_bad_paging_is_422(api, params, loc):
    assert_422(api.get("/workers", params), ["query", loc])


@pytest.mark.worker
def test_a_real_worker_reports_itself_and_leaves_when_it_stops(api, tmp_path):
    from relay.celery import app
    from relay.embedded.servers import CeleryWorker
    from tests.helpers import worker_env

    worker = CeleryWorker(worker_env(), tmp_path / "worker.log", concurrency=1, name="fleet")
    worker.start(app)
    try:
        row = wait_until(lambda: WorkerHeartbeat.objects.filter(hostname__startswith="fleet-").first(), timeout=30)
        assert row.queues == QUEUES and row.concurrency == 1 and row.version and row.pid
        listed = api.get("/workers").json()["items"]
        assert fleet.public_name(row.hostname) in [w["name"] for w in listed]
        counts = api.get("/workers/count").json()
        assert counts["alive"] >= 1 and all(counts["by_queue"][queue] >= 1 for queue in QUEUES)
        status = api.get("/status").json()
        assert status["checks"]["workers"]["count"] >= 1
    finally:
        worker.stop()
    assert not WorkerHeartbeat.objects.filter(hostname=row.hostname).exists()
