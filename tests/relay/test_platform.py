import json
import time
from datetime import datetime

import pytest
from django.test import override_settings

from relay import health
from relay.embedded.servers import Valkey, free_ports
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def test_health_needs_no_key(anonymous):
    response = anonymous.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_status_reports_every_dependency(api):
    response = api.get("/status")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    for name in ("database", "broker", "storage"):
        assert body["checks"][name]["status"] == "ok"
        assert body["checks"][name]["latency_ms"] >= 0
    assert body["checks"]["workers"] == {"count": body["checks"]["workers"]["count"]}
    # Queue depths and worker host names are the operators' business, not a tenant's.
    assert "queue_depth" not in body["checks"]["broker"] and "live" not in body["checks"]["workers"]


def test_status_needs_a_key(anonymous):
    assert_error(anonymous.get("/status"), 401)


def test_status_reports_a_stopped_broker_without_hanging(api, tmp_path):
    (port,) = free_ports(1)
    broker = Valkey(tmp_path / "valkey", port, "secret", persistent=False)
    url = broker.start(port_env_var="-")
    try:
        with override_settings(CELERY_BROKER_URL=url):
            assert api.get("/status").json()["checks"]["broker"]["status"] == "ok"
            broker.stop()
            started = time.monotonic()
            response = api.get("/status")
            elapsed = time.monotonic() - started
    finally:
        broker.stop()
    assert response.status_code == 503
    body = response.json()
    assert "broker" in body["detail"]
    assert body["checks"]["broker"]["status"] == "down" and body["checks"]["broker"]["error"]
    assert body["checks"]["database"]["status"] == "ok" and body["checks"]["storage"]["status"] == "ok"
    # Workers are counted from their heartbeats in the database, not asked through the broker.
    assert body["checks"]["workers"]["count"] == len(health.live_workers())
    # Bounded by RELAY_DEPENDENCY_TIMEOUT (2 s) plus slack, never a hang.
    assert elapsed < 10, elapsed


def test_info(api):
    body = api.get("/info").json()
    assert body["name"] == "Relay" and body["api_version"] == "v1"
    assert body["limits"]["max_upload_bytes"] == 524288000
    assert body["limits"]["page_size_max"] == 200
    assert "audio/wav" in {fmt["content_type"] for fmt in body["supported_formats"]}


def test_now(api):
    body = api.get("/now").json()
    parsed = datetime.fromisoformat(body["now"].replace("Z", "+00:00"))
    assert abs(parsed.timestamp() - body["unix"]) < 0.001
    assert abs(body["unix"] - time.time()) < 5


def test_jobs_count_is_per_tenant(api, other_api):
    from inference.models import InferenceJob
    from training.models import Model

    model = Model.objects.create(tenant=api.tenant, name="m", annotation_set_version=1, storage_key="x")
    for status in ("pending", "processing", "processing", "completed"):
        InferenceJob.objects.create(tenant=api.tenant, model=model, status=status)
    body = api.get("/jobs/count").json()
    assert body["inference"]["queued"] == 1 and body["inference"]["running"] == 2 and body["inference"]["total"] == 4
    assert body["inference"]["by_status"]["completed"] == 1 and body["training"]["total"] == 0
    assert other_api.get("/jobs/count").json()["inference"]["total"] == 0


@pytest.mark.parametrize("path", ["/", "/api/v1/"])
def test_root_links_to_docs_schema_and_admin_without_a_key(anonymous, path):
    response = anonymous.client.get(path)
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    links = response.json()["links"]
    assert links == {
        "docs": "/api/docs/",
        "schema": "/api/schema/",
        "admin": "/admin/",
        "api": "/api/v1/",
        "health": "/api/v1/health",
        "status": "/api/v1/status",
    }
    assert "key" not in json.dumps(links).lower() and "rk_" not in response.content.decode()
    for name in ("docs", "schema", "health"):
        assert anonymous.client.get(links[name]).status_code == 200, name
    assert anonymous.get("/").status_code == 200  # as the schema documents it
