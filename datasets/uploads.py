"""The upload state machine of audio files: presigned POST or multipart, confirm, expiry.

pending --confirm (object verified)--> normalizing --worker--> embedding --> ready
pending --URL expired, nothing uploaded--> failed
Any step can end in `failed` with `error_message` saying why.
"""

import logging
import math
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework.exceptions import ErrorDetail

from datasets.models import AudioFile, AudioStatus
from detector.audio import SUFFIXES
from relay import storage
from relay.api.exceptions import Conflict, RequestValidationError
from relay.queueing import enqueue_on_commit

logger = logging.getLogger(__name__)

MIN_PART_SIZE = 8 * 1024 * 1024
MAX_PART_SIZE = 64 * 1024 * 1024
MAX_PARTS = 10_000
# A confirmed file whose task has not started after this long is sent again.
NEVER_STARTED_AFTER_S = 300


def _body_error(field, message, code):
    return RequestValidationError({field: [ErrorDetail(message, code=code)]})


def _new_audio(*, dataset, filename, content_type, file_size, expires_in, **extra):
    audio_id = uuid.uuid4()
    return AudioFile(
        id=audio_id,
        dataset=dataset,
        filename=filename,
        content_type=content_type,
        file_size=file_size,
        storage_key=f"{dataset.storage_prefix}audio/{audio_id}/original{SUFFIXES[content_type]}",
        upload_expires_at=timezone.now() + timedelta(seconds=expires_in),
        **extra,
    )


def create_upload(*, dataset, filename, content_type, file_size, expires_in):
    """A pending AudioFile and the presigned POST that can fill it (and nothing else)."""
    audio = _new_audio(
        dataset=dataset, filename=filename, content_type=content_type, file_size=file_size, expires_in=expires_in
    )
    url, fields = storage.presigned_post(
        audio.storage_key, content_type=content_type, size=file_size, expires_in=expires_in
    )
    audio.save(force_insert=True)
    logger.info("upload url issued audio=%s size=%d type=%s", audio.id, file_size, content_type)
    return audio, url, fields


def create_multipart_upload(*, dataset, filename, content_type, file_size, part_size, expires_in):
    part_count = math.ceil(file_size / part_size)
    if part_count > MAX_PARTS:
        raise _body_error(
            "part_size", f"{part_count} parts; S3 allows at most {MAX_PARTS}", "value_error.too_many_parts"
        )
    audio = _new_audio(
        dataset=dataset,
        filename=filename,
        content_type=content_type,
        file_size=file_size,
        expires_in=expires_in,
        multipart_part_size=part_size,
    )
    upload_id = storage.create_multipart(audio.storage_key, content_type=content_type)
    try:
        audio.multipart_upload_id = upload_id
        audio.save(force_insert=True)
    except Exception:
        storage.abort_multipart(audio.storage_key, upload_id=upload_id)
        raise
    parts = [
        {
            "part_number": number,
            "url": storage.presigned_part(
                audio.storage_key, upload_id=upload_id, part_number=number, expires_in=expires_in
            ),
            "size": min(part_size, file_size - (number - 1) * part_size),
        }
        for number in range(1, part_count + 1)
    ]
    logger.info("multipart upload started audio=%s size=%d parts=%d", audio.id, file_size, part_count)
    return audio, upload_id, parts


def _pending_multipart(audio):
    if audio.processing_status != AudioStatus.PENDING or not audio.multipart_upload_id:
        raise Conflict(f"Audio file {audio.id} has no multipart upload in progress")


def complete_multipart_upload(*, audio, parts):
    _pending_multipart(audio)
    numbers = [part["part_number"] for part in parts]
    expected = math.ceil(audio.file_size / audio.multipart_part_size)
    if numbers != list(range(1, expected + 1)):
        raise _body_error("parts", f"expected parts 1 to {expected} in order, got {numbers[:20]}", "value_error.parts")
    try:
        storage.complete_multipart(audio.storage_key, upload_id=audio.multipart_upload_id, parts=parts)
    except storage.MultipartRejected as error:
        raise _body_error("parts", f"S3 refused the parts: {error}", "value_error.parts") from None
    AudioFile.objects.filter(pk=audio.pk).update(multipart_upload_id="", updated_at=timezone.now())
    audio.multipart_upload_id = ""
    _verify_uploaded_object(audio, field="audio_id")
    logger.info("multipart upload completed audio=%s", audio.id)
    return audio


def abort_multipart_upload(*, audio):
    _pending_multipart(audio)
    storage.abort_multipart(audio.storage_key, upload_id=audio.multipart_upload_id)
    _fail(audio, "upload aborted by the client", delete_objects=True)
    audio.refresh_from_db()
    return audio


