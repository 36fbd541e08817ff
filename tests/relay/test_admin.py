import re

import pytest
from django.contrib.auth.models import User

from relay.models import ApiKey
from tests.helpers import Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    user = User.objects.create_superuser("ops", "ops@example.com", "pw")
    client.force_login(user)
    return client


def test_admin_pages_render(staff_client, api):
    for url in (
        "/admin/",
        "/admin/relay/tenant/",
        "/admin/relay/apikey/",
        "/admin/datasets/dataset/",
        f"/admin/relay/tenant/{api.tenant.pk}/change/",
        f"/admin/relay/apikey/{api.api_key.pk}/change/",
        "/admin/relay/apikey/?state=active",
        "/admin/relay/apikey/?q=tenant-a",
        "/admin/relay/apikey/add/",
    ):
        response = staff_client.get(url, secure=True)
        assert response.status_code == 200, url


def test_add_key_shows_secret_once(staff_client, api):
    response = staff_client.post(
        "/admin/relay/apikey/add/",
        {
            "tenant": api.tenant.pk,
            "name": "from admin",
            "scopes": ["datasets:read"],
            "expires_at_0": "",
            "expires_at_1": "",
        },
        follow=True,
        secure=True,
    )
    assert response.status_code == 200
    raw_key = re.search(r"rk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}", response.content.decode()).group(0)
    key = ApiKey.objects.get(name="from admin")
    assert key.scopes == ["datasets:read"] and raw_key.startswith(f"rk_{key.prefix}_")
    assert Api(raw_key).get("/datasets").status_code == 200
    page = staff_client.get(f"/admin/relay/apikey/{key.pk}/change/", secure=True).content.decode()
    assert raw_key not in page


def test_revoke_action(staff_client, api):
    response = staff_client.post(
        "/admin/relay/apikey/", {"action": "revoke", "_selected_action": [api.api_key.pk]}, follow=True, secure=True
    )
    assert response.status_code == 200
    assert ApiKey.objects.get(pk=api.api_key.pk).revoked_at is not None
    assert api.get("/datasets").status_code == 401


def test_audio_admin_shows_a_player_and_reprocesses(staff_client, api):
    from django.utils import timezone

    from datasets.models import AudioFile, AudioStatus

    dataset = api.post("/datasets", {"name": "d", "artifact_types": [{"name": "a"}]}).json()
    audio = AudioFile.objects.create(
        dataset_id=dataset["id"],
        filename="x.wav",
        content_type="audio/wav",
        file_size=10,
        storage_key=f"t/{dataset['id']}/audio/1/original.wav",
        upload_expires_at=timezone.now(),
        confirmed_at=timezone.now(),
        status=AudioStatus.FAILED,
        error_message="boom",
    )
    for url in (
        "/admin/datasets/audiofile/",
        "/admin/datasets/audiofile/?status__exact=failed",
        f"/admin/datasets/audiofile/{audio.pk}/change/",
    ):
        assert staff_client.get(url, secure=True).status_code == 200, url
    page = staff_client.get(f"/admin/datasets/audiofile/{audio.pk}/change/", secure=True).content.decode()
    assert "<audio controls" in page and "X-Amz-Signature" in page
    staff_client.post(
        "/admin/datasets/audiofile/", {"action": "reprocess", "_selected_action": [audio.pk]}, secure=True
    )
    audio.refresh_from_db()
    assert audio.status == AudioStatus.NORMALIZING and audio.error_message == ""


def test_job_admin_cancel_actions(staff_client, api):
    from inference.models import InferenceJob
    from training.models import Model

    model = Model.objects.create(tenant=api.tenant, name="m", annotation_set_version=1, storage_key="x")
    running = InferenceJob.objects.create(tenant=api.tenant, model=model, status="processing")
    done = InferenceJob.objects.create(tenant=api.tenant, model=model, status="completed")
    for url in (
        "/admin/inference/inferencejob/",
        f"/admin/inference/inferencejob/{running.pk}/change/",
        "/admin/training/trainingjob/",
        "/admin/training/model/",
    ):
        assert staff_client.get(url, secure=True).status_code == 200, url
    staff_client.post(
        "/admin/inference/inferencejob/", {"action": "cancel", "_selected_action": [running.pk, done.pk]}, secure=True
    )
    running.refresh_from_db()
    done.refresh_from_db()
    assert (running.status, done.status) == ("cancelled", "completed")
