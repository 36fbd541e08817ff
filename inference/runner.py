"""The worker side of an inference file: decode, features in chunks, the model, events.

One task per file. The model is loaded once per worker process and kept (a small LRU);
detections are stored as rows, and the job's counters move by database arithmetic so
that parallel workers never lose an update.
"""

import logging
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from datasets.processing import load_features
from inference.models import FileStatus, InferenceFile, InferenceJob
from inference.services import finish_if_done
from relay import storage
from relay.compute import configure_torch
from relay.jobs import JobStatus

logger = logging.getLogger(__name__)

MODEL_CACHE_SIZE = 4
_models: OrderedDict = OrderedDict()
_models_lock = threading.Lock()

_INSERT_DETECTIONS = """
INSERT INTO inference_detection (file_id, artifact_type, start_ms, end_ms, confidence)
SELECT %s, artifact_type, start_ms, end_ms, confidence
FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::float8[]) AS rows (artifact_type, start_ms, end_ms, confidence)
"""


def load_detector(model):
    """The model's Detector, loaded from S3 once per worker process."""
    from detector.artifact import Detector

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


def fail_file(file_id, message, from_statuses=(FileStatus.PROCESSING,)):
    with transaction.atomic():
        updated = InferenceFile.objects.filter(pk=file_id, status__in=list(from_statuses)).update(
            status=FileStatus.FAILED,
            error_message=message[:2000],
            processed_at=timezone.now(),
            updated_at=timezone.now(),
        )
        if updated:
            job_id = InferenceFile.objects.filter(pk=file_id).values_list("job_id", flat=True).get()
            InferenceJob.objects.filter(pk=job_id).update(failed_files=F("failed_files") + 1, updated_at=timezone.now())
    if updated:
        logger.warning("inference file %s failed: %s", file_id, message)
        finish_if_done(job_id)


def process(file_id):
    claimed = InferenceFile.objects.filter(
        pk=file_id, status=FileStatus.QUEUED, job__status=JobStatus.PROCESSING
    ).update(
        status=FileStatus.PROCESSING, started_at=timezone.now(), attempts=F("attempts") + 1, updated_at=timezone.now()
    )
    if not claimed:
        logger.info("inference file %s is not queued (done, cancelled or taken)", file_id)
        return
    inference_file = InferenceFile.objects.select_related("job", "job__model", "audio_file").get(pk=file_id)
    job = inference_file.job
    if job.model is None:
        return fail_file(file_id, "the model was deleted")
    configure_torch()
    detector = load_detector(job.model)
    features, duration_ms, sample_rate = _features(inference_file, detector)
    if features is None:
        return
    config = job.config
    # None: the per-type values calibrated on the model's validation split.
    started = time.perf_counter()
    detections = detector.detect(
        features,
        threshold=config.get("threshold"),
        merge_window_ms=config.get("merge_window_ms"),
        min_duration_ms=config.get("min_duration_ms"),
    )
    detected = time.perf_counter()
    _store(inference_file, detections, duration_ms, sample_rate)
    logger.info(
        "inference file %s: model and events %.2f s, storing %d detections %.2f s",
        file_id,
        detected - started,
        len(detections),
        time.perf_counter() - detected,
    )
    finish_if_done(job.pk)


def _features(inference_file, detector):
    """Features for the model: the dataset's cache when it matches, else decode the file."""
    from detector.audio import DecodeError, decode_to_canonical
    from detector.features import FeatureExtractor

    audio = inference_file.audio_file
    if audio is not None:
        try:
            features = load_features(audio.features_key(detector.feature_config.cache_key))
            return features, audio.duration_ms, audio.sample_rate
        except storage.ObjectMissing:
            pass
    with tempfile.TemporaryDirectory(prefix="relay-infer-") as tmp:
        original = Path(tmp) / "original"
        canonical = Path(tmp) / "canonical.flac"
        started = time.perf_counter()
        try:
            storage.download(inference_file.s3_key, original)
        except storage.ObjectMissing:
            fail_file(inference_file.pk, "the uploaded object is no longer in storage")
            return None, None, None
        downloaded = time.perf_counter()
        try:
            info = decode_to_canonical(
                original,
                canonical,
                content_type=inference_file.content_type,
                max_duration_s=settings.RELAY_MAX_AUDIO_DURATION_S,
            )
        except DecodeError as error:
            fail_file(inference_file.pk, str(error))
            return None, None, None
        decoded = time.perf_counter()
        # float16, as the dataset feature cache the model was trained on, and half the memory.
        features = FeatureExtractor(detector.feature_config).from_file(canonical, dtype=np.float16)
    logger.info(
        "inference file %s: %.0f s of audio; download %.2f s, decode %.2f s, features %.2f s",
        inference_file.pk,
        info.duration_ms / 1000,
        downloaded - started,
        decoded - downloaded,
        time.perf_counter() - decoded,
    )
    return features, info.duration_ms, info.sample_rate


def _store(inference_file, detections, duration_ms, sample_rate):
    with transaction.atomic():
        done = InferenceFile.objects.filter(pk=inference_file.pk, status=FileStatus.PROCESSING).update(
            status=FileStatus.COMPLETED,
            detection_count=len(detections),
            duration_ms=duration_ms,
            sample_rate=sample_rate,
            processed_at=timezone.now(),
            updated_at=timezone.now(),
        )
        if not done:
            return
        if detections:
            columns = list(
                zip(
                    *[(name, start, end, float(confidence)) for name, start, end, confidence in detections], strict=True
                )
            )
            with connection.cursor() as cursor:
                cursor.execute(_INSERT_DETECTIONS, [inference_file.pk, *[list(c) for c in columns]])
        InferenceJob.objects.filter(pk=inference_file.job_id).update(
            processed_files=F("processed_files") + 1,
            total_detections=F("total_detections") + len(detections),
            updated_at=timezone.now(),
        )
