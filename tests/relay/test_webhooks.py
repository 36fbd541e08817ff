"""Webhooks: endpoints (admin scope, secret shown once, no private addresses), and
deliveries by a real worker to a real receiver that checks the signature with the README's
code: retried after failures, logged, redeliverable, and an endpoint that keeps failing is
disabled with a reason."""

import json
import os
import re
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from django.db import OperationalError
from django.utils import timezone

from relay import webhooks
from relay.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from tests import audio_factory as af
from tests.helpers import Api, assert_422, assert_error
from tests.waiting import wait_until, worker_idle

pytestmark = pytest.mark.django_db(transaction=True)

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_receiver(secret):
    """The README's receiver (its `verify` and `Receiver`), with this secret."""
    code = re.search(r"<!-- webhook-receiver -->\s*```python\n(.*?)```", README.read_text(), re.S).group(1)
    os.environ["RELAY_WEBHOOK_SECRET"] = secret
    try:
        namespace = {"__name__": "readme_receiver"}
        exec(compile(code, "README.md", "exec"), namespace)
    finally:
        del os.environ["RELAY_WEBHOOK_SECRET"]
    return namespace


class Receiver:
    """An HTTP server on 127.0.0.1 that answers with `codes` in turn (then the last one)
    and keeps what it got, with whether the README's check accepted the signature."""

    def __init__(self, codes=(204,)):
        self.codes = list(codes)
        self.requests = []
        self.verify = None
        receiver = self

        from http.server import BaseHTTPRequestHandler

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                valid = receiver.verify(self.headers.get("Relay-Signature", ""), body)
                code = receiver.codes[min(len(receiver.requests), len(receiver.codes) - 1)]
                receiver.requests.append({"headers": dict(self.headers), "body": json.loads(body), "valid": valid})
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self.server.server_address[1]}/hooks/relay?source=test"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(codes=(204,)):
        made.append(Receiver(codes))
        return made[-1]

    yield make
    for server in made:
        server.close()


@pytest.fixture(autouse=True)
def no_deliveries_left(request):
    """No attempt (a retry sent for later, or one running in a worker) runs into the next
    test's database flush."""
    yield
    if request.node.get_closest_marker("worker"):
        wait_until(worker_idle, timeout=30, message="the worker idle")
    for _attempt in range(3):
        try:  # a retry the worker starts meanwhile may lock rows in the other order
            WebhookEndpoint.objects.all().delete()
            break
        except OperationalError:
            time.sleep(0.5)


@pytest.fixture
def dataset(api):
    return api.post("/datasets", {"name": "hooks", "artifact_types": [{"name": "glitch"}]}).json()["id"]


def create(api, url, **body):
    return api.post("/webhooks", {"url": url, **body})


# --- endpoints --------------------------------------------------------------------------


def test_the_secret_is_shown_once(api, settings):
    settings.RELAY_WEBHOOK_ALLOW_PRIVATE = True
    response = create(api, "http://localhost:9/x", event_types=["training_job.completed"], description="ci")
    assert response.status_code == 201
    created = response.json()
    assert created["secret"].startswith("whsec_") and created["enabled"] and created["disabled_reason"] == ""
    assert created["event_types"] == ["training_job.completed"]
    shown = api.get(f"/webhooks/{created['id']}").json()
    assert "secret" not in shown and shown["url"] == "http://localhost:9/x"
    assert [w["id"] for w in api.get("/webhooks").json()["items"]] == [created["id"]]
    assert "secret" not in api.get("/webhooks").json()["items"][0]
    patched = api.patch(f"/webhooks/{created['id']}", {"enabled": False, "event_types": []}).json()
    assert not patched["enabled"] and patched["event_types"] == []
    assert api.delete(f"/webhooks/{created['id']}").status_code == 204
    assert_error(api.get(f"/webhooks/{created['id']}"), 404)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8080/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://100.64.0.1/hook",
    ],
)
def test_private_addresses_are_refused(api, url):
    response = create(api, url)
    assert_422(response, ["body", "url"])
    assert "public addresses" in response.json()["detail"][0]["msg"]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    "body, loc",
    [
        ({"url": "ftp://example.com/x"}, ["body", "url"]),
        ({"url": "https://user:pw@example.com/x"}, ["body", "url"]),
        ({"url": "not a url"}, ["body", "url"]),
        ({"url": "https://no-such-host.invalid/x"}, ["body", "url"]),
        ({"url": "https://example.com/x", "event_types": ["training_job.exploded"]}, ["body", "event_types", 0]),
        ({"url": "https://example.com/x", "enabled": "yes"}, ["body", "enabled"]),
        ({"url": "https://example.com/x", "secret": "mine"}, ["body", "secret"]),
    ],
)
def test_bad_endpoints_are_422(api, body, loc, settings):
    settings.RELAY_WEBHOOK_ALLOW_PRIVATE = False
    assert_422(api.post("/webhooks", body), loc)


def test_webhooks_need_the_admin_scope_and_stay_in_their_tenant(api, other_api, settings):
    settings.RELAY_WEBHOOK_ALLOW_PRIVATE = True
    from relay import services

    _, raw = services.create_api_key(tenant=api.tenant, name="no admin", scopes=["training:write"])
    assert_error(Api(raw).get("/webhooks"), 403)
    assert_error(Api(raw).post("/webhooks", {"url": "http://localhost:9/x"}), 403)
    created = create(api, "http://localhost:9/x").json()
    assert_error(other_api.get(f"/webhooks/{created['id']}"), 404)
    assert_error(other_api.get(f"/webhooks/{created['id']}/deliveries"), 404)
    assert other_api.get("/webhooks").json()["items"] == []


