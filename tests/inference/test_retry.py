"""Operators retrying failed inference files (inference.services.retry_failed_files and
its admin actions): the service without a worker, then once through a real worker."""

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from inference import services
from inference.models import FileStatus, InferenceFile, InferenceJob
from relay.jobs import JobStatus
from tests.helpers import sent_tasks
from training.models import Model

pytestmark = pytest.mark.django_db


@pytest.fixture
def model(api):
    return Model.objects.create(
        tenant=api.tenant, name="m", annotation_set_version=1, artifact_types=["glitch"], storage_key="m/model.relay"
    )


def make_job(api, model, status, files):
    """A job with `files` [(status, confirmed)], its counters as the workers would have left them."""
    job = InferenceJob.objects.create(
        tenant=api.tenant,
        model=model,
        status=status,
        total_files=len(files),
        processed_files=sum(s == FileStatus.COMPLETED for s, _ in files),
        failed_files=sum(s == FileStatus.FAILED for s, _ in files),
        completed_at=timezone.now() if status == JobStatus.COMPLETED else None,
        progress=1.0 if status == JobStatus.COMPLETED else 0.0,
    )
    for index, (file_status, confirmed) in enumerate(files):
        InferenceFile.objects.create(
            job=job,
            filename=f"{index}.wav",
            content_type="audio/wav",
            file_size=10,
            storage_key=f"{job.storage_prefix}files/{index}/original.wav",
            confirmed_at=timezone.now() if confirmed else None,
            status=file_status,
            error_message="it failed" if file_status == FileStatus.FAILED else "",
            attempts=3 if file_status == FileStatus.FAILED else 1,
            started_at=timezone.now(),
            processed_at=timezone.now() if file_status in (FileStatus.COMPLETED, FileStatus.FAILED) else None,
            task_id="old-task",
        )
    return job


def test_a_completed_job_is_reopened_and_its_failed_file_queued(api, model, django_capture_on_commit_callbacks):
    job = make_job(api, model, JobStatus.COMPLETED, [(FileStatus.COMPLETED, True), (FileStatus.FAILED, True)])
    with django_capture_on_commit_callbacks(execute=False) as sent:
        outcome = services.retry_failed_files(InferenceFile.objects.filter(job=job))
    assert (outcome.files, outcome.jobs_reopened, outcome.refused) == (1, 1, [])
    assert len(sent_tasks(sent)) == 1  # the file's task, once the transaction commits
    job.refresh_from_db()
    assert (job.status, job.completed_at, job.progress) == (JobStatus.PROCESSING, None, 0.5)
    assert (job.total_files, job.processed_files, job.failed_files) == (2, 1, 0)
    retried = job.files.get(status=FileStatus.QUEUED)
    assert (retried.error_message, retried.attempts, retried.started_at, retried.task_id) == ("", 0, None, "")
    assert retried.processed_at is None and retried.confirmed_at is not None
    # The job is not finished while the file waits: the finish check (and its reaper) leave it open.
    assert services.finish_if_done(job.pk) is False
    # The file then fails again: counted once more, and the job completes again.
    from relay import work

    work.transition(InferenceFile, retried.pk, to=FileStatus.PROCESSING)
    assert work.fail(InferenceFile, retried.pk, "still broken")
    job.refresh_from_db()
    assert (job.status, job.failed_files, job.processed_files) == (JobStatus.COMPLETED, 1, 1)


def test_a_processing_job_stays_open(api, model, django_capture_on_commit_callbacks):
    job = make_job(
        api,
        model,
        JobStatus.PROCESSING,
        [(FileStatus.FAILED, True), (FileStatus.PROCESSING, True), (FileStatus.COMPLETED, True)],
    )
    with django_capture_on_commit_callbacks(execute=False) as sent:
        outcome = services.retry_failed_files(InferenceFile.objects.filter(job=job))
    assert (outcome.files, outcome.jobs_reopened, len(sent_tasks(sent))) == (1, 0, 1)
    job.refresh_from_db()
    assert (job.status, job.failed_files) == (JobStatus.PROCESSING, 0)
    # Retrying again finds nothing failed: nothing moves, nothing is counted twice.
    outcome = services.retry_failed_files(InferenceFile.objects.filter(job=job))
    job.refresh_from_db()
    assert (outcome.files, job.failed_files) == (0, 0)


def test_cancelled_jobs_are_refused(api, model, django_capture_on_commit_callbacks):
    job = make_job(api, model, JobStatus.CANCELLED, [(FileStatus.FAILED, True), (FileStatus.FAILED, False)])
    with django_capture_on_commit_callbacks(execute=False) as sent:
        outcome = services.retry_failed_files(InferenceFile.objects.filter(job=job))
    assert outcome.files == 0 and not sent_tasks(sent)
    assert len(outcome.refused) == 1 and "the job is cancelled (2 file(s) left failed)" in outcome.refused[0]
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and job.files.filter(status=FileStatus.FAILED).count() == 2


