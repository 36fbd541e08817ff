from celery import shared_task


@shared_task(name="relay.purge_idempotency_records")
def purge_idempotency_records():
    from relay import idempotency

    return idempotency.purge_expired()
