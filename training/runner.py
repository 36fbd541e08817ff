"""The worker side of a training job: preparing -> features -> training -> evaluating -> saving.

Reads the pinned published annotation set, loads each file's cached features (computing
them from the canonical audio when the cache is missing), trains the detector of the
`detector` library, stores the artifact in S3 and creates the Model. Every progress
report is a conditional update through `relay.work`: a job cancelled meanwhile stops at
the next report and never becomes completed.
"""

import logging
import tempfile
import threading
import uuid
from collections import OrderedDict
from pathlib import Path

import numpy as np
from django.db import transaction

from datasets.runner import load_features, save_features
from detector.artifact import Detector
from detector.audio import read_canonical_blocks
from detector.augment import variant_features
from detector.features import FeatureConfig, extractor_for
from detector.metrics import EVALUATION, event_metrics
from detector.train import TrainConfig, TrainFile, TrainingCancelled, train_detector
from relay import storage
from relay.compute import configure_torch
from relay.jobs import JobStatus
from relay.work import WorkFailed, WorkStopped
from training.models import Model, TrainingStage
from training.selectors import evaluation_files, training_events, training_files

logger = logging.getLogger(__name__)

# The share of the progress bar each stage spans.
STAGE_SPAN = {
    TrainingStage.PREPARING: (0.0, 0.05),
    TrainingStage.FEATURES: (0.05, 0.15),
    TrainingStage.TRAINING: (0.15, 0.90),
    TrainingStage.EVALUATING: (0.90, 0.95),
    TrainingStage.SAVING: (0.95, 1.0),
}
MODEL_CACHE_SIZE = 4
_models: OrderedDict = OrderedDict()
_models_lock = threading.Lock()


def load_detector(model):
    """The model's Detector, loaded from S3 once per worker process (a small LRU)."""
    with _models_lock:
        if model.pk in _models:
            _models.move_to_end(model.pk)
            return _models[model.pk]
    detector = Detector.from_bytes(storage.get_bytes(model.storage_key))
    with _models_lock:
        _models[model.pk] = detector
        while len(_models) > MODEL_CACHE_SIZE:
            _models.popitem(last=False)
    logger.info("model %s loaded (%d bytes)", model.pk, model.size_bytes)
    return detector


CONFIG_KEYS = (
    "epochs",
    "learning_rate",
    "batch_size",
    "chunk_size_ms",
    "stride_ms",
    "validation_split",
    "seed",
    "start_from",
)


def report(run, stage, fraction=0.0, epoch=None, **fields):
    """Progress within `stage`, and a `training_job.progress` event (with the epoch's
    numbers during training) at most once a second."""
    begin, end = STAGE_SPAN[stage]
    progress = round(begin + (end - begin) * min(max(fraction, 0.0), 1.0), 4)
    run.progress(event=epoch or {}, stage=stage, progress=progress, **fields)


def run(job, run):
    """Train and save a model for `job` (see the module docstring)."""
    if job.annotation_set is None or job.dataset is None:
        raise WorkFailed("the annotation set or dataset was deleted")
    report(run, TrainingStage.PREPARING)
    type_names = job.config["artifact_types"]
    files = list(training_files(job.annotation_set).order_by("id"))
    logger.info("training job %s: %d files, types %s", job.pk, len(files), ",".join(type_names))
    train_files = load_training_files(
        files,
        training_events(job.annotation_set, type_names),
        run,
        copies=job.config.get("waveform_copies", 0),
        seed=job.config.get("seed", 0),
        type_names=type_names,
    )
    report(run, TrainingStage.TRAINING)
    result = train(job, train_files, type_names, run)
    report(run, TrainingStage.EVALUATING)
    metrics = {
        **result.metrics,
        "validation_files": len(result.validation_keys),
        "validation_file_ids": list(result.validation_keys),
        "training_files": len(result.train_keys),
        "training_file_ids": list(result.train_keys),
        "best_epoch": result.best_epoch,
        "epochs_run": result.epochs_run,
        "stopped_early": result.stopped_early,
        "training_seconds": round(result.seconds, 1),
        "augmented_copies": sum(len(f.variants) for f in train_files),
    }
    report(run, TrainingStage.SAVING)
    save(job, result, metrics, run)


