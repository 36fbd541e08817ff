"""Inference jobs: creation, adding files (uploads or dataset audio), confirm, cancel, finish.

A job is `pending` until its first file is queued, `processing` while any file is queued
or processing, and `completed` when every file has finished (failed files are counted,
not fatal). The job's row lock orders confirms, cancels and the finish check, so a file
is never queued into a job that has just finished.
"""

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from rest_framework.exceptions import ErrorDetail

from datasets.models import AudioFile, AudioStatus
from detector.audio import SUFFIXES
from inference.models import FileStatus, InferenceFile, InferenceJob
from relay import storage
from relay.api.exceptions import Conflict, RequestValidationError
from relay.jobs import ACTIVE, FINISHED, JobStatus, transition
from relay.queueing import enqueue_on_commit

logger = logging.getLogger(__name__)

OPEN_FILES = (FileStatus.PENDING, FileStatus.QUEUED, FileStatus.PROCESSING)


def _invalid(field, message, code):
    return RequestValidationError({field: [ErrorDetail(message, code=code)]})


def _lock_open_job(job) -> InferenceJob:
    locked = InferenceJob.objects.select_for_update().get(pk=job.pk)
    if locked.status in FINISHED:
        raise Conflict(f"Inference job is {locked.status}: it takes no more files")
    return locked


def _queue(job, files):
    """Queue files (inside the job's lock) and move a pending job to processing."""
    from inference.tasks import process_inference_file

    now = timezone.now()
    InferenceFile.objects.filter(pk__in=[f.pk for f in files]).update(
        status=FileStatus.QUEUED, confirmed_at=now, updated_at=now
    )
    transition(InferenceJob, job.pk, from_statuses=[JobStatus.PENDING], to_status=JobStatus.PROCESSING)
    for inference_file in files:
        enqueue_on_commit(process_inference_file, str(inference_file.pk))


def create_job(*, tenant, model, config, audio_files=(), client_reference="", expected_files=None) -> InferenceJob:
    if expected_files is not None and expected_files < len(audio_files):
        raise _invalid(
            "expected_files",
            f"expected_files ({expected_files}) is less than the {len(audio_files)} audio_file_ids",
            "value_error.number.not_ge",
        )
    with transaction.atomic():
        job = InferenceJob.objects.create(
            tenant=tenant,
            model=model,
            config=config,
            expected_files=expected_files,
            client_reference=client_reference,
            status=JobStatus.PENDING,
        )
        if audio_files:
            files = [
                InferenceFile(
                    job=job,
                    original_filename=audio.filename,
                    content_type=audio.content_type,
                    file_size=audio.file_size,
                    s3_key=audio.storage_key,
                    audio_file=audio,
                )
                for audio in audio_files
            ]
            InferenceFile.objects.bulk_create(files)
            InferenceJob.objects.filter(pk=job.pk).update(total_files=len(files))
            _queue(job, files)
    job.refresh_from_db()
    logger.info("inference job created job=%s model=%s files=%d", job.pk, model.pk, job.total_files)
    return job


def dataset_audio(*, tenant, audio_file_ids):
    """The caller's ready audio files with these ids, in order (422 naming any other)."""
    found = {a.pk: a for a in AudioFile.objects.filter(pk__in=audio_file_ids, dataset__tenant=tenant)}
    for index, audio_id in enumerate(audio_file_ids):
        audio = found.get(audio_id)
        if audio is None:
            raise RequestValidationError(
                {"audio_file_ids": {index: [ErrorDetail("audio file not found", code="value_error.not_found")]}}
            )
        if audio.processing_status != AudioStatus.READY:
            raise RequestValidationError(
                {
                    "audio_file_ids": {
                        index: [
                            ErrorDetail(
                                f"audio file is {audio.processing_status}, not ready", code="value_error.not_ready"
                            )
                        ]
                    }
                }
            )
    return [found[audio_id] for audio_id in audio_file_ids]


def add_upload(*, job, filename, content_type, file_size, expires_in):
    file_id = uuid.uuid4()
    key = f"{job.storage_prefix}files/{file_id}/original{SUFFIXES[content_type]}"
    url, fields = storage.presigned_post(key, content_type=content_type, size=file_size, expires_in=expires_in)
    with transaction.atomic():
        locked = _lock_open_job(job)
        if locked.expected_files is not None and locked.total_files >= locked.expected_files:
            raise Conflict(f"The job expects {locked.expected_files} file(s) and has them all")
        inference_file = InferenceFile.objects.create(
            id=file_id,
            job=locked,
            original_filename=filename,
            content_type=content_type,
            file_size=file_size,
            s3_key=key,
            upload_expires_at=timezone.now() + timedelta(seconds=expires_in),
        )
        InferenceJob.objects.filter(pk=job.pk).update(total_files=F("total_files") + 1, updated_at=timezone.now())
    return inference_file, url, fields


