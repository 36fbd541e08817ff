"""Enqueueing Celery tasks after the transaction that made their work commits."""

import logging

from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)


def enqueue_on_commit(task, *args):
    """Send `task(*args)` once the current transaction commits.

    The change that asked for the task is already durable then, so a broker outage must
    not turn the request into an error: the failure is logged and the periodic reapers
    (Celery beat) send the task again for whatever is still waiting.
    """

    def send():
        try:
            task.apply_async(args=args)
        except OperationalError as error:
            logger.error("could not enqueue %s%s (%s); a reaper will send it again", task.name, args, error)

    transaction.on_commit(send)
