import uuid

from django.db import models

from datasets.models import AudioFile
from relay.jobs import Job
from training.models import Model


class InferenceJob(Job):
    """Runs a model over files. Counters are updated with database arithmetic by the
    workers (F() expressions), never read-modify-write."""

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


class InferenceFile(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey(InferenceJob, on_delete=models.CASCADE, related_name="files")
    original_filename = models.CharField(max_length=500)
    content_type = models.CharField(max_length=100)
    file_size = models.BigIntegerField(null=True, blank=True)
    s3_key = models.CharField(max_length=1024)
    # Set when the file is a dataset's audio (audio_file_ids) rather than an upload.
    audio_file = models.ForeignKey(AudioFile, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    status = models.CharField(max_length=16, choices=FileStatus.choices, default=FileStatus.PENDING, db_index=True)
    error_message = models.TextField(blank=True, default="")
    duration_ms = models.BigIntegerField(null=True, blank=True)
    sample_rate = models.PositiveIntegerField(null=True, blank=True)
    detection_count = models.PositiveIntegerField(default=0)
    upload_expires_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["job", "status"])]

    def __str__(self):
        return self.original_filename

    @property
    def object_prefix(self):
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
