"""A dependency that does not answer: storage or the broker at a port where nothing
listens (a real connection refused, not a mock). The API answers 503 or keeps the work
for later; nothing is half-written."""

import pytest
from django.test import override_settings
from django.utils import timezone

from datasets.models import AudioFile, AudioStatus
from relay import storage, work
from relay.celery import app as celery_app
from relay.embedded.servers import free_ports
from tests import audio_factory as af
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def _reset_storage_clients():
    for cached in (storage.client, storage.presign_client, storage._check_client):
        cached.cache_clear()
    storage._reachable_until = 0.0


@pytest.fixture
def storage_down():
    (port,) = free_ports(1)
    _reset_storage_clients()
    url = f"http://127.0.0.1:{port}"
    with override_settings(S3_ENDPOINT_URL=url, S3_PUBLIC_ENDPOINT_URL=url, RELAY_DEPENDENCY_TIMEOUT=0.5):
        yield
    _reset_storage_clients()


def _publish_to(url):
    """Publish tasks to `url` (None: the configured broker again); the pools are made anew."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    celery_app.conf.broker_write_url = url


@pytest.fixture
def broker_down():
    (port,) = free_ports(1)
    _publish_to(f"redis://127.0.0.1:{port}/0")
    yield
    _publish_to(None)


@pytest.fixture
def dataset(api):
    return api.post("/datasets", {"name": "d", "artifact_types": [{"name": "glitch"}]}).json()["id"]


def test_no_upload_url_is_handed_out_while_storage_is_down(api, dataset, storage_down):
    body = {"filename": "a.wav", "content_type": "audio/wav", "file_size": 100}
    assert_error(api.post(f"/datasets/{dataset}/audio/upload-url", body), 503, "storage")
    assert AudioFile.objects.count() == 0  # nothing half-written


def test_a_confirm_while_the_broker_is_down_is_sent_by_the_next_reaper_pass(
    api, dataset, broker_down, django_capture_on_commit_callbacks
):
    data = af.wav(0.5)
    ticket = af.upload_url(api, dataset, data)
    assert af.post_to_s3(ticket, data).status_code == 204
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/datasets/{dataset}/audio/confirm", {"audio_id": ticket["audio_id"]})
    assert response.status_code == 202  # the confirm is durable; its task waits for the broker
    audio = AudioFile.objects.get(pk=ticket["audio_id"])
    assert (audio.status, audio.task_id) == (AudioStatus.NORMALIZING, work.UNSENT)


def test_unsent_work_is_sent_at_once_not_after_the_quiet_period(api, dataset, django_capture_on_commit_callbacks):
    audio_id = af.upload_url(api, dataset, af.wav(0.5))["audio_id"]
    AudioFile.objects.filter(pk=audio_id).update(
        status=AudioStatus.NORMALIZING, confirmed_at=timezone.now(), task_id=work.UNSENT
    )
    with django_capture_on_commit_callbacks(execute=False) as sent:
        assert work.requeue_stuck()["requeued"] == 1
    assert len(sent) == 1 and AudioFile.objects.get(pk=audio_id).task_id != work.UNSENT


def test_a_filename_never_breaks_the_download_header():
    header = storage.content_disposition('evil\r\nX-Injected: 1"name\\.wav')
    assert "\r" not in header and "\n" not in header
    assert header.startswith('attachment; filename="evilX-Injected: 1_name_.wav"')
    assert "filename*=UTF-8''evilX-Injected%3A%201%22name%5C.wav" in header
    assert storage.content_disposition("café.wav").endswith("filename*=UTF-8''caf%C3%A9.wav")


@override_settings(RELAY_DEPENDENCY_TIMEOUT=0.5)
def test_a_deleted_pending_file_is_removed_again_once_its_upload_url_expires(
    api, dataset, django_capture_on_commit_callbacks
):
    ticket = af.upload_url(api, dataset, af.wav(0.5))
    with django_capture_on_commit_callbacks(execute=False) as sent:
        assert api.delete(f"/datasets/{dataset}/audio/{ticket['audio_id']}").status_code == 204
    assert len(sent) == 2  # now, and once more when the presigned form can no longer be used
