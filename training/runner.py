"""The worker side of a training job: preparing -> features -> training -> evaluating -> saving.

Reads the pinned published annotation set, loads each file's cached features (computing
them from the canonical audio when the cache is missing), trains the detector of
detector, stores the artifact in S3 and creates the Model, all guarded by conditional
updates: a job cancelled meanwhile stops at the next check and never becomes completed.
"""

import logging
import tempfile
import time
import uuid
from pathlib import Path

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from annotations.models import Annotation
from datasets.processing import load_features, save_features
from relay import storage
from relay.compute import configure_torch
from relay.jobs import JobStatus, transition, update_running
from training.models import Model, TrainingJob, TrainingStage
from training.services import training_files

logger = logging.getLogger(__name__)

# The share of the progress bar each stage spans.
STAGE_SPAN = {
    TrainingStage.PREPARING: (0.0, 0.05),
    TrainingStage.FEATURES: (0.05, 0.15),
    TrainingStage.TRAINING: (0.15, 0.90),
    TrainingStage.EVALUATING: (0.90, 0.95),
    TrainingStage.SAVING: (0.95, 1.0),
}


class JobStopped(Exception):
    """The job was cancelled or failed by someone else while it ran."""


class Progress:
    """Stage and progress updates; each also says whether the job is still ours to run."""

    def __init__(self, job_id):
        self.job_id = job_id
        self.last_check = 0.0

    def stage(self, stage, fraction=0.0):
        begin, end = STAGE_SPAN[stage]
        value = begin + (end - begin) * min(max(fraction, 0.0), 1.0)
        if not update_running(TrainingJob, self.job_id, stage=stage, progress=round(value, 4)):
            raise JobStopped()

    def should_cancel(self):
        """Checked between batches; asks the database at most once a second."""
        now = time.monotonic()
        if now - self.last_check < 1.0:
            return False
        self.last_check = now
        return not update_running(TrainingJob, self.job_id)


def run(job_id):
    if not transition(
        TrainingJob,
        job_id,
        from_statuses=[JobStatus.QUEUED],
        to_status=JobStatus.PROCESSING,
        stage=TrainingStage.PREPARING,
        attempts=F("attempts") + 1,
    ):
        logger.info("training job %s is not queued (cancelled, or another worker has it)", job_id)
        return
    progress = Progress(job_id)
    try:
        _run(TrainingJob.objects.select_related("annotation_set", "dataset").get(pk=job_id), progress)
    except JobStopped:
        logger.info("training job %s stopped: it was cancelled or failed meanwhile", job_id)


def fail(job_id, message):
    if transition(
        TrainingJob,
        job_id,
        from_statuses=[JobStatus.QUEUED, JobStatus.PROCESSING],
        to_status=JobStatus.FAILED,
        error_message=message[:2000],
    ):
        logger.warning("training job %s failed: %s", job_id, message)


