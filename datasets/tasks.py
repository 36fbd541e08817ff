import logging

from celery import shared_task

from relay import storage

logger = logging.getLogger(__name__)


@shared_task(name="datasets.delete_storage_prefix", autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def delete_storage_prefix(prefix):
    """Remove every stored object of a deleted dataset (idempotent)."""
    deleted = storage.delete_prefix(prefix)
    logger.info("deleted %d objects under %s", deleted, prefix)
    return deleted