def test_files_that_cannot_work_again_are_refused(api, model):
    job = make_job(api, model, JobStatus.COMPLETED, [(FileStatus.FAILED, False), (FileStatus.FAILED, True)])
    gone = job.files.get(filename="1.wav")
    InferenceFile.objects.filter(pk=gone.pk).update(storage_key="tenants/x/datasets/y/audio/z/original.wav")
    outcome = services.retry_failed_files(InferenceFile.objects.filter(job=job))
    assert outcome.files == 0 and len(outcome.refused) == 2
    assert "never uploaded" in outcome.refused[0] and "dataset audio was deleted" in outcome.refused[1]
    job.refresh_from_db()
    assert (job.status, job.failed_files) == (JobStatus.COMPLETED, 2)  # left as it was

    other = make_job(api, model, JobStatus.COMPLETED, [(FileStatus.FAILED, True)])
    Model.objects.filter(pk=model.pk).delete()
    outcome = services.retry_failed_files(InferenceFile.objects.filter(job=other))
    assert outcome.files == 0 and "its model was deleted" in outcome.refused[0]


def test_admin_actions_retry_files_and_jobs(api, model, client, django_capture_on_commit_callbacks):
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw"))
    completed = make_job(api, model, JobStatus.COMPLETED, [(FileStatus.FAILED, True)])
    cancelled = make_job(api, model, JobStatus.CANCELLED, [(FileStatus.FAILED, True)])
    failed_ids = list(InferenceFile.objects.filter(status=FileStatus.FAILED).values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            "/admin/inference/inferencefile/",
            {"action": "retry", "_selected_action": failed_ids},
            follow=True,
            secure=True,
        )
    text = response.content.decode()
    assert "Queued 1 failed file(s) again; reopened 1 completed job(s)." in text
    assert f"Not retried: inference job {cancelled.pk}: the job is cancelled" in text
    assert InferenceJob.objects.get(pk=completed.pk).status == JobStatus.PROCESSING

    again = make_job(api, model, JobStatus.COMPLETED, [(FileStatus.FAILED, True), (FileStatus.FAILED, True)])
    with django_capture_on_commit_callbacks(execute=False) as sent:
        response = client.post(
            "/admin/inference/inferencejob/",
            {"action": "retry_failed_files", "_selected_action": [again.pk]},
            follow=True,
            secure=True,
        )
    assert "Queued 2 failed file(s) again" in response.content.decode() and len(sent_tasks(sent)) == 2
    again.refresh_from_db()
    assert (again.status, again.failed_files) == (JobStatus.PROCESSING, 0)


@pytest.mark.django_db(transaction=True)
def test_a_retried_file_is_processed_by_a_real_worker(api, client, celery_worker_process):
    """A file fails (not audio), the object is fixed, the operator retries from the admin:
    the worker processes it and the reopened job completes with the counters right."""
    import numpy as np

    from detector.artifact import DecodingConfig, Detector
    from detector.features import FeatureConfig
    from detector.model import FrameDetector
    from relay import storage
    from tests import audio_factory as af
    from tests.helpers import JsonClient, wait_until

    feature_config = FeatureConfig()
    network = FrameDetector(feature_config.n_channels, 1)
    network.set_normalisation(np.zeros(feature_config.n_channels), np.ones(feature_config.n_channels))
    artifact = Detector(network, ["glitch"], feature_config, DecodingConfig([0.5], [0.0], [0.0])).to_bytes()
    key = f"tenants/{api.tenant.pk}/models/retry/model.relay"
    storage.put_bytes(key, artifact, content_type="application/octet-stream")
    model = Model.objects.create(
        tenant=api.tenant, name="untrained", annotation_set_version=1, artifact_types=["glitch"], storage_key=key
    )
    json_client = JsonClient(api)
    job = json_client.post("/inference-jobs", {"model_id": str(model.pk), "expected_files": 1})
    corrupt = b"RIFF....WAVEfmt definitely not audio" * 20
    ticket = json_client.post(
        f"/inference-jobs/{job['id']}/files/upload-url",
        {"filename": "fixed-later.wav", "file_size_bytes": len(corrupt), "content_type": "audio/wav"},
    )
    json_client.upload(ticket["upload_url"], ticket["upload_fields"], corrupt)
    json_client.post(f"/inference-jobs/{job['id']}/files/confirm", {"file_id": ticket["file_id"]})

    def finished():
        body = json_client.get(f"/inference-jobs/{job['id']}")
        return body if body["status"] == "completed" else None

    body = wait_until(finished, timeout=120, interval=0.3, message="the job to complete with a failed file")
    assert (body["processed_files"], body["failed_files"]) == (0, 1)

    inference_file = InferenceFile.objects.get(pk=ticket["file_id"])
    storage.put_bytes(inference_file.storage_key, af.wav(duration_s=3.0), content_type="audio/wav")
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw"))
    response = client.post(
        "/admin/inference/inferencefile/",
        {"action": "retry", "_selected_action": [inference_file.pk]},
        follow=True,
        secure=True,
    )
    assert "Queued 1 failed file(s) again; reopened 1 completed job(s)." in response.content.decode()

    body = wait_until(finished, timeout=120, interval=0.3, message="the reopened job to complete again")
    assert (body["total_files"], body["processed_files"], body["failed_files"]) == (1, 1, 0)
    (file_body,) = body["files"]
    assert file_body["status"] == "completed" and file_body["error_message"] == ""
    assert file_body["duration_ms"] == 3000
    inference_file.refresh_from_db()
    assert inference_file.attempts == 1
