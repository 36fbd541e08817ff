import pytest

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
    IdempotencyRecord.objects.filter(key="busy").update(status_code=None, response_body=None)  # as while running
    assert_error(post(api, BODY, "busy"), 409, "still being processed")


def test_failed_request_frees_the_key(api):
    assert_422(post(api, {"name": 5, "artifact_types": [{"name": "a"}]}, "retry-me"), ["body", "name"])
    assert post(api, BODY, "retry-me").status_code == 201
    assert IdempotencyRecord.objects.get(key="retry-me").status_code == 201


def test_keys_belong_to_one_tenant(api, other_api):
    first = post(api, BODY, "shared-key")
    other = post(other_api, BODY, "shared-key")
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
