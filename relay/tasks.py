"""The core's tasks: the periodic ones of beat (they walk every registered kind of work)
and removing stored objects."""

import logging

from celery import shared_task

from relay import counts, events, services, storage, uploads, webhooks, work

logger = logging.getLogger(__name__)


@shared_task(name="relay.requeue_stuck_work")
def requeue_stuck_work():
    return work.requeue_stuck()


@shared_task(name="relay.expire_uploads")
def expire_uploads():
    return uploads.expire_uploads()


@shared_task(name="relay.purge_idempotency_records")
def purge_idempotency_records():
    return services.purge_expired_idempotency_records()


@shared_task(name="relay.roll_up_job_counts")
def roll_up_job_counts():
    return counts.roll_up()


@shared_task(name="relay.prune_events")
def prune_events():
    return events.prune()


@shared_task(name="relay.fan_out_webhooks")
def fan_out_webhooks(tenant_id):
    return webhooks.fan_out(tenant_id)


@shared_task(name="relay.deliver_webhook")
def deliver_webhook(delivery_id):
    return webhooks.deliver(delivery_id)


@shared_task(name="relay.sweep_webhooks")
def sweep_webhooks():
    return webhooks.sweep()


@shared_task(name="relay.delete_storage_prefix", bind=True)
def delete_storage_prefix(task, prefix):
    """Remove every stored object under a prefix (a deleted dataset, audio file or model;
    idempotent). Storage being down is retried like any work's outage."""
    try:
        deleted = storage.delete_prefix(prefix)
    except Exception as error:
        work.retry_after_outage(task, error)
    logger.info("deleted %d objects under %s", deleted, prefix)
    return deleted
