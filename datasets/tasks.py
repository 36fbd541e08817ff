import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from relay import storage

logger = logging.getLogger(__name__)

AUDIO_SOFT_LIMIT_S = 600


@shared_task(
    name="datasets.process_audio",
    soft_time_limit=AUDIO_SOFT_LIMIT_S,
    time_limit=AUDIO_SOFT_LIMIT_S + 60,
    autoretry_for=(storage.StorageUnavailable,),
    retry_backoff=5,
    max_retries=5,
)
def process_audio(audio_id):
    """Decode an uploaded file, store its canonical copy and features (idempotent)."""
    from datasets import processing

    try:
        processing.process(audio_id)
    except SoftTimeLimitExceeded:
        processing.fail(audio_id, f"processing took longer than {AUDIO_SOFT_LIMIT_S} s")
    except storage.StorageUnavailable:
        raise
    except Exception as error:
        logger.exception("processing audio %s failed", audio_id)
        processing.fail(
            audio_id,
            f"internal error while processing ({type(error).__name__}); the operators can see it in the worker log",
        )


@shared_task(name="datasets.expire_uploads")
def expire_uploads():
    from datasets import uploads

    return uploads.expire_uploads()


@shared_task(name="datasets.requeue_stuck_audio")
def requeue_stuck_audio():
    from datasets import uploads

    return uploads.requeue_stuck()


@shared_task(name="datasets.delete_storage_prefix", autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def delete_storage_prefix(prefix):
    """Remove every stored object under a prefix (a deleted dataset or audio file; idempotent)."""
    deleted = storage.delete_prefix(prefix)
    logger.info("deleted %d objects under %s", deleted, prefix)
    return deleted
