import logging

from django.db import transaction

from datasets.models import AudioFile, AudioStatus
from relay import storage
from relay.api.exceptions import Conflict
from relay.queueing import enqueue_on_commit

logger = logging.getLogger(__name__)

STATUS_MESSAGES = {
    AudioStatus.PENDING: "Waiting for the upload",
    AudioStatus.NORMALIZING: "Upload verified; decoding is queued or running",
    AudioStatus.EMBEDDING: "Decoded; computing features",
    AudioStatus.READY: "Ready",
}


def status_message(audio):
    if audio.processing_status == AudioStatus.FAILED:
        return f"Failed: {audio.error_message}"
    return STATUS_MESSAGES[audio.processing_status]


def delete_audio(*, audio):
    """Delete the file and, once that commits, its objects. 409 while a published
    annotation set refers to it: published ground truth never changes."""
    from annotations.selectors import published_sets_using_audio
    from datasets.tasks import delete_storage_prefix

    with transaction.atomic():
        locked = AudioFile.objects.select_for_update().filter(pk=audio.pk).first()
        if locked is None:
            return
        versions = published_sets_using_audio(audio=locked)
        if versions:
            raise Conflict(
                f"Audio file is annotated in published annotation set version(s) {', '.join(map(str, versions))} "
                "and cannot be deleted"
            )
        if locked.multipart_upload_id:
            storage.abort_multipart(locked.storage_key, upload_id=locked.multipart_upload_id)
        locked.delete()
        enqueue_on_commit(delete_storage_prefix, audio.object_prefix)
    logger.info("audio deleted audio=%s", audio.pk)


def reprocess(queryset):
    """Operator action: run processing again for confirmed files (e.g. after a decoder fix)."""
    from datasets.tasks import process_audio

    count = 0
    for audio in queryset.filter(confirmed_at__isnull=False):
        with transaction.atomic():
            updated = AudioFile.objects.filter(pk=audio.pk, confirmed_at__isnull=False).update(
                processing_status=AudioStatus.NORMALIZING,
                error_message="",
                processing_attempts=0,
                processing_started_at=None,
            )
            if updated:
                enqueue_on_commit(process_audio, str(audio.pk))
                count += 1
    logger.info("reprocessing %d audio files", count)
    return count
