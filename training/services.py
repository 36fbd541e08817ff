"""Training jobs and models: the checks of api.md before a job starts, cancel, models."""

import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Sum
from rest_framework.exceptions import ErrorDetail

from annotations.models import Annotation, SetStatus
from datasets.models import AudioFile, AudioStatus
from datasets.tasks import delete_storage_prefix
from relay.api.exceptions import Conflict, RequestValidationError
from relay.jobs import ACTIVE, JobStatus, transition
from relay.queueing import enqueue_on_commit
from training.models import Model, TrainingJob

logger = logging.getLogger(__name__)


def _invalid(loc, message, code):
    """A 422 at ["body", *loc]."""
    detail = [ErrorDetail(message, code=code)]
    for key in reversed(loc):
        detail = {key: detail}
    return RequestValidationError(detail)


def training_files(annotation_set):
    """The audio files a set annotates: the training corpus."""
    return AudioFile.objects.filter(
        pk__in=Annotation.objects.filter(annotation_set=annotation_set).values("audio_file_id")
    )


def create_training_job(*, tenant, dataset, annotation_set, config, name="", client_reference="") -> TrainingJob:
    types = {t.name.lower(): t.name for t in dataset.artifact_types.all()}
    wanted = []
    for index, type_name in enumerate(config["artifact_types"]):
        if type_name.lower() not in types:
            raise _invalid(
                ["config", "artifact_types", index],
                f"'{type_name}' is not an artifact type of this dataset ({', '.join(sorted(types.values()))})",
                "value_error.artifact_type",
            )
        if types[type_name.lower()] in wanted:
            raise _invalid(
                ["config", "artifact_types", index], f"'{type_name}' is listed twice", "value_error.duplicate"
            )
        wanted.append(types[type_name.lower()])
    config = {**config, "artifact_types": wanted}

    if annotation_set.status != SetStatus.PUBLISHED:
        raise Conflict(f"Annotation set version {annotation_set.version} is a draft: publish it before training")
    files = training_files(annotation_set)
    not_ready = files.exclude(processing_status=AudioStatus.READY)
    if not_ready.exists():
        examples = ", ".join(f"{a.filename} ({a.processing_status})" for a in not_ready[:5])
        raise Conflict(f"{not_ready.count()} audio file(s) of the set are not ready: {examples}")
    summary = files.aggregate(total=Sum("duration_ms"), count=Count("id"))
    total_ms, file_count = summary["total"] or 0, summary["count"]
    if total_ms < settings.RELAY_MIN_TRAINING_AUDIO_MS:
        raise _invalid(
            ["annotation_set_id"],
            f"training needs at least {settings.RELAY_MIN_TRAINING_AUDIO_MS / 60000:g} minutes of audio; "
            f"the set's {file_count} file(s) hold {total_ms / 60000:.1f}",
            "value_error.too_little_audio",
        )
    if file_count < 2:
        raise _invalid(
            ["annotation_set_id"],
            "training needs at least 2 annotated audio files (validation is split by file)",
            "value_error.too_few_files",
        )
    counts = dict(
        Annotation.objects.filter(annotation_set=annotation_set, artifact_type__name__in=wanted)
        .values_list("artifact_type__name")
        .annotate(n=Count("id"))
    )
    for index, type_name in enumerate(wanted):
        if not counts.get(type_name):
            raise _invalid(
                ["config", "artifact_types", index],
                f"the annotation set has no '{type_name}' annotation to learn from",
                "value_error.no_examples",
            )

    from training.tasks import run_training_job

    with transaction.atomic():
        job = TrainingJob.objects.create(
            tenant=tenant,
            dataset=dataset,
            annotation_set=annotation_set,
            annotation_set_version=annotation_set.version,
            name=name,
            config=config,
            client_reference=client_reference,
            status=JobStatus.QUEUED,
        )
        enqueue_on_commit(run_training_job, str(job.pk))
    logger.info(
        "training job created job=%s set=%s v%d types=%s",
        job.pk,
        annotation_set.pk,
        annotation_set.version,
        ",".join(wanted),
    )
    return job


def cancel_training_job(*, job) -> TrainingJob:
    if not transition(TrainingJob, job.pk, from_statuses=ACTIVE, to_status=JobStatus.CANCELLED):
        job.refresh_from_db()
        raise Conflict(f"Training job is {job.status} and cannot be cancelled")
    logger.info("training job cancelled job=%s", job.pk)
    job.refresh_from_db()
    return job


def rename_model(*, model, name) -> Model:
    model.name = name
    model.save(update_fields=["name", "updated_at"])
    return model


def delete_model(*, model) -> None:
    from inference.models import InferenceJob

    with transaction.atomic():
        active = InferenceJob.objects.filter(model=model, status__in=ACTIVE).count()
        if active:
            raise Conflict(f"Model is used by {active} inference job(s) that have not finished")
        model.delete()
        enqueue_on_commit(delete_storage_prefix, model.storage_key.rsplit("/", 1)[0] + "/")
    logger.info("model deleted model=%s", model.pk)