def load_training_files(files, events, run, copies=0, seed=0, type_names=()):
    """The TrainFiles of `files`: cached features, and with `copies`, the features of that many
    augmented copies of each file's audio (detector.augment.variant_features)."""
    feature_config = FeatureConfig()
    report(run, TrainingStage.FEATURES)
    train_files = []
    for index, audio in enumerate(files):
        labels = events.get(audio.pk, [])
        train_files.append(
            TrainFile(
                key=str(audio.pk),
                features=cached_features(audio, feature_config),
                events=labels,
                source_sample_rate=audio.sample_rate or 16000,
                variants=augmented_features(audio, labels, type_names, copies, seed + index, feature_config),
            )
        )
        report(run, TrainingStage.FEATURES, (index + 1) / len(files))
    return train_files


def augmented_features(audio, labels, type_names, copies, seed, feature_config):
    """Features (float32) of `copies` augmented copies of the file's canonical audio; [] for none."""
    if not copies:
        return []
    with tempfile.TemporaryDirectory(prefix="relay-train-") as tmp:
        samples = np.concatenate(list(read_canonical_blocks(canonical_copy(audio, Path(tmp)))) or [np.zeros(0)])
    made = variant_features(samples, labels, type_names, copies, seed, feature_config)
    return [features.astype(np.float32) for features in made]


def canonical_copy(audio, folder):
    """The file's canonical FLAC, downloaded into `folder`; WorkFailed if it is gone."""
    canonical = folder / "canonical.flac"
    try:
        storage.download(audio.canonical_key, canonical)
    except storage.ObjectMissing:
        raise WorkFailed(f"the decoded audio of {audio.filename} ({audio.pk}) is no longer in storage") from None
    return canonical


def cached_features(audio, feature_config):
    """The file's features from the cache, or computed from its canonical audio (and cached)."""
    key = audio.features_key(feature_config.cache_key)
    try:
        return load_features(key)
    except storage.ObjectMissing:
        logger.info("no feature cache for audio %s (%s): computing it", audio.pk, feature_config.cache_key)
    with tempfile.TemporaryDirectory(prefix="relay-train-") as tmp:
        features = extractor_for(feature_config).from_file(canonical_copy(audio, Path(tmp)))
    save_features(key, features)
    return features


HISTORY_KEYS = ("epoch", "train_loss", "validation_loss", "validation_macro_f1", "learning_rate", "elapsed_s")


def train(job, train_files, type_names, run):
    configure_torch()
    config = TrainConfig(**{key: job.config[key] for key in CONFIG_KEYS if key in job.config})  # older jobs: defaults
    history = []

    def on_epoch(epoch, epochs, info):
        history.append({key: round(info[key], 6) if key != "epoch" else info[key] for key in HISTORY_KEYS})
        report(run, TrainingStage.TRAINING, epoch / epochs, epoch=history[-1], history=history)
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
        return train_detector(
            train_files,
            type_names,
            config,
            on_epoch=on_epoch,
            should_cancel=lambda: not run.still_ours(),
            feature_config=FeatureConfig(),
        )
    except TrainingCancelled:
        raise WorkStopped() from None
    except ValueError as error:  # the data cannot train a model (e.g. too few files per split)
        raise WorkFailed(str(error)) from None


