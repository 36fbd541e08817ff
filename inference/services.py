"""Inference jobs: creation, adding files (uploads or dataset audio), confirm, cancel, finish.

A job is `pending` until its first file is queued, `processing` while any file is queued
or processing, and `completed` when every file has finished (failed files are counted,
not fatal). The job's row lock orders confirms, cancels and the finish check, so a file
is never queued into a job that has just finished.
"""

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, FloatField
from django.db.models.functions import Cast, Greatest
from django.utils import timezone

from datasets.models import AudioStatus
from datasets.selectors import audio_by_id
from inference.models import FileStatus, InferenceFile, InferenceJob
from relay import uploads, work
from relay.errors import Conflict, InvalidInput, problem
from relay.jobs import ACTIVE, FINISHED, JobStatus

logger = logging.getLogger(__name__)

OPEN_FILES = (FileStatus.PENDING, FileStatus.QUEUED, FileStatus.PROCESSING)


def _lock_open_job(job_id) -> InferenceJob:
    locked = InferenceJob.objects.select_for_update().get(pk=job_id)
    if locked.status in FINISHED:
        raise Conflict(f"Inference job is {locked.status}: it takes no more files")
    return locked


def _queue(job, files):
    """Queue files (inside the job's lock) and move a pending job to processing."""
    pending = InferenceFile.objects.filter(pk__in=[f.pk for f in files], status=FileStatus.PENDING)
    for pk in work.transition_all(InferenceFile, pending, to=FileStatus.QUEUED, confirmed_at=timezone.now()):
        work.enqueue(InferenceFile, pk)
    work.transition(InferenceJob, job.pk, from_=[JobStatus.PENDING], to=JobStatus.PROCESSING)


def dataset_audio(*, tenant, audio_file_ids):
    """The caller's ready audio files with these ids, in order (InvalidInput naming any other)."""
    found = audio_by_id(tenant=tenant, audio_file_ids=audio_file_ids)
    problems = []
    for index, audio_id in enumerate(audio_file_ids):
        audio = found.get(audio_id)
        loc = ["body", "audio_file_ids", index]
        if audio is None:
            problems.append(problem(loc, "audio file not found", "value_error.not_found"))
        elif audio.status != AudioStatus.READY:
            problems.append(problem(loc, f"audio file is {audio.status}, not ready", "value_error.not_ready"))
    if problems:
        raise InvalidInput(problems)
    return [found[audio_id] for audio_id in audio_file_ids]