def confirm_upload(*, job, inference_file) -> InferenceFile:
    """HEAD-check the object, then queue the file. Confirming again returns it as it is;
    confirming into a finished or cancelled job is a 409."""
    job.refresh_from_db(fields=["status"])
    if job.status in FINISHED:
        raise Conflict(f"Inference job is {job.status}: it takes no more files")
    if inference_file.status != FileStatus.PENDING:
        return inference_file
    try:
        problem = storage.upload_problem(
            inference_file.s3_key,
            size=inference_file.file_size,
            content_type=inference_file.content_type,
            size_field="file_size_bytes",
        )
    except storage.ObjectMissing:
        raise Conflict("No uploaded object yet: POST the file to upload_url first") from None
    if problem:
        from datasets.tasks import delete_storage_prefix
        from inference.runner import fail_file

        fail_file(inference_file.pk, problem, from_statuses=[FileStatus.PENDING])
        enqueue_on_commit(delete_storage_prefix, inference_file.s3_key.rsplit("/", 1)[0] + "/")
        raise _invalid("file_id", problem, "value_error.upload_mismatch")
    with transaction.atomic():
        _lock_open_job(job)
        current = InferenceFile.objects.select_for_update().get(pk=inference_file.pk)
        if current.status == FileStatus.PENDING:
            _queue(job, [current])
    inference_file.refresh_from_db()
    logger.info("inference file confirmed file=%s job=%s", inference_file.pk, job.pk)
    return inference_file


def cancel_job(*, job) -> InferenceJob:
    with transaction.atomic():
        locked = InferenceJob.objects.select_for_update().get(pk=job.pk)
        if locked.status not in ACTIVE:
            raise Conflict(f"Inference job is {locked.status} and cannot be cancelled")
        transition(InferenceJob, job.pk, from_statuses=ACTIVE, to_status=JobStatus.CANCELLED)
        # Files not started stop here; a file being processed finishes but changes nothing.
        InferenceFile.objects.filter(job=job, status__in=[FileStatus.PENDING, FileStatus.QUEUED]).update(
            status=FileStatus.FAILED,
            error_message="the job was cancelled before this file started",
            updated_at=timezone.now(),
        )
    logger.info("inference job cancelled job=%s", job.pk)
    job.refresh_from_db()
    return job


def finish_if_done(job_id) -> bool:
    """Complete the job once no file is open. Called after each file and by the reaper."""
    with transaction.atomic():
        job = InferenceJob.objects.select_for_update().get(pk=job_id)
        if job.status != JobStatus.PROCESSING or job.files.filter(status__in=OPEN_FILES).exists():
            return False
        if job.expected_files is not None and job.total_files < job.expected_files:
            return False  # more files are coming
        done = transition(
            InferenceJob, job_id, from_statuses=[JobStatus.PROCESSING], to_status=JobStatus.COMPLETED, progress=1.0
        )
    if done:
        logger.info("inference job completed job=%s", job_id)
    return done


def expire_uploads(now=None, limit=500):
    """Beat: a file never confirmed before its URL expired is failed (or confirmed if its
    object arrived after all), so that its job can finish."""
    now = now or timezone.now()
    counts = {"confirmed": 0, "failed": 0}
    expired = InferenceFile.objects.filter(status=FileStatus.PENDING, upload_expires_at__lt=now).select_related("job")
    for inference_file in expired[:limit]:
        try:
            found = storage.head(inference_file.s3_key)
        except storage.ObjectMissing:
            found = None
        if found and found["size"] == inference_file.file_size and inference_file.job.status in ACTIVE:
            try:
                confirm_upload(job=inference_file.job, inference_file=inference_file)
                counts["confirmed"] += 1
                continue
            except Conflict:
                pass
        updated = InferenceFile.objects.filter(pk=inference_file.pk, status=FileStatus.PENDING).update(
            status=FileStatus.FAILED, error_message="nothing was uploaded before the upload URL expired", updated_at=now
        )
        if updated:
            InferenceJob.objects.filter(pk=inference_file.job_id).update(failed_files=F("failed_files") + 1)
            counts["failed"] += 1
            # A pending job whose every file expired has nothing left to wait for.
            transition(
                InferenceJob, inference_file.job_id, from_statuses=[JobStatus.PENDING], to_status=JobStatus.PROCESSING
            )
            finish_if_done(inference_file.job_id)
    if any(counts.values()):
        logger.info("expired inference uploads: %s", counts)
    return counts


def requeue_stuck(now=None, limit=500):
    """Beat: re-send files whose task was lost; finish jobs whose last file finished without
    the job noticing (a worker killed between the two)."""
    from inference.tasks import process_inference_file

    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.RELAY_STUCK_AFTER_S)
    lost = InferenceFile.objects.filter(
        status=FileStatus.QUEUED, updated_at__lt=now - timedelta(seconds=300)
    ) | InferenceFile.objects.filter(status=FileStatus.PROCESSING, updated_at__lt=stale)
    sent = 0
    for inference_file in lost.filter(job__status=JobStatus.PROCESSING)[:limit]:
        if inference_file.attempts >= settings.RELAY_MAX_PROCESSING_ATTEMPTS:
            from inference.runner import fail_file

            fail_file(
                inference_file.pk,
                f"processing did not finish after {inference_file.attempts} attempts",
                from_statuses=[FileStatus.QUEUED, FileStatus.PROCESSING],
            )
            continue
        InferenceFile.objects.filter(pk=inference_file.pk).update(status=FileStatus.QUEUED, updated_at=now)
        process_inference_file.delay(str(inference_file.pk))
        sent += 1
    for job_id in InferenceJob.objects.filter(status=JobStatus.PROCESSING, updated_at__lt=stale).values_list(
        "pk", flat=True
    )[:limit]:
        finish_if_done(job_id)
    return sent
