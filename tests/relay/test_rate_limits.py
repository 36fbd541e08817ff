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
