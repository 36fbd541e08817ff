"""Deleting a dataset removes its stored objects, through a real Celery worker and S3."""

import pytest
from django.conf import settings

from relay import storage
from tests.helpers import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def keys_under(prefix):
    listed = storage.client().list_objects_v2(Bucket=settings.S3_BUCKET, Prefix=prefix)
    return [item["Key"] for item in listed.get("Contents", [])]


def test_delete_removes_stored_objects(api, celery_worker_process):
    dataset = api.post("/datasets", {"name": "x", "artifact_types": [{"name": "a"}]}).json()
    prefix = f"tenants/{api.tenant.id}/datasets/{dataset['id']}/"
    keep = f"tenants/{api.tenant.id}/datasets/other/keep.wav"
    for key in (prefix + "audio/1.wav", prefix + "audio/2.wav", keep):
        storage.client().put_object(Bucket=settings.S3_BUCKET, Key=key, Body=b"RIFF")
    assert len(keys_under(prefix)) == 2

    assert api.delete(f"/datasets/{dataset['id']}").status_code == 204
    wait_until(lambda: keys_under(prefix) == [], timeout=30, message="objects to be deleted")
    assert keys_under(keep) == [keep]
