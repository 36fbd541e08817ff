import uuid

from django.db import models
from django.db.models.functions import Lower

from relay import uploads, work
from relay.models import Tenant


class Dataset(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="datasets")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"])]

    def __str__(self):
        return self.name

    @property
    def storage_prefix(self):
        return f"tenants/{self.tenant_id}/datasets/{self.id}/"


class ArtifactType(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="artifact_types")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="")
    color = models.CharField(max_length=7, default="#FF0000")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "dataset", name="artifact_type_name_unique_in_dataset"),
        ]

    def __str__(self):
        return self.name


class AudioStatus(models.TextChoices):
    PENDING = "pending"
    NORMALIZING = "normalizing"
    EMBEDDING = "embedding"
    READY = "ready"
    FAILED = "failed"


@work.register
class AudioFile(uploads.UploadedFile):
    """A recording in a dataset. Its bytes live in S3 under `storage_key`; the worker adds
    a canonical mono copy and the feature cache beside it.

    pending --confirm--> normalizing (queued, then decoding) --> embedding (features) --> ready;
    any step can end in failed, with `error_message` saying why. The API calls `status`
    `processing_status`."""

    lifecycle = work.Lifecycle(
        kind="audio_file",
        queued=(AudioStatus.NORMALIZING,),
        running=(AudioStatus.NORMALIZING, AudioStatus.EMBEDDING),
        final=(AudioStatus.READY, AudioStatus.FAILED),
        claim_to=AudioStatus.NORMALIZING,
        finished_at="processed_at",
        task="datasets.process_audio",
        batch_task="datasets.process_audio_batch",
        queue="audio",
        time_limit_setting="RELAY_AUDIO_TIME_LIMIT_S",
        tenant_path="dataset__tenant_id",
        resource="datasets",
        parent="dataset_id",
        event_fields=("status", "dataset_id", "filename", "duration_ms", "error_message"),
    )

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="audio_files")
    status = models.CharField(max_length=16, choices=AudioStatus.choices, default=AudioStatus.PENDING, db_index=True)
    file_size = models.BigIntegerField()
    storage_key = models.CharField(max_length=1024, unique=True)
    upload_expires_at = models.DateTimeField()
    duration_ms = models.BigIntegerField(null=True, blank=True)
    sample_rate = models.PositiveIntegerField(null=True, blank=True)
    channels = models.PositiveSmallIntegerField(null=True, blank=True)
    # Multipart uploads only: the S3 upload id until it is completed or aborted.
    multipart_upload_id = models.CharField(max_length=1024, blank=True, default="")
    multipart_part_size = models.BigIntegerField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["dataset", "status"])]

    @property
    def canonical_key(self):
        return self.object_prefix + "canonical.flac"

    def features_key(self, cache_key):
        return self.object_prefix + f"features-{cache_key}.npy"
