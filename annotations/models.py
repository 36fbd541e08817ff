import uuid

from django.db import models

from datasets.models import ArtifactType, AudioFile, Dataset


class SetStatus(models.TextChoices):
    DRAFT = "draft"
    PUBLISHED = "published"


class AnnotationSet(models.Model):
    """A version of a dataset's labels. Drafts change; a published set never does."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="annotation_sets")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=SetStatus.choices, default=SetStatus.DRAFT, db_index=True)
    name = models.CharField(max_length=200, blank=True, default="")
    from_version = models.PositiveIntegerField(null=True, blank=True)
    # Computed when published (and live for drafts in the API).
    total_annotations = models.PositiveIntegerField(default=0)
    total_positive_duration_ms = models.BigIntegerField(default=0)
    annotations_by_type = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["dataset", "version"], name="annotation_set_version_unique")]

    def __str__(self):
        return f"{self.dataset} v{self.version} ({self.status})"

    @property
    def is_published(self):
        return self.status == SetStatus.PUBLISHED


class Annotation(models.Model):
    """An artifact of one type in one audio file, from start_ms to end_ms."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    annotation_set = models.ForeignKey(AnnotationSet, on_delete=models.CASCADE, related_name="annotations")
    audio_file = models.ForeignKey(AudioFile, on_delete=models.CASCADE, related_name="annotations")
    # RESTRICT, not PROTECT: a type cannot be removed while annotated, but a dataset that is
    # deleted takes its types and annotations along.
    artifact_type = models.ForeignKey(ArtifactType, on_delete=models.RESTRICT, related_name="annotations")
    start_ms = models.BigIntegerField()
    end_ms = models.BigIntegerField()
    confidence = models.FloatField(default=1.0)
    extra_data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["audio_file_id", "start_ms", "end_ms", "id"]
        indexes = [
            models.Index(fields=["annotation_set", "audio_file", "start_ms"]),
            models.Index(fields=["annotation_set", "artifact_type"]),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(start_ms__gte=0), name="annotation_start_not_negative"),
            models.CheckConstraint(
                condition=models.Q(end_ms__gt=models.F("start_ms")), name="annotation_end_after_start"
            ),
            models.CheckConstraint(
                condition=models.Q(confidence__gte=0) & models.Q(confidence__lte=1), name="annotation_confidence_0_1"
            ),
        ]

    def __str__(self):
        return f"{self.artifact_type} {self.start_ms}-{self.end_ms} ms"
