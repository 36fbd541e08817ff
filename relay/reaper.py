"""Beat: jobs whose task was lost (broker down when they were queued, worker killed mid-run)
are sent again; a job that keeps losing its worker is failed."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from relay.jobs import JobStatus, transition

logger = logging.getLogger(__name__)

QUEUED_UNSTARTED_AFTER_S = 300


def requeue_stuck(model, task, now=None, limit=200):
    now = now or timezone.now()
    never_started = Q(status=JobStatus.QUEUED, updated_at__lt=now - timedelta(seconds=QUEUED_UNSTARTED_AFTER_S))
    silent = Q(status=JobStatus.PROCESSING, heartbeat_at__lt=now - timedelta(seconds=settings.RELAY_STUCK_AFTER_S))
    sent = failed = 0
    for job in model.objects.filter(never_started | silent)[:limit]:
        if job.status == JobStatus.PROCESSING:
            if job.attempts >= settings.RELAY_MAX_PROCESSING_ATTEMPTS:
                failed += transition(
                    model,
                    job.pk,
                    from_statuses=[JobStatus.PROCESSING],
                    to_status=JobStatus.FAILED,
                    error_message=f"the worker running this job stopped answering, {job.attempts} times",
                )
                continue
            if not transition(model, job.pk, from_statuses=[JobStatus.PROCESSING], to_status=JobStatus.QUEUED):
                continue
        else:
            model.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(updated_at=now)
        task.delay(str(job.pk))
        sent += 1
    if sent or failed:
        logger.warning("%s: re-enqueued %d, failed %d stuck jobs", model.__name__, sent, failed)
    return {"requeued": sent, "failed": failed}
