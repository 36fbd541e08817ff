"""What training and inference jobs share: status fields and forward-only transitions.

pending (created, waiting for input) -> queued (handed to the broker) -> processing ->
completed | failed | cancelled. Every change is a conditional UPDATE (`... WHERE status IN
(<allowed>)`), so a stale worker can never overwrite a cancelled or finished job.
`status`, `progress`, `stage`, `error_message` and the results are separate fields.
"""

import uuid

from django.db import models
from django.utils import timezone

from relay.models import Tenant


class JobStatus(models.TextChoices):
    PENDING = "pending"
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE = (JobStatus.PENDING, JobStatus.QUEUED, JobStatus.PROCESSING)
FINISHED = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


class Job(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING, db_index=True)
    progress = models.FloatField(default=0.0)
    stage = models.CharField(max_length=32, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    client_reference = models.CharField(max_length=200, blank=True, default="", db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Written by the worker while it runs (progress, cancel checks): a job whose heartbeat
    # stops is handed to another worker by the reaper.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    @property
    def is_finished(self):
        return self.status in FINISHED


def transition(model, pk, /, *, from_statuses, to_status, **fields) -> bool:
    """Move job `pk` to `to_status` only if it is in one of `from_statuses`. True if it moved."""
    now = timezone.now()
    if to_status in FINISHED:
        fields.setdefault("completed_at", now)
    if to_status == JobStatus.PROCESSING:
        fields.setdefault("started_at", now)
        fields.setdefault("heartbeat_at", now)
    return bool(
        model.objects.filter(pk=pk, status__in=list(from_statuses)).update(status=to_status, updated_at=now, **fields)
    )


def update_running(model, pk, /, **fields) -> bool:
    """Progress and stage updates of a running job; False once it is no longer processing
    (cancelled, failed by the reaper): the worker should stop."""
    now = timezone.now()
    return bool(
        model.objects.filter(pk=pk, status=JobStatus.PROCESSING).update(updated_at=now, heartbeat_at=now, **fields)
    )


def cancel_each(jobs, cancel) -> int:
    """Apply a cancel service to each unfinished job (the admin's bulk action); how many stopped."""
    from relay.api.exceptions import Conflict

    cancelled = 0
    for job in jobs.filter(status__in=ACTIVE):
        try:
            cancel(job=job)
            cancelled += 1
        except Conflict:  # it finished meanwhile
            pass
    return cancelled
