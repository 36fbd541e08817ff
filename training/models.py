import uuid

from django.db import models

from annotations.models import AnnotationSet
from datasets.models import Dataset
from relay import work
from relay.jobs import Job, job_lifecycle
from relay.models import Tenant


class TrainingStage(models.TextChoices):
    PREPARING = "preparing"
    FEATURES = "features"
    TRAINING = "training"
    EVALUATING = "evaluating"
    SAVING = "saving"


@work.register
class TrainingJob(Job):
    """Trains a detector on one published annotation set (pinned by id and version)."""

    lifecycle = job_lifecycle(
        "training_job",
        resource="training",
        event_fields=("dataset_id", "model_id"),
        task="training.run_training_job",
        queue="training",
        time_limit_setting="RELAY_TRAINING_TIME_LIMIT_S",
    )

    dataset = models.ForeignKey(Dataset, on_delete=models.SET_NULL, null=True, related_name="training_jobs")
    annotation_set = models.ForeignKey(
        AnnotationSet, on_delete=models.SET_NULL, null=True, related_name="training_jobs"
    )
    annotation_set_version = models.PositiveIntegerField()
    name = models.CharField(max_length=200, blank=True, default="")
    config = models.JSONField(default=dict)
    metrics = models.JSONField(null=True, blank=True)
    # One entry per epoch run: epoch, train_loss, validation_loss, validation_macro_f1, ...
    history = models.JSONField(default=list, blank=True)
    model = models.ForeignKey("training.Model", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta(Job.Meta):
        indexes = [models.Index(fields=["tenant", "status", "-created_at"])]

    def __str__(self):
        return self.name or f"training {self.id}"


class Model(models.Model):
    """A trained detector. Its artifact (weights, feature and decoding config, types)
    lives in S3 under `storage_key`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="models")
    name = models.CharField(max_length=200)
    training_job = models.ForeignKey(TrainingJob, on_delete=models.SET_NULL, null=True, related_name="+")
    dataset = models.ForeignKey(Dataset, on_delete=models.SET_NULL, null=True, related_name="models")
    annotation_set = models.ForeignKey(AnnotationSet, on_delete=models.SET_NULL, null=True, related_name="models")
    annotation_set_version = models.PositiveIntegerField()
    artifact_types = models.JSONField(default=list)
    config = models.JSONField(default=dict)
    metrics = models.JSONField(default=dict)
    storage_key = models.CharField(max_length=1024)
    size_bytes = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"])]

    def __str__(self):
        return self.name

    @property
    def storage_prefix(self):
        return self.storage_key.rsplit("/", 1)[0] + "/"


@work.register
class Evaluation(Job):
    """A model's detections on files of a published annotation set, scored against it."""

    lifecycle = job_lifecycle(
        "evaluation",
        resource="training",
        parent="model_id",
        event_fields=("model_id",),
        task="training.run_evaluation",
        queue="inference",
        time_limit_setting="RELAY_EVALUATION_TIME_LIMIT_S",
    )

    model = models.ForeignKey(Model, on_delete=models.CASCADE, related_name="evaluations")
    annotation_set = models.ForeignKey(AnnotationSet, on_delete=models.SET_NULL, null=True, related_name="evaluations")
    annotation_set_version = models.PositiveIntegerField()
    audio_file_ids = models.JSONField(default=list, help_text="The files evaluated, in order.")
    metrics = models.JSONField(null=True, blank=True)

    class Meta(Job.Meta):
        indexes = [models.Index(fields=["model", "-created_at"])]

    def __str__(self):
        return f"evaluation {self.id}"
