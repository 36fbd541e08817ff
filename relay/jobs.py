"""What training and inference jobs share: the fields and statuses of a job, on the work
lifecycle of `relay.work`.

pending (created, waiting for input) -> queued (handed to the broker) -> processing ->
completed | failed | cancelled. Only forward moves; a finished job never changes again
(one exception: an operator's retry of the failed files of a completed inference job reopens it).
`status`, `progress`, `stage`, `error_message` and the results are separate fields.
Job kinds register themselves with `relay.work.register`; `counts` reads them all.
"""

import uuid

from django.db import models

from relay import counts as job_counts
from relay import work
from relay.errors import Conflict
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


JOB_EVENT_FIELDS = ("status", "progress", "stage", "client_reference", "error_message")


def job_lifecycle(kind, **options):
    return work.Lifecycle(
        kind=kind,
        queued=(JobStatus.QUEUED,),
        running=(JobStatus.PROCESSING,),
        final=FINISHED,
        claim_to=JobStatus.PROCESSING,
        finished_at="completed_at",
        counted=True,
        event_fields=JOB_EVENT_FIELDS + tuple(options.pop("event_fields", ())),
        **options,
    )


class Job(work.WorkItem):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING, db_index=True)
    progress = models.FloatField(default=0.0)
    stage = models.CharField(max_length=32, blank=True, default="")
    client_reference = models.CharField(max_length=200, blank=True, default="", db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    progress_reported_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]


def job_kinds():
    """{"training": TrainingJob, "inference": InferenceJob, ...}: every registered job model."""
    return {name.removesuffix("_job"): model for name, model in work.KINDS.items() if issubclass(model, Job)}


def counts(*, tenant):
    """Per job kind: `queued` (pending or queued), `running`, `total` and every status
    (kept by relay.counts: a few rows read, whatever the number of jobs)."""
    body = {}
    stored = job_counts.of_tenant(tenant.pk)
    for kind, model in job_kinds().items():
        found = stored.get(model.lifecycle.kind, {})
        by_status = {status: found.get(status, 0) for status in JobStatus.values}
        body[kind] = {
            "queued": by_status["pending"] + by_status["queued"],
            "running": by_status["processing"],
            "total": sum(by_status.values()),
            "by_status": by_status,
        }
    return body


def cancel_each(jobs, cancel) -> int:
    """Apply a cancel service to each unfinished job (the admin's bulk action); how many stopped."""
    cancelled = 0
    for job in jobs.filter(status__in=ACTIVE):
        try:
            cancel(job=job)
            cancelled += 1
        except Conflict:  # it finished meanwhile
            pass
    return cancelled