def _fail(audio, message, *, delete_objects=False, from_statuses=(AudioStatus.PENDING,)):
    """Move to `failed` unless the file has moved on meanwhile; remove what was stored."""
    with transaction.atomic():
        updated = AudioFile.objects.filter(pk=audio.pk, processing_status__in=from_statuses).update(
            processing_status=AudioStatus.FAILED,
            error_message=message,
            multipart_upload_id="",
            updated_at=timezone.now(),
        )
        if updated and delete_objects:
            from datasets.tasks import delete_storage_prefix

            enqueue_on_commit(delete_storage_prefix, audio.object_prefix)
    if updated:
        logger.warning("audio failed audio=%s: %s", audio.id, message)
    return updated


def _verify_uploaded_object(audio, *, field):
    """The stored object must be there with the declared size and type (else 409 or 422)."""
    try:
        problem = storage.upload_problem(audio.storage_key, size=audio.file_size, content_type=audio.content_type)
    except storage.ObjectMissing:
        message = "no uploaded object yet: POST the file to upload_url (or complete the multipart upload) first"
        AudioFile.objects.filter(pk=audio.pk, processing_status=AudioStatus.PENDING).update(
            error_message=f"confirm: {message}", updated_at=timezone.now()
        )
        raise Conflict(f"Audio file {audio.id} has {message}") from None
    if problem:
        _fail(audio, problem, delete_objects=True)
        raise _body_error(field, problem, "value_error.upload_mismatch")


def confirm_upload(*, audio):
    """Verify the object and queue processing. Idempotent: a confirmed file is returned as it is."""
    if audio.processing_status != AudioStatus.PENDING:
        return audio
    if audio.multipart_upload_id:
        raise Conflict("Complete the multipart upload first (POST .../audio/multipart/complete)")
    _verify_uploaded_object(audio, field="audio_id")
    _start_processing(audio)
    audio.refresh_from_db()
    return audio


def _start_processing(audio):
    from datasets.tasks import process_audio

    with transaction.atomic():
        started = AudioFile.objects.filter(pk=audio.pk, processing_status=AudioStatus.PENDING).update(
            processing_status=AudioStatus.NORMALIZING,
            confirmed_at=timezone.now(),
            error_message="",
            updated_at=timezone.now(),
        )
        if started:
            enqueue_on_commit(process_audio, str(audio.pk))
    if started:
        logger.info("upload confirmed audio=%s", audio.pk)
    return started


def expire_uploads(now=None, limit=500):
    """Beat: a pending file whose URL has expired is confirmed if its object arrived after
    all (nothing is lost), and failed otherwise."""
    now = now or timezone.now()
    expired = AudioFile.objects.filter(processing_status=AudioStatus.PENDING, upload_expires_at__lt=now)
    counts = {"confirmed": 0, "failed": 0}
    for audio in expired.order_by("upload_expires_at")[:limit]:
        if audio.multipart_upload_id:
            storage.abort_multipart(audio.storage_key, upload_id=audio.multipart_upload_id)
            counts["failed"] += _fail(
                audio, "multipart upload not completed before its URLs expired", delete_objects=True
            )
            continue
        try:
            found = storage.head(audio.storage_key)
        except storage.ObjectMissing:
            counts["failed"] += _fail(audio, "nothing was uploaded before the upload URL expired")
            continue
        if found["size"] == audio.file_size:
            counts["confirmed"] += _start_processing(audio)
        else:
            counts["failed"] += _fail(audio, "the uploaded object does not have the declared size", delete_objects=True)
    if any(counts.values()):
        logger.info("expired uploads: %s", counts)
    return counts


def requeue_stuck(now=None, limit=500):
    """Beat: send processing again for files whose task was lost (broker down at confirm
    time, worker killed). Each file is sent again at most once per quiet period; the task
    counts attempts and gives up after RELAY_MAX_PROCESSING_ATTEMPTS."""
    from datasets.tasks import process_audio

    now = now or timezone.now()
    never_started = Q(
        processing_status=AudioStatus.NORMALIZING,
        processing_started_at__isnull=True,
        updated_at__lt=now - timedelta(seconds=NEVER_STARTED_AFTER_S),
    )
    silent = Q(
        processing_status__in=[AudioStatus.NORMALIZING, AudioStatus.EMBEDDING],
        updated_at__lt=now - timedelta(seconds=settings.RELAY_STUCK_AFTER_S),
    )
    ids = [str(pk) for pk in AudioFile.objects.filter(never_started | silent).values_list("pk", flat=True)[:limit]]
    AudioFile.objects.filter(pk__in=ids).update(updated_at=now)
    for audio_id in ids:
        process_audio.delay(audio_id)
    if ids:
        logger.warning("re-enqueued processing of %d audio files", len(ids))
    return len(ids)
