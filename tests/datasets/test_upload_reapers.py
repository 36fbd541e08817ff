"""The beat tasks that keep uploads from being lost or stuck, and limits of processing.
They are called here directly (same code the beat schedule runs) on real S3 and PostgreSQL;
the processing task runs in-process through its Celery wrapper (`apply`)."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from datasets.models import AudioFile, AudioStatus
from datasets.tasks import process_audio
from relay import uploads, work
from tests import audio_factory as af
from tests.helpers import sent_tasks

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
    assert len(sent_tasks(callbacks)) == 1  # process_audio is sent once the change commits
    assert AudioFile.objects.get(pk=ticket["audio_id"]).status == AudioStatus.NORMALIZING


def test_expired_multipart_upload_is_aborted(api, dataset):
    started = api.post(
        f"/datasets/{dataset}/audio/multipart",
        {"filename": "x.wav", "content_type": "audio/wav", "file_size": 9 * 1024 * 1024},
    ).json()
    expire(started["audio_id"])
    assert uploads.expire_uploads()["failed"] == 1
    audio = AudioFile.objects.get(pk=started["audio_id"])
    assert audio.status == AudioStatus.FAILED and audio.multipart_upload_id == ""


def test_a_file_never_started_is_sent_again_once_per_quiet_period(api, dataset, django_capture_on_commit_callbacks):
    audio_id = af.upload_url(api, dataset, af.wav(1.0))["audio_id"]
    long_ago = timezone.now() - timedelta(hours=1)
    AudioFile.objects.filter(pk=audio_id).update(
        status=AudioStatus.NORMALIZING, confirmed_at=long_ago, updated_at=long_ago
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert work.requeue_stuck()["requeued"] == 1
        assert work.requeue_stuck()["requeued"] == 0  # touched: not again until it is quiet again
    assert len(sent_tasks(callbacks)) == 1


def test_a_file_whose_worker_went_silent_is_handed_to_a_new_task(api, dataset, django_capture_on_commit_callbacks):
    audio_id = af.upload_url(api, dataset, af.wav(1.0))["audio_id"]
    silent = timezone.now() - timedelta(hours=1)
    AudioFile.objects.filter(pk=audio_id).update(
        status=AudioStatus.EMBEDDING, started_at=silent, heartbeat_at=silent, attempts=1, task_id="old"
    )
    with django_capture_on_commit_callbacks(execute=False):
        assert work.requeue_stuck()["requeued"] == 1
    audio = AudioFile.objects.get(pk=audio_id)
    assert audio.task_id not in ("", "old")  # the old worker's reports no longer match
    assert not work.heartbeat(AudioFile, audio_id, "old")


def test_a_silent_file_that_used_up_its_attempts_is_failed(api, dataset):
    audio_id = af.upload_url(api, dataset, af.wav(1.0))["audio_id"]
    silent = timezone.now() - timedelta(hours=1)
    AudioFile.objects.filter(pk=audio_id).update(
        status=AudioStatus.NORMALIZING, started_at=silent, heartbeat_at=silent, attempts=3
    )
    assert work.requeue_stuck()["failed"] == 1
    audio = AudioFile.objects.get(pk=audio_id)
    assert audio.status == AudioStatus.FAILED and "stopped responding 3 times" in audio.error_message


def test_a_file_that_keeps_failing_its_worker_is_given_up(api, dataset):
    data = af.wav(0.5)
    audio_id = af.upload_url(api, dataset, data)["audio_id"]
    AudioFile.objects.filter(pk=audio_id).update(
        status=AudioStatus.NORMALIZING, confirmed_at=timezone.now(), attempts=3
    )
    process_audio.apply(args=[audio_id])
    audio = AudioFile.objects.get(pk=audio_id)
    assert audio.status == AudioStatus.FAILED and "3 attempts" in audio.error_message


def uploaded_and_processed(api, dataset, data):
    """Upload and mark confirmed, then run the task here (not through the broker)."""
    ticket = af.upload_url(api, dataset, data)
    af.post_to_s3(ticket, data)
    AudioFile.objects.filter(pk=ticket["audio_id"]).update(status=AudioStatus.NORMALIZING, confirmed_at=timezone.now())
    process_audio.apply(args=[ticket["audio_id"]])
    return AudioFile.objects.get(pk=ticket["audio_id"])


def test_processing_is_idempotent(api, dataset):
    audio = uploaded_and_processed(api, dataset, af.wav(0.5))
    assert audio.status == AudioStatus.READY and audio.duration_ms == 500
    process_audio.apply(args=[str(audio.pk)])  # a duplicate message: nothing changes
    again = AudioFile.objects.get(pk=audio.pk)
    assert (again.status, again.attempts, again.processed_at) == (AudioStatus.READY, 1, audio.processed_at)


def test_a_redelivered_task_resumes_the_file_its_dead_worker_held(api, dataset):
    """Celery re-delivers a task whose worker died with the same task id: it takes the
    file over at once, without waiting for the heartbeat to go stale."""
    data = af.wav(0.5)
    ticket = af.upload_url(api, dataset, data)
    af.post_to_s3(ticket, data)
    AudioFile.objects.filter(pk=ticket["audio_id"]).update(
        status=AudioStatus.EMBEDDING,
        confirmed_at=timezone.now(),
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
        attempts=1,
        task_id="task-1",
    )
    process_audio.apply(args=[ticket["audio_id"]], task_id="another-task")
    assert AudioFile.objects.get(pk=ticket["audio_id"]).status == AudioStatus.EMBEDDING  # held by a live worker
    process_audio.apply(args=[ticket["audio_id"]], task_id="task-1")
    audio = AudioFile.objects.get(pk=ticket["audio_id"])
    assert (audio.status, audio.attempts) == (AudioStatus.READY, 2)


@override_settings(RELAY_MAX_AUDIO_DURATION_S=2)
def test_too_long_file_fails(api, dataset):
    audio = uploaded_and_processed(api, dataset, af.wav(3.0))
    assert audio.status == AudioStatus.FAILED and "longer than the limit" in audio.error_message
