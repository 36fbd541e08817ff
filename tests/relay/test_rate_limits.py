"""Rate limits, counted in the test stack's real Valkey: per key and class of request, and
failed key lookups per client address."""

import uuid

import pytest
from django.test import override_settings

from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def from_address(address):
    """Request headers of a client at `address` behind one trusted proxy, which appended the
    address it saw to what the client claimed (the claim does not count)."""
    return {"HTTP_X_FORWARDED_FOR": f"192.0.2.99, {address}"}


@override_settings(RELAY_RATE_LIMIT_READ=3)
def test_reads_past_the_limit_are_429_with_retry_after(api):
    answers = [api.get("/datasets") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert all(a["X-RateLimit-Limit"] == "3" for a in answers)
    throttled = assert_error(answers[3], 429, "3 read requests")
    assert 1 <= int(answers[3]["Retry-After"]) <= 60 and throttled
    assert (
        api.post("/datasets", {"name": "d", "artifact_types": [{"name": "x"}]}).status_code == 201
    )  # writes count apart


@override_settings(RELAY_RATE_LIMIT_JOBS=1)
def test_job_creation_has_a_limit_of_its_own(api):
    body = {"model_id": str(uuid.uuid4())}
    assert api.post("/inference-jobs", body).status_code == 404  # counted, and answered
    assert_error(api.post("/inference-jobs", body), 429, "jobs requests")
    assert api.get("/inference-jobs").status_code == 200


@override_settings(RELAY_RATE_LIMIT_AUTH_FAILURES=5, RELAY_TRUSTED_PROXIES=1)
def test_an_address_that_keeps_failing_to_authenticate_is_refused(api, anonymous):
    attacker, bystander = f"203.0.113.{uuid.uuid4().int % 250}", f"198.51.100.{uuid.uuid4().int % 250}"
    wrong = f"rk_{'a' * 12}_{'b' * 43}"
    for _ in range(5):
        assert anonymous.get("/datasets", HTTP_X_API_KEY=wrong, **from_address(attacker)).status_code == 401
    refused = api.get("/datasets", **from_address(attacker))  # even with a good key, for the rest of the minute
    assert_error(refused, 429, "failed API key lookups")
    assert "Retry-After" in refused
    assert api.get("/datasets", **from_address(bystander)).status_code == 200


@override_settings(RELAY_RATE_LIMIT_AUTH_FAILURES=2, RELAY_TRUSTED_PROXIES=1)
def test_a_refused_address_is_429_before_any_other_answer_and_records_no_use(api, readonly_api, anonymous):
    """A good key from an address that used up its failed lookups: 429 whatever else the
    request would have been answered (a missing scope, a disabled tenant), and the key's
    use is not recorded; the failed lookups stop being counted once refused."""
    from relay.models import ApiKey
    from relay.ratelimit import WINDOW_S, kv

    attacker = f"203.0.113.{uuid.uuid4().int % 250}"
    wrong = f"rk_{'a' * 12}_{'b' * 43}"
    for _ in range(2):
        assert anonymous.get("/datasets", HTTP_X_API_KEY=wrong, **from_address(attacker)).status_code == 401
    assert_error(anonymous.get("/datasets", HTTP_X_API_KEY=wrong, **from_address(attacker)), 429, "failed API key")
    window = int(__import__("time").time() // WINDOW_S)
    assert int(kv.client().get(f"relay:ratelimit:authfail:{attacker}:{window}")) == 2  # the refused one not counted
    ApiKey.objects.filter(pk=api.api_key.pk).update(last_used_at=None)
    write = {"name": "d", "artifact_types": [{"name": "x"}]}
    assert_error(readonly_api.post("/datasets", write, **from_address(attacker)), 429, "failed API key")
    assert_error(api.get("/datasets", **from_address(attacker)), 429, "failed API key")
    assert ApiKey.objects.get(pk=api.api_key.pk).last_used_at is None
    api.tenant.is_active = False
    api.tenant.save(update_fields=["is_active"])
    assert_error(api.get("/datasets", **from_address(attacker)), 429, "failed API key")
    bystander = f"198.51.100.{uuid.uuid4().int % 250}"
    assert_error(api.get("/datasets", **from_address(bystander)), 403, "disabled")


@override_settings(RELAY_RATE_LIMIT_READ=5)
def test_a_request_with_a_good_key_costs_one_round_trip_to_the_limits_server(api, readonly_api, monkeypatch):
    """Counting the request and looking at its address's failed lookups go together; a key
    that lacks the scope is not counted (403, no X-RateLimit-* headers)."""
    from relay import ratelimit

    client = ratelimit.kv.client()
    calls = []

    class Counting:
        def __getattr__(self, name):
            calls.append(name)
            return getattr(client, name)

    monkeypatch.setattr(ratelimit.kv, "client", lambda: Counting())
    answer = api.get("/datasets")
    assert answer.status_code == 200 and answer["X-RateLimit-Remaining"] == "4"
    assert calls == ["eval"]
    calls.clear()
    refused = readonly_api.post("/datasets", {"name": "d", "artifact_types": [{"name": "x"}]})
    assert_error(refused, 403, "datasets:write")
    assert "X-RateLimit-Remaining" not in refused
    assert api.get("/datasets")["X-RateLimit-Remaining"] == "3"
