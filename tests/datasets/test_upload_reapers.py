"""The beat tasks that keep uploads from being lost or stuck, and limits of processing.
They are called here directly (same code the beat schedule runs) on real S3 and PostgreSQL."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from datasets import processing, uploads
from datasets.models import AudioFile, AudioStatus
from relay import storage
from tests import audio_factory as af

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset(api):
    return api.post("/datasets", {"name": "d", "artifact_types": [{"name": "glitch"}]}).json()["id"]


def expire(audio_id):
    AudioFile.objects.filter(pk=audio_id).update(upload_expires_at=timezone.now() - timedelta(seconds=1))


def test_never_uploaded_file_fails_once_its_url_expired(api, dataset):
    ticket = af.upload_url(api, dataset, af.wav(1.0))
    assert uploads.expire_uploads() == {"confirmed": 0, "failed": 0}
    expire(ticket["audio_id"])
    assert uploads.expire_uploads() == {"confirmed": 0, "failed": 1}
    body = api.get(f"/datasets/{dataset}/audio/{ticket['audio_id']}").json()
    assert body["processing_status"] == "failed" and "expired" in body["error_message"]


def test_uploaded_but_unconfirmed_file_is_confirmed_not_lost(api, dataset, django_capture_on_commit_callbacks):
    data = af.wav(1.0)
    ticket = af.upload_url(api, dataset, data)
    assert af.post_to_s3(ticket, data).status_code == 204
    expire(ticket["audio_id"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert uploads.expire_uploads() == {"confirmed": 1, "failed": 0}
    assert len(callbacks) == 1  # process_audio is sent once the change commits
    assert AudioFile.objects.get(pk=ticket["audio_id"]).processing_status == AudioStatus.NORMALIZING


def test_expired_multipart_upload_is_aborted(api, dataset):
    started = api.post(
        f"/datasets/{dataset}/audio/multipart",
        {"filename": "x.wav", "content_type": "audio/wav", "file_size": 9 * 1024 * 1024},
    ).json()
    expire(started["audio_id"])
    assert uploads.expire_uploads()["failed"] == 1
    audio = AudioFile.objects.get(pk=started["audio_id"])
    assert audio.processing_status == AudioStatus.FAILED and audio.multipart_upload_id == ""


def test_stuck_files_are_sent_again_once_per_quiet_period(api, dataset):
    audio_id = af.upload_url(api, dataset, af.wav(1.0))["audio_id"]
    long_ago = timezone.now() - timedelta(hours=1)
    AudioFile.objects.filter(pk=audio_id).update(
        processing_status=AudioStatus.NORMALIZING, confirmed_at=long_ago, updated_at=long_ago
    )
    assert uploads.requeue_stuck() == 1
    assert uploads.requeue_stuck() == 0  # touched: not again until it is quiet again


def test_a_file_that_keeps_failing_its_worker_is_given_up(api, dataset):
    data = af.wav(0.5)
    audio_id = af.upload_url(api, dataset, data)["audio_id"]
    AudioFile.objects.filter(pk=audio_id).update(
        processing_status=AudioStatus.NORMALIZING, confirmed_at=timezone.now(), processing_attempts=3
    )
    processing.process(audio_id)
    audio = AudioFile.objects.get(pk=audio_id)
    assert audio.processing_status == AudioStatus.FAILED and "3 attempts" in audio.error_message


def uploaded_and_processed(api, dataset, data):
    """Upload and mark confirmed, then run the task's code here (not through the broker)."""
    ticket = af.upload_url(api, dataset, data)
    af.post_to_s3(ticket, data)
    AudioFile.objects.filter(pk=ticket["audio_id"]).update(
        processing_status=AudioStatus.NORMALIZING, confirmed_at=timezone.now()
    )
    processing.process(ticket["audio_id"])
    return AudioFile.objects.get(pk=ticket["audio_id"])


def test_processing_is_idempotent(api, dataset):
    audio = uploaded_and_processed(api, dataset, af.wav(0.5))
    assert audio.processing_status == AudioStatus.READY and audio.duration_ms == 500
    processing.process(audio.pk)  # a duplicate message: nothing changes
    again = AudioFile.objects.get(pk=audio.pk)
    assert (again.processing_status, again.processing_attempts, again.processed_at) == (
        AudioStatus.READY,
        1,
        audio.processed_at,
    )


@override_settings(RELAY_MAX_AUDIO_DURATION_S=2)
def test_too_long_file_fails(api, dataset):
    audio = uploaded_and_processed(api, dataset, af.wav(3.0))
    assert audio.processing_status == AudioStatus.FAILED and "longer than the limit" in audio.error_message


def test_presigned_put_uploads_with_the_bound_type(api):
    import requests

    url = storage.presigned_put("tests/put.bin", content_type="audio/wav", expires_in=60)
    assert requests.put(url, data=b"RIFF", headers={"Content-Type": "audio/wav"}, timeout=30).status_code == 200
    assert storage.head("tests/put.bin") == {"size": 4, "content_type": "audio/wav"}
    storage.delete("tests/put.bin")
