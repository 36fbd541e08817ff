"""Training jobs and models: the checks before a job starts, cancel, models."""

import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Sum

from annotations.models import Annotation, SetStatus
from datasets.models import AudioFile, AudioStatus
from relay import work
from relay.errors import Conflict, InvalidInput, problem
from relay.jobs import ACTIVE, JobStatus
from training.models import Evaluation, Model, TrainingJob
from training.selectors import training_files

logger = logging.getLogger(__name__)


def _requested_types(dataset, requested):
    """The dataset's spelling of each requested type name; InvalidInput for unknown or repeated ones."""
    types = {t.name.lower(): t.name for t in dataset.artifact_types.all()}
    wanted = []
    for index, type_name in enumerate(requested):
        loc = ["body", "config", "artifact_types", index]
        if type_name.lower() not in types:
            known = ", ".join(sorted(types.values()))
            raise InvalidInput.at(
                loc, f"'{type_name}' is not an artifact type of this dataset ({known})", "value_error.artifact_type"
            )
        if types[type_name.lower()] in wanted:
            raise InvalidInput.at(loc, f"'{type_name}' is listed twice", "value_error.duplicate")
        wanted.append(types[type_name.lower()])
    return wanted


def _check_trainable(annotation_set, wanted):
    """A published set whose files are ready, hold enough audio, and has each type."""
    if annotation_set.status != SetStatus.PUBLISHED:
        raise Conflict(f"Annotation set version {annotation_set.version} is a draft: publish it before training")
    files = training_files(annotation_set)
    not_ready = files.exclude(status=AudioStatus.READY)
    if not_ready.exists():
        examples = ", ".join(f"{a.filename} ({a.status})" for a in not_ready[:5])
        raise Conflict(f"{not_ready.count()} audio file(s) of the set are not ready: {examples}")
    summary = files.aggregate(total=Sum("duration_ms"), count=Count("id"))
    total_ms, file_count = summary["total"] or 0, summary["count"]
    if total_ms < settings.RELAY_MIN_TRAINING_AUDIO_MS:
        raise InvalidInput.at(
            ["body", "annotation_set_id"],
            f"training needs at least {settings.RELAY_MIN_TRAINING_AUDIO_MS / 60000:g} min of audio; "
            f"the set's {file_count} file(s) hold {total_ms / 60000:.1f} min of audio ({total_ms / 1000:g} s)",
            "value_error.too_little_audio",
        )
    if file_count < 2:
        raise InvalidInput.at(
            ["body", "annotation_set_id"],
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
            raise InvalidInput.at(
                ["body", "config", "artifact_types", index],
                f"the annotation set has no '{type_name}' annotation to learn from",
                "value_error.no_examples",
            )


def create_training_job(*, tenant, dataset, annotation_set, config, name="", client_reference="") -> TrainingJob:
    wanted = _requested_types(dataset, config["artifact_types"])
    _check_trainable(annotation_set, wanted)
    with transaction.atomic():
        job = TrainingJob.objects.create(
            tenant=tenant,
            dataset=dataset,
            annotation_set=annotation_set,
            annotation_set_version=annotation_set.version,
            name=name,
            config={**config, "artifact_types": wanted},
            client_reference=client_reference,
            status=JobStatus.QUEUED,
        )
        work.created(TrainingJob, [job.pk])
        work.enqueue(TrainingJob, job.pk)
    logger.info(
        "training job created job=%s set=%s v%d types=%s",
        job.pk,
        annotation_set.pk,
        annotation_set.version,
        ",".join(wanted),
    )
    return job


def cancel_training_job(*, job) -> TrainingJob:
    if not work.transition(TrainingJob, job.pk, from_=ACTIVE, to=JobStatus.CANCELLED):
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
    with transaction.atomic():
        active = model.inference_jobs.filter(status__in=ACTIVE).count()
        if active:
            raise Conflict(f"Model is used by {active} inference job(s) that have not finished")
        model.delete()
        work.delete_objects_on_commit(model.storage_prefix)
    logger.info("model deleted model=%s", model.pk)


def create_evaluation(*, tenant, model, annotation_set, audio_file_ids=None) -> Evaluation:
    """Score the model on files of a published set of its dataset: the files the set
    annotates, or those named (any ready file of the dataset; one the set does not annotate
    counts as holding no artifact)."""
    if model.dataset_id is None or annotation_set.dataset_id != model.dataset_id:
        raise InvalidInput.at(
            ["body", "annotation_set_id"],
            "the annotation set is not one of the model's dataset",
            "value_error.other_dataset",
        )
    if annotation_set.status != SetStatus.PUBLISHED:
        raise Conflict(f"Annotation set version {annotation_set.version} is a draft: publish it before evaluating")
    if audio_file_ids:
        found = {a.pk: a for a in AudioFile.objects.filter(dataset_id=model.dataset_id, pk__in=audio_file_ids)}
        missing = [i for i, audio_id in enumerate(audio_file_ids) if audio_id not in found]
        if missing:
            raise InvalidInput(
                [
                    problem(
                        ["body", "audio_file_ids", i],
                        "not an audio file of the model's dataset",
                        "value_error.not_found",
                    )
                    for i in missing
                ]
            )
        files = [found[audio_id] for audio_id in audio_file_ids]
    else:
        files = list(training_files(annotation_set).order_by("filename", "id"))
    if not files:
        raise InvalidInput.at(["body", "annotation_set_id"], "the set annotates no audio file", "value_error.empty")
    not_ready = [a for a in files if a.status != AudioStatus.READY]
    if not_ready:
        examples = ", ".join(f"{a.filename} ({a.status})" for a in not_ready[:5])
        raise Conflict(f"{len(not_ready)} audio file(s) to evaluate are not ready: {examples}")
    with transaction.atomic():
        evaluation = Evaluation.objects.create(
            tenant=tenant,
            model=model,
            annotation_set=annotation_set,
            annotation_set_version=annotation_set.version,
            audio_file_ids=[str(a.pk) for a in files],
            status=JobStatus.QUEUED,
        )
        work.created(Evaluation, [evaluation.pk])
        work.enqueue(Evaluation, evaluation.pk)
    logger.info("evaluation created evaluation=%s model=%s files=%d", evaluation.pk, model.pk, len(files))
    return evaluation
