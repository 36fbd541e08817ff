import json
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from datasets.models import Dataset
from relay.models import IdempotencyRecord
from tests.helpers import assert_422, assert_error

pytestmark = pytest.mark.django_db
BODY = {"name": "once", "artifact_types": [{"name": "glitch"}]}


def post(api, body, key):
    return api.post("/datasets", body, HTTP_IDEMPOTENCY_KEY=key)


def test_same_key_and_body_replays_the_first_answer(api):
    first = post(api, BODY, "create-1")
    second = post(api, BODY, "create-1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json() and second["Idempotent-Replayed"] == "true"
    assert Dataset.objects.count() == 1
    third = post(api, BODY, "create-2")
    assert third.json()["id"] != first.json()["id"] and Dataset.objects.count() == 2


def test_same_key_other_body_is_422(api):
    post(api, BODY, "k")
    assert_422(post(api, {**BODY, "name": "other"}, "k"), ["header", "Idempotency-Key"])
    assert Dataset.objects.count() == 1


def test_key_still_running_is_409(api):
    post(api, BODY, "busy")
    running = {"status_code": None, "response_body": None, "locked_until": timezone.now() + timedelta(minutes=1)}
    IdempotencyRecord.objects.filter(key="busy").update(**running)
    assert_error(post(api, BODY, "busy"), 409, "still being processed")


def test_a_key_whose_first_request_died_is_free_after_its_lease(api):
    """A web worker killed mid-request leaves the record running; once its lease is over,
    the retry runs the request (and keeps the key)."""
    post(api, BODY, "orphan")
    Dataset.objects.all().delete()  # as if its worker had died before committing
    dead = {"status_code": None, "response_body": None, "locked_until": timezone.now() - timedelta(seconds=1)}
    IdempotencyRecord.objects.filter(key="orphan").update(**dead)
    retried = post(api, BODY, "orphan")
    assert retried.status_code == 201 and Dataset.objects.count() == 1
    assert post(api, BODY, "orphan").json() == retried.json()  # replayed from now on


def test_a_new_api_key_is_never_stored_or_replayed(api):
    body = {"name": "ci", "scopes": ["datasets:read"]}
    first = api.post("/api-keys", body, HTTP_IDEMPOTENCY_KEY="mint")
    assert first.status_code == 201 and first.json()["key"].startswith("rk_")
    stored = IdempotencyRecord.objects.get(key="mint")
    assert first.json()["key"] not in json.dumps(stored.response_body) and stored.secret_response
    again = api.post("/api-keys", body, HTTP_IDEMPOTENCY_KEY="mint")
    assert_error(again, 409, first.json()["id"])
    assert "rk_" not in again.content.decode()


def test_failed_request_frees_the_key(api):
    assert_422(post(api, {"name": 5, "artifact_types": [{"name": "a"}]}, "retry-me"), ["body", "name"])
    assert post(api, BODY, "retry-me").status_code == 201
    assert IdempotencyRecord.objects.get(key="retry-me").status_code == 201


def test_keys_belong_to_one_tenant(api, other_api):
    first = post(api, BODY, "shared-key")
    other = post(other_api, BODY, "shared-key")
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


@override_settings(RELAY_WEBHOOK_ALLOW_PRIVATE=True)
def test_a_webhook_secret_is_never_stored_or_replayed(api):
    """As an API key: the `whsec_` secret is in the first answer only."""
    body = {"url": "http://127.0.0.1:9/hook"}
    first = api.post("/webhooks", body, HTTP_IDEMPOTENCY_KEY="hook")
    assert first.status_code == 201 and first.json()["secret"].startswith("whsec_")
    secret = first.json()["secret"]
    stored = IdempotencyRecord.objects.get(key="hook")
    assert secret not in json.dumps(stored.response_body) and "whsec_" not in json.dumps(stored.response_body)
    assert stored.secret_response
    again = api.post("/webhooks", body, HTTP_IDEMPOTENCY_KEY="hook")
    assert_error(again, 409, first.json()["id"])
    assert "whsec_" not in again.content.decode()
    assert not any("whsec_" in json.dumps(r.response_body) for r in IdempotencyRecord.objects.all())