def test_a_delivery_to_an_address_that_became_private_is_refused(api, receiver, settings):
    """DNS can change after the endpoint was checked: each attempt checks again. (The
    delivery is written here, not fanned out from an event, so that no worker of another
    test takes it.)"""
    server = receiver()
    settings.RELAY_WEBHOOK_ALLOW_PRIVATE = True
    endpoint = WebhookEndpoint.objects.get(pk=create(api, server.url).json()["id"])
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_id=1,
        event_type="audio_file.created",
        payload={"type": "audio_file.created"},
        next_attempt_at=timezone.now(),
    )
    settings.RELAY_WEBHOOK_ALLOW_PRIVATE = False
    assert webhooks.deliver(delivery.pk) is None
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert "public addresses" in delivery.error and delivery.status_code is None
    assert server.requests == []


# --- deliveries through a real worker ------------------------------------------------------


@pytest.mark.worker
def test_deliveries_are_signed_retried_after_500_and_logged(api, dataset, receiver, celery_worker_process, settings):
    settings.RELAY_WEBHOOK_ALLOW_PRIVATE = True
    server = receiver(codes=(500, 500, 204))
    created = create(api, server.url, event_types=["audio_file.created"]).json()
    server.verify = readme_receiver(created["secret"])["verify"]
    ticket = af.upload_url(api, dataset, af.wav(duration_s=1), filename="a.wav")

    wait_until(lambda: len(server.requests) >= 3, timeout=60, message="three attempts")
    deliveries = f"/webhooks/{created['id']}/deliveries"
    delivery = wait_until(
        lambda: (items := api.get(deliveries).json()["items"]) and items[0]["status"] == "delivered" and items[0],
        timeout=30,
    )
    assert all(r["valid"] for r in server.requests), "the README's check refused a signature"
    first = server.requests[0]
    assert first["body"]["type"] == "audio_file.created" and first["body"]["object_id"] == ticket["audio_id"]
    assert first["body"]["data"]["filename"] == "a.wav"
    assert [r["headers"]["Relay-Attempt"] for r in server.requests] == ["1", "2", "3"]
    assert {r["headers"]["Relay-Delivery-Id"] for r in server.requests} == {delivery["id"]}
    assert {r["headers"]["Relay-Event-Type"] for r in server.requests} == {"audio_file.created"}
    assert first["headers"]["Host"] == f"localhost:{server.server.server_address[1]}"
    assert delivery["attempts"] == 3 and delivery["status_code"] == 204 and delivery["error"] == ""
    assert [entry["status_code"] for entry in delivery["log"]] == [500, 500, 204]
    assert all(entry["latency_ms"] > 0 for entry in delivery["log"])
    assert delivery["payload"] == first["body"]
    assert api.get(deliveries, {"status": "failed"}).json()["items"] == []
    # Only audio_file.created was asked for; one delivery per event.
    assert api.get(deliveries).json()["total"] == 1

    again = api.post(f"{deliveries}/{delivery['id']}/redeliver")
    assert again.status_code == 202
    wait_until(lambda: len(server.requests) == 4, timeout=30, message="the redelivery")
    assert server.requests[3]["valid"] and server.requests[3]["body"] == first["body"]


@pytest.mark.worker
def test_an_endpoint_that_keeps_failing_is_disabled_with_a_reason(
    api, dataset, receiver, celery_worker_process, settings
):
    settings.RELAY_WEBHOOK_ALLOW_PRIVATE = True
    server = receiver(codes=(503,))
    created = create(api, server.url).json()
    server.verify = readme_receiver(created["secret"])["verify"]
    af.upload_url(api, dataset, af.wav(duration_s=1), filename="a.wav")
    endpoint = wait_until(
        lambda: not (body := api.get(f"/webhooks/{created['id']}").json())["enabled"] and body,
        timeout=60,
        message="the endpoint disabled",
    )
    assert "every attempt failed since" in endpoint["disabled_reason"] and "HTTP 503" in endpoint["disabled_reason"]
    assert endpoint["failing_since"]
    count = len(server.requests)
    assert count >= 3
    items = api.get(f"/webhooks/{created['id']}/deliveries").json()["items"]
    assert_error(api.post(f"/webhooks/{created['id']}/deliveries/{items[0]['id']}/redeliver"), 409)
    # Enabled again: a fresh start; what happens from now on is delivered.
    server.codes = [204]
    assert api.patch(f"/webhooks/{created['id']}", {"enabled": True}).json()["disabled_reason"] == ""
    af.upload_url(api, dataset, af.wav(duration_s=1), filename="b.wav")
    wait_until(
        lambda: any(r["body"]["data"].get("filename") == "b.wav" for r in server.requests[count:]),
        timeout=60,
        message="a delivery after re-enabling",
    )


def test_a_tenant_without_endpoints_is_remembered_until_it_creates_one(api, settings):
    """Events commit by the thousand during an ingest: with no endpoint, the fan-out trigger
    asks the database once and then remembers (briefly) that there is none; creating an
    endpoint forgets it at once."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from relay import kv

    tenant = api.tenant.id
    none, waiting = webhooks._no_endpoints_flag(tenant), webhooks._fan_out_flag(tenant)
    webhooks.trigger_fan_out(tenant, 1)
    assert kv.client().exists(none) and not kv.client().exists(waiting)
    with CaptureQueriesContext(connection) as queries:
        webhooks.trigger_fan_out(tenant, 2)
    assert len(queries) == 0

    settings.RELAY_WEBHOOK_ALLOW_PRIVATE = True
    assert create(api, "http://localhost:9/x").status_code == 201
    assert not kv.client().exists(none)
    webhooks.trigger_fan_out(tenant, 3)
    assert kv.client().exists(waiting)  # a fan-out task was sent and not yet run
    kv.client().delete(waiting)
