"""The worker side of an upload: decode, probe, canonical copy, feature cache.

normalizing: stream the original from S3, decode it, fill duration/sample rate/channels,
store the canonical mono 16 kHz FLAC; embedding: compute the frame features that
training reads and store them; then ready. Each step is a conditional update, so a
file deleted or failed meanwhile is left alone, and a second run redoes the same work.
"""

import io
import logging
import tempfile
from datetime import timedelta
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from datasets.models import AudioFile, AudioStatus
from detector.audio import SUFFIXES, DecodeError, decode_to_canonical
from relay import storage

logger = logging.getLogger(__name__)

IN_PROGRESS = (AudioStatus.NORMALIZING, AudioStatus.EMBEDDING)


def _claim(audio_id):
    """Take the file unless another worker holds a fresh claim on it."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.RELAY_STUCK_AFTER_S)
    return AudioFile.objects.filter(
        Q(processing_started_at__isnull=True) | Q(updated_at__lt=stale),
        pk=audio_id,
        processing_status__in=IN_PROGRESS,
    ).update(
        processing_status=AudioStatus.NORMALIZING,
        processing_started_at=now,
        processing_attempts=F("processing_attempts") + 1,
        updated_at=now,
    )


def _advance(audio, old, new, **fields):
    return AudioFile.objects.filter(pk=audio.pk, processing_status=old).update(
        processing_status=new, updated_at=timezone.now(), **fields
    )


def fail(audio_id, message):
    updated = AudioFile.objects.filter(pk=audio_id, processing_status__in=IN_PROGRESS).update(
        processing_status=AudioStatus.FAILED, error_message=message[:2000], updated_at=timezone.now()
    )
    if updated:
        logger.warning("audio failed audio=%s: %s", audio_id, message)


def save_features(key, features: np.ndarray):
    buffer = io.BytesIO()
    np.save(buffer, features.astype(np.float16, copy=False))
    storage.put_bytes(key, buffer.getvalue(), content_type="application/octet-stream")


def load_features(key) -> np.ndarray:
    return np.load(io.BytesIO(storage.get_bytes(key))).astype(np.float32)


def process(audio_id):
    if not _claim(audio_id):
        logger.info("audio %s is not waiting for processing (or another worker has it)", audio_id)
        return
    audio = AudioFile.objects.get(pk=audio_id)
    if audio.processing_attempts > settings.RELAY_MAX_PROCESSING_ATTEMPTS:
        fail(audio_id, f"processing did not finish after {settings.RELAY_MAX_PROCESSING_ATTEMPTS} attempts")
        return
    with tempfile.TemporaryDirectory(prefix="relay-audio-") as tmp:
        original = Path(tmp) / f"original{SUFFIXES.get(audio.content_type, '')}"
        canonical = Path(tmp) / "canonical.flac"
        try:
            storage.download(audio.storage_key, original)
        except storage.ObjectMissing:
            fail(audio_id, "the uploaded object is no longer in storage")
            return
        try:
            info = decode_to_canonical(
                original,
                canonical,
                content_type=audio.content_type,
                max_duration_s=settings.RELAY_MAX_AUDIO_DURATION_S,
            )
        except DecodeError as error:
            fail(audio_id, str(error))
            return
        storage.upload(canonical, audio.canonical_key, content_type="audio/flac")
        if not _advance(
            audio,
            AudioStatus.NORMALIZING,
            AudioStatus.EMBEDDING,
            duration_ms=info.duration_ms,
            sample_rate=info.sample_rate,
            channels=info.channels,
        ):
            return
        logger.info(
            "audio normalized audio=%s format=%s %d Hz x%d %d ms",
            audio_id,
            info.format,
            info.sample_rate,
            info.channels,
            info.duration_ms,
        )

        from detector.features import FeatureExtractor

        extractor = FeatureExtractor()
        features = extractor.from_file(canonical, dtype=np.float16)  # the cache's own type
        save_features(audio.features_key(extractor.config.cache_key), features)
    if _advance(audio, AudioStatus.EMBEDDING, AudioStatus.READY, processed_at=timezone.now()):
        logger.info("audio ready audio=%s", audio_id)
