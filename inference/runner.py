"""The worker side of an inference file: decode, features in chunks, the model, events.

One task per file. The model is loaded once per worker process and kept (training.runner);
detections are stored as rows, and the job's counters move by database arithmetic so
that parallel workers never lose an update.
"""

import logging
import tempfile
import time

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from datasets.runner import decoded, detected_type, load_features
from inference.models import FileStatus, InferenceJob
from inference.services import files_done_share, finish_if_done
from relay import storage, work
from relay.compute import configure_torch
from relay.work import WorkFailed
from training.runner import load_detector

logger = logging.getLogger(__name__)

_INSERT_DETECTIONS = """
INSERT INTO inference_detection (file_id, artifact_type, start_ms, end_ms, confidence)
SELECT %s, artifact_type, start_ms, end_ms, confidence
FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::float8[]) AS rows (artifact_type, start_ms, end_ms, confidence)
"""


def process(inference_file, run):
    """Run the job's model over one file and store its detections."""
    job = InferenceJob.objects.select_related("model").get(pk=inference_file.job_id)
    if job.model is None:
        raise WorkFailed("the model was deleted")
    configure_torch()
    detector = load_detector(job.model)
    features, duration_ms, sample_rate, real_type = file_features(inference_file, detector)
    started = time.perf_counter()
    # None: the per-type values calibrated on the model's training and validation files.
    detections = detector.detect(
        features,
        threshold=job.config.get("threshold"),
        merge_window_ms=job.config.get("merge_window_ms"),
        min_duration_ms=job.config.get("min_duration_ms"),
    )
    detected = time.perf_counter()
    store(inference_file, detections, duration_ms, sample_rate, run, **real_type)
    logger.info(
        "inference file %s: model and events %.2f s, storing %d detections %.2f s",
        inference_file.pk,
        detected - started,
        len(detections),
        time.perf_counter() - detected,
    )
    finish_if_done(job.pk)


def file_features(inference_file, detector):
    """(features, duration_ms, sample_rate, {"content_type": detected} or {}): the dataset's
    cache when it matches, else the file decoded."""
    audio = inference_file.audio_file
    if audio is not None:
        try:
            features = load_features(audio.features_key(detector.feature_config.cache_key))
            return features, audio.duration_ms, audio.sample_rate, {}
        except storage.ObjectMissing:
            pass
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="relay-infer-") as tmp:
        features, info = decoded(inference_file, tmp, detector.feature_config)
    logger.info(
        "inference file %s: %.0f s of audio; download, decode and features (overlapped) %.2f s",
        inference_file.pk,
        info.duration_ms / 1000,
        time.perf_counter() - started,
    )
    return features, info.duration_ms, info.sample_rate, detected_type(inference_file, info)


def store(inference_file, detections, duration_ms, sample_rate, run, **fields):
    """Complete the file with its detections and count them on the job, all or nothing."""
    with transaction.atomic():
        run.finish(
            FileStatus.COMPLETED,
            detection_count=len(detections),
            duration_ms=duration_ms,
            sample_rate=sample_rate,
            processed_at=timezone.now(),
            **fields,
        )
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
            progress=files_done_share(extra_processed=1),
            updated_at=timezone.now(),
        )
        work.report_progress(InferenceJob, inference_file.job_id, {})