def describe(detector):
    """What the model's `config` shows of its artifact: what training started from, features and calibrated decoding."""
    decoding = detector.decoding
    return {
        "started_from": detector.info.get("started_from", "scratch"),
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


def save(job, result, metrics, run):
    """Store the artifact, create the Model and complete the job, all or nothing."""
    model_id = uuid.uuid4()
    key = f"tenants/{job.tenant_id}/models/{model_id}/model.relay"
    artifact = result.detector.to_bytes()
    storage.put_bytes(key, artifact, content_type="application/octet-stream")
    types = job.config["artifact_types"]
    try:
        with transaction.atomic():
            model = Model.objects.create(
                id=model_id,
                tenant_id=job.tenant_id,
                name=job.name or f"{job.dataset.name} v{job.annotation_set_version}",
                training_job=job,
                dataset=job.dataset,
                annotation_set=job.annotation_set,
                annotation_set_version=job.annotation_set_version,
                artifact_types=types,
                config={
                    "training": job.config,
                    **describe(result.detector),
                    "colors": {t.name: t.color for t in job.dataset.artifact_types.all() if t.name in types},
                },
                metrics=metrics,
                storage_key=key,
                size_bytes=len(artifact),
            )
            run.finish(JobStatus.COMPLETED, progress=1.0, model=model, metrics=metrics)
    except WorkStopped:  # cancelled while saving: no model after all
        storage.delete(key)
        raise
    logger.info("training job %s completed: model %s, macro F1 %.3f", job.pk, model_id, metrics.get("macro_f1", 0))


COLLARS = {"onset_collar_ms": 200, "offset_collar_ms": 200, "offset_collar_rate": 0.2}


def evaluate(evaluation, run):
    """Detect with the model's calibrated decoding on each file, score against the set."""
    if evaluation.annotation_set is None:
        raise WorkFailed("the annotation set was deleted")
    detector = load_detector(evaluation.model)
    type_names = detector.type_names
    files = evaluation_files(evaluation)
    references = training_events(evaluation.annotation_set, type_names)
    detections = {}
    for index, audio in enumerate(files):
        found = detector.detect(cached_features(audio, detector.feature_config))
        detections[audio.pk] = [(type_names.index(name), start, end) for name, start, end, _ in found]
        run.progress(event={"files_done": index + 1}, progress=round(0.95 * (index + 1) / len(files), 4))
    metrics = evaluation_metrics(files, references, detections, type_names)
    trained_on = set(evaluation.model.metrics.get("training_file_ids", []))
    metrics["trained_on_files"] = sum(1 for audio in files if str(audio.pk) in trained_on)
    run.finish(JobStatus.COMPLETED, progress=1.0, metrics=metrics)
    logger.info("evaluation %s completed: macro F1 %s on %d files", evaluation.pk, metrics["macro_f1"], len(files))


def evaluation_metrics(files, references, detections, type_names):
    """Event metrics over all files (per type with tp/fp/fn, macro and micro), the collar
    rules, and the same per file."""
    refs = {audio.pk: references.get(audio.pk, []) for audio in files}
    metrics = event_metrics(refs, detections, type_names, **_collar_arguments())
    metrics["evaluation"] = EVALUATION
    metrics["collars"] = dict(COLLARS)
    metrics["files"] = []
    for audio in files:
        one = event_metrics({audio.pk: refs[audio.pk]}, {audio.pk: detections.get(audio.pk, [])}, type_names)
        totals = {key: sum(v[key] for v in one["per_type"].values()) for key in ("tp", "fp", "fn")}
        metrics["files"].append(
            {
                "audio_file_id": str(audio.pk),
                "filename": audio.filename,
                "duration_ms": audio.duration_ms,
                **totals,
                "macro_f1": one["macro_f1"],
                "per_type": {name: {k: v[k] for k in ("tp", "fp", "fn")} for name, v in one["per_type"].items()},
            }
        )
    return metrics


def _collar_arguments():
    return {
        "onset_collar_ms": COLLARS["onset_collar_ms"],
        "offset_collar_ms": COLLARS["offset_collar_ms"],
        "offset_collar_rate": COLLARS["offset_collar_rate"],
    }