def create_job(*, tenant, model, config, audio_files=(), client_reference="", expected_files=None) -> InferenceJob:
    if expected_files is not None and expected_files < len(audio_files):
        raise InvalidInput.at(
            ["body", "expected_files"],
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
        work.created(InferenceJob, [job.pk])
        if audio_files:
            files = [
                InferenceFile(
                    job=job,
                    filename=audio.filename,
                    content_type=audio.content_type,
                    file_size=audio.file_size,
                    storage_key=audio.storage_key,
                    audio_file=audio,
                )
                for audio in audio_files
            ]
            InferenceFile.objects.bulk_create(files)
            work.created(InferenceFile, [f.pk for f in files])
            InferenceJob.objects.filter(pk=job.pk).update(total_files=len(files))
            _queue(job, files)
    job.refresh_from_db()
    logger.info("inference job created job=%s model=%s files=%d", job.pk, model.pk, job.total_files)
    return job


def add_upload(*, job, filename, content_type, file_size, expires_in):
    """A pending file of the job and the presigned POST that can fill it."""
    file_id = uuid.uuid4()
    inference_file = InferenceFile(
        id=file_id,
        job=job,
        filename=filename,
        content_type=content_type,
        file_size=file_size,
        storage_key=uploads.original_key(f"{job.storage_prefix}files/", file_id, content_type),
        upload_expires_at=uploads.expiry(expires_in),
    )
    url, fields = uploads.presign(inference_file, expires_in)
    with transaction.atomic():
        locked = _lock_open_job(job.pk)
        if locked.expected_files is not None and locked.total_files >= locked.expected_files:
            raise Conflict(f"The job expects {locked.expected_files} file(s) and has them all")
        inference_file.save(force_insert=True)
        work.created(InferenceFile, [inference_file.pk])
        InferenceJob.objects.filter(pk=job.pk).update(total_files=F("total_files") + 1, updated_at=timezone.now())
    return inference_file, url, fields


def confirm_upload(*, job, inference_file) -> InferenceFile:
    """Verify the object, then queue the file. Confirming again returns it as it is;
    confirming into a finished or cancelled job is a Conflict."""
    job.refresh_from_db(fields=["status"])
    if job.status in FINISHED:
        raise Conflict(f"Inference job is {job.status}: it takes no more files")
    return uploads.confirm(inference_file, loc=["body", "file_id"])


def queue_uploads(inference_files):
    """Verified uploads, queued under their jobs' locks (a Conflict if a job has finished)."""
    by_job = {}
    for inference_file in inference_files:
        by_job.setdefault(inference_file.job_id, []).append(inference_file)
    with transaction.atomic():
        for job_id, files in sorted(by_job.items()):
            _queue(_lock_open_job(job_id), files)


def files_done_share(extra_processed=0, extra_failed=0):
    """An UPDATE expression: the share of the job's files that have finished, counting the
    one this update finishes (the job's `progress`)."""
    done = F("processed_files") + extra_processed + F("failed_files") + extra_failed
    return Cast(done, FloatField()) / Cast(Greatest(F("total_files"), 1), FloatField())


def count_failed_file(file_id):
    """After a file failed (in the same transaction): count it and see whether its job is done."""
    job_id = InferenceFile.objects.filter(pk=file_id).values_list("job_id", flat=True).get()
    InferenceJob.objects.filter(pk=job_id).update(
        failed_files=F("failed_files") + 1, progress=files_done_share(extra_failed=1), updated_at=timezone.now()
    )
    # A pending job whose every file failed (e.g. all expired) has nothing left to wait for.
    work.transition(InferenceJob, job_id, from_=[JobStatus.PENDING], to=JobStatus.PROCESSING)
    finish_if_done(job_id)


def cancel_job(*, job) -> InferenceJob:
    with transaction.atomic():
        locked = InferenceJob.objects.select_for_update().get(pk=job.pk)
        if locked.status not in ACTIVE:
            raise Conflict(f"Inference job is {locked.status} and cannot be cancelled")
        work.transition(InferenceJob, job.pk, from_=ACTIVE, to=JobStatus.CANCELLED)
        # Files not started stop here; a file being processed finishes but changes nothing.
        work.transition_all(
            InferenceFile,
            InferenceFile.objects.filter(job=job, status__in=[FileStatus.PENDING, FileStatus.QUEUED]),
            to=FileStatus.FAILED,
            error_message="the job was cancelled before this file started",
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
        done = work.transition(InferenceJob, job_id, from_=[JobStatus.PROCESSING], to=JobStatus.COMPLETED, progress=1.0)
    if done:
        logger.info("inference job completed job=%s", job_id)
    return done


def finish_stalled_jobs(now, limit=500):
    """Reaper hook: complete jobs whose last file finished without the job noticing (a
    worker killed between the two)."""
    stale = now - timedelta(seconds=settings.RELAY_STUCK_AFTER_S)
    for job_id in InferenceJob.objects.filter(status=JobStatus.PROCESSING, updated_at__lt=stale).values_list(
        "pk", flat=True
    )[:limit]:
        finish_if_done(job_id)


@dataclass
class Retried:
    files: int = 0  # queued again
    jobs_reopened: int = 0  # completed jobs moved back to processing
    refused: list = field(default_factory=list)  # one reason per job or file left as it was


def retry_failed_files(files) -> Retried:
    """Operator action: queue failed files of `files` again (after what failed them was fixed).

    Under each job's row lock (the lock that orders confirms, cancels and the finish check):
    a file moves failed -> queued by a conditional update, its worker fields cleared, and
    the job's failed_files goes down by the files moved. A job that had completed is
    reopened (completed -> processing): the one move out of a final status, so that the
    job's counters and status keep adding up; it completes again once its files finish.
    Refused: files of cancelled or failed jobs, of jobs whose model was deleted, files
    never uploaded and dataset audio deleted since."""
    outcome = Retried()
    by_job = defaultdict(list)
    for file_id, job_id in files.filter(status=FileStatus.FAILED).values_list("pk", "job_id").order_by("job_id"):
        by_job[job_id].append(file_id)
    for job_id, file_ids in by_job.items():
        with transaction.atomic():
            job = InferenceJob.objects.select_for_update().filter(pk=job_id).first()
            refusal = _retry_refusal(job)
            if refusal:
                outcome.refused.append(f"inference job {job_id}: {refusal} ({len(file_ids)} file(s) left failed)")
                continue
            moved = 0
            for inference_file in InferenceFile.objects.filter(pk__in=file_ids, status=FileStatus.FAILED):
                refusal = _file_retry_refusal(inference_file, job)
                if refusal:
                    outcome.refused.append(f"{inference_file.filename} ({inference_file.pk}): {refusal}")
                elif work.requeue(InferenceFile, inference_file.pk, from_=[FileStatus.FAILED], processed_at=None):
                    moved += 1
            if not moved:
                continue
            # The counters cannot move meanwhile: workers update them under this lock too.
            finished = job.processed_files + job.failed_files - moved
            if job.status != JobStatus.PROCESSING:  # completed (or pending): open again
                work.transition(
                    InferenceJob,
                    job.pk,
                    from_=[job.status],
                    to=JobStatus.PROCESSING,
                    completed_at=None,
                    progress=round(finished / max(job.total_files, 1), 4),
                )
                outcome.jobs_reopened += job.status == JobStatus.COMPLETED
            InferenceJob.objects.filter(pk=job.pk).update(
                failed_files=F("failed_files") - moved, updated_at=timezone.now()
            )
            outcome.files += moved
    logger.info("retried %d failed inference files, reopened %d jobs", outcome.files, outcome.jobs_reopened)
    return outcome


def _retry_refusal(job):
    if job is None:
        return "deleted"
    if job.status in (JobStatus.CANCELLED, JobStatus.FAILED):
        return f"the job is {job.status}"
    if job.model_id is None:
        return "its model was deleted"
    return ""


def _file_retry_refusal(inference_file, job):
    if inference_file.confirmed_at is None:
        return "it was never uploaded"
    if inference_file.audio_file_id is None and not inference_file.storage_key.startswith(job.storage_prefix):
        return "its dataset audio was deleted"
    return ""
