import uuid

from django.db import models
from django.db.models import Q

from datasets.models import AudioFile
from relay import uploads, work
from relay.jobs import Job, JobStatus, job_lifecycle
from training.models import Model


@work.register
class InferenceJob(Job):
    """Runs a model over files. It has no task of its own: it is `processing` while any of
    its files is queued or running and `completed` once every file has finished. Counters
    are updated with database arithmetic by the workers (F() expressions), never
    read-modify-write."""

    lifecycle = job_lifecycle(
        "inference_job",
        resource="inference",
        event_fields=("model_id", "total_files", "processed_files", "failed_files", "total_detections"),
    )

    model = models.ForeignKey(Model, on_delete=models.SET_NULL, null=True, related_name="inference_jobs")
    config = models.JSONField(default=dict)
    # When set, the job waits for this many files before it can complete, so that a client
    # adding files one by one is not overtaken by a job that finished the first ones.
    expected_files = models.PositiveIntegerField(null=True, blank=True)
    total_files = models.PositiveIntegerField(default=0)
    processed_files = models.PositiveIntegerField(default=0)
    failed_files = models.PositiveIntegerField(default=0)
    total_detections = models.PositiveIntegerField(default=0)

    class Meta(Job.Meta):
        indexes = [models.Index(fields=["tenant", "status", "-created_at"])]

    def __str__(self):
        return f"inference {self.id}"

    @property
    def storage_prefix(self):
        return f"tenants/{self.tenant_id}/inference/{self.id}/"


class FileStatus(models.TextChoices):
    PENDING = "pending"
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


@work.register
class InferenceFile(uploads.UploadedFile):
    """One file of an inference job: an upload, or a dataset's audio (`audio_file`, whose
    stored original `storage_key` points at). The API calls `filename` `original_filename`
    and `storage_key` `s3_key`."""

    lifecycle = work.Lifecycle(
        kind="inference_file",
        queued=(FileStatus.QUEUED,),
        running=(FileStatus.PROCESSING,),
        final=(FileStatus.COMPLETED, FileStatus.FAILED),
        claim_to=FileStatus.PROCESSING,
        finished_at="processed_at",
        task="inference.process_file",
        queue="inference",
        time_limit_setting="RELAY_INFERENCE_TIME_LIMIT_S",
        claim_filter=Q(job__status=JobStatus.PROCESSING),
        tenant_path="job__tenant_id",
        resource="inference",
        parent="job_id",
        event_fields=(
            "status",
            "inference_job_id=job_id",
            "original_filename=filename",
            "detection_count",
            "error_message",
        ),
    )

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey(InferenceJob, on_delete=models.CASCADE, related_name="files")
    status = models.CharField(max_length=16, choices=FileStatus.choices, default=FileStatus.PENDING, db_index=True)
    audio_file = models.ForeignKey(AudioFile, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    duration_ms = models.BigIntegerField(null=True, blank=True)
    sample_rate = models.PositiveIntegerField(null=True, blank=True)
    detection_count = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["job", "status"])]

    @property
    def object_prefix(self):
        """This file's own objects (an upload's original, its plot); never a dataset's audio."""
        return f"{self.job.storage_prefix}files/{self.id}/"


class Detection(models.Model):
    id = models.BigAutoField(primary_key=True)
    file = models.ForeignKey(InferenceFile, on_delete=models.CASCADE, related_name="detections")
    artifact_type = models.CharField(max_length=100)
    start_ms = models.BigIntegerField()
    end_ms = models.BigIntegerField()
    confidence = models.FloatField()

    class Meta:
        ordering = ["file_id", "start_ms", "id"]
        indexes = [models.Index(fields=["file", "start_ms"]), models.Index(fields=["file", "artifact_type"])]

    def __str__(self):
        return f"{self.artifact_type} {self.start_ms}-{self.end_ms} ms"