def _run(job, progress):
    from detector.features import FeatureConfig, FeatureExtractor
    from detector.train import TrainConfig, TrainFile, TrainingCancelled, train_detector

    if job.annotation_set is None or job.dataset is None:
        return fail(job.pk, "the annotation set or dataset was deleted")
    type_names = job.config["artifact_types"]
    type_index = {name: i for i, name in enumerate(type_names)}
    files = list(training_files(job.annotation_set).order_by("id"))
    events = {audio.pk: [] for audio in files}
    for audio_id, type_name, start, end in Annotation.objects.filter(
        annotation_set=job.annotation_set, artifact_type__name__in=type_names
    ).values_list("audio_file_id", "artifact_type__name", "start_ms", "end_ms"):
        events[audio_id].append((type_index[type_name], start, end))

    progress.stage(TrainingStage.FEATURES)
    logger.info("training job %s: %d files, types %s", job.pk, len(files), ",".join(type_names))
    feature_config = FeatureConfig()
    train_files = []
    try:
        for index, audio in enumerate(files):
            train_files.append(
                TrainFile(
                    key=str(audio.pk),
                    features=_features(audio, feature_config, FeatureExtractor),
                    events=events[audio.pk],
                    source_sample_rate=audio.sample_rate or 16000,
                )
            )
            progress.stage(TrainingStage.FEATURES, (index + 1) / len(files))
    except MissingAudio as error:
        return fail(job.pk, str(error))

    progress.stage(TrainingStage.TRAINING)
    configure_torch()
    config = TrainConfig(
        **{
            k: job.config[k]
            for k in ("epochs", "learning_rate", "batch_size", "chunk_size_ms", "stride_ms", "validation_split", "seed")
        }
    )

    def on_epoch(epoch, epochs, info):
        progress.stage(TrainingStage.TRAINING, epoch / epochs)
        logger.info(
            "training job %s: epoch %d/%d, train loss %.4f, validation loss %.4f, validation macro F1 %.3f "
            "(best epoch %d, %.0f s)",
            job.pk,
            epoch,
            epochs,
            info["train_loss"],
            info["validation_loss"],
            info["validation_macro_f1"],
            info["best_epoch"],
            info["elapsed_s"],
        )

    try:
        result = train_detector(
            train_files,
            type_names,
            config,
            on_epoch=on_epoch,
            should_cancel=progress.should_cancel,
            feature_config=feature_config,
        )
    except TrainingCancelled:
        raise JobStopped() from None
    except ValueError as error:  # the data cannot train a model (e.g. too few files per split)
        return fail(job.pk, str(error))

    progress.stage(TrainingStage.EVALUATING)
    metrics = {
        **result.metrics,
        "validation_files": len(result.validation_keys),
        "validation_file_ids": list(result.validation_keys),
        "training_files": len(result.train_keys),
        "best_epoch": result.best_epoch,
        "epochs_run": result.epochs_run,
        "stopped_early": result.stopped_early,
        "training_seconds": round(result.seconds, 1),
    }
    progress.stage(TrainingStage.SAVING)
    _save(job, result, metrics)


class MissingAudio(Exception):
    pass


def _features(audio, feature_config, extractor_class):
    key = audio.features_key(feature_config.cache_key)
    try:
        return load_features(key)
    except storage.ObjectMissing:
        logger.info("no feature cache for audio %s (%s): computing it", audio.pk, feature_config.cache_key)
    with tempfile.TemporaryDirectory(prefix="relay-train-") as tmp:
        canonical = Path(tmp) / "canonical.flac"
        try:
            storage.download(audio.canonical_key, canonical)
        except storage.ObjectMissing:
            raise MissingAudio(f"the decoded audio of {audio.filename} ({audio.pk}) is no longer in storage") from None
        features = extractor_class(feature_config).from_file(canonical)
    save_features(key, features)
    return features


def describe(detector):
    """What the model's `config` shows of its artifact: features and calibrated decoding."""
    decoding = detector.decoding
    return {
        "feature_config": detector.feature_config.to_dict(),
        "decoding": {
            name: {
                "threshold": decoding.thresholds[i],
                "merge_window_ms": decoding.merge_window_ms[i],
                "min_duration_ms": decoding.min_duration_ms[i],
            }
            for i, name in enumerate(detector.type_names)
        },
    }


def _save(job, result, metrics):
    model_id = uuid.uuid4()
    key = f"tenants/{job.tenant_id}/models/{model_id}/model.relay"
    artifact = result.detector.to_bytes()
    storage.put_bytes(key, artifact, content_type="application/octet-stream")
    with transaction.atomic():
        model = Model.objects.create(
            id=model_id,
            tenant_id=job.tenant_id,
            name=job.name or f"{job.dataset.name} v{job.annotation_set_version}",
            training_job=job,
            dataset=job.dataset,
            annotation_set=job.annotation_set,
            annotation_set_version=job.annotation_set_version,
            artifact_types=job.config["artifact_types"],
            config={
                "training": job.config,
                **describe(result.detector),
                "colors": {
                    t.name: t.color for t in job.dataset.artifact_types.all() if t.name in job.config["artifact_types"]
                },
            },
            metrics=metrics,
            storage_key=key,
            size_bytes=len(artifact),
        )
        finished = transition(
            TrainingJob,
            job.pk,
            from_statuses=[JobStatus.PROCESSING],
            to_status=JobStatus.COMPLETED,
            progress=1.0,
            model=model,
            metrics=metrics,
            completed_at=timezone.now(),
        )
        if not finished:  # cancelled while saving: no model after all
            transaction.set_rollback(True)
    if not finished:
        storage.delete(key)
        raise JobStopped()
    logger.info("training job %s completed: model %s, macro F1 %.3f", job.pk, model_id, metrics.get("macro_f1", 0))
