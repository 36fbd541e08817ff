"""The worker side of an upload: decode, probe, canonical copy, feature cache.

normalizing: download the original, decode it, fill duration, sample rate and channels,
store the canonical mono 16 kHz FLAC; embedding: compute the frame features that
training reads and store them; then ready. Each step is a conditional update through
`relay.work`, so a file deleted or failed meanwhile is left alone, and a second run
redoes the same work.
"""

import io
import logging
import tempfile
from pathlib import Path

import numpy as np
from django.conf import settings
from django.utils import timezone

from datasets.models import AudioStatus
from detector.audio import DecodeError, decode_to_canonical, suffix_for
from detector.features import FeatureExtractor
from relay import storage
from relay.work import WorkFailed

logger = logging.getLogger(__name__)


def save_features(key, features: np.ndarray):
    buffer = io.BytesIO()
    np.save(buffer, features.astype(np.float16, copy=False))
    storage.put_bytes(key, buffer.getvalue(), content_type="application/octet-stream")


def load_features(key) -> np.ndarray:
    return np.load(io.BytesIO(storage.get_bytes(key))).astype(np.float32)


def download_original(item, folder) -> Path:
    """The uploaded object of `item` in `folder`; WorkFailed if it is gone."""
    path = Path(folder) / f"original{suffix_for(item.content_type)}"
    try:
        storage.download(item.storage_key, path)
    except storage.ObjectMissing:
        raise WorkFailed("the uploaded object is no longer in storage") from None
    return path


def decode(original, canonical, content_type):
    try:
        return decode_to_canonical(
            original, canonical, content_type=content_type, max_duration_s=settings.RELAY_MAX_AUDIO_DURATION_S
        )
    except DecodeError as error:
        raise WorkFailed(str(error)) from None


def detected_type(item, info):
    """`{"content_type": ...}` when the file turned out to be another format than declared
    (a FLAC uploaded as audio/wav is decoded as FLAC and recorded as such), else `{}`."""
    if info.content_type and info.content_type != item.content_type:
        logger.info("upload %s declared %s is %s", item.pk, item.content_type, info.content_type)
        return {"content_type": info.content_type}
    return {}


def process(audio, run):
    """Decode, store the canonical copy and the features, mark ready (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="relay-audio-") as tmp:
        original = download_original(audio, tmp)
        canonical = Path(tmp) / "canonical.flac"
        info = decode(original, canonical, audio.content_type)
        storage.upload(canonical, audio.canonical_key, content_type="audio/flac")
        run.advance(
            AudioStatus.NORMALIZING,
            AudioStatus.EMBEDDING,
            duration_ms=info.duration_ms,
            sample_rate=info.sample_rate,
            channels=info.channels,
            **detected_type(audio, info),
        )
        logger.info(
            "audio normalized audio=%s format=%s %d Hz x%d %d ms",
            audio.pk,
            info.format,
            info.sample_rate,
            info.channels,
            info.duration_ms,
        )
        extractor = FeatureExtractor()
        features = extractor.from_file(canonical, dtype=np.float16)  # the cache's own type
        save_features(audio.features_key(extractor.config.cache_key), features)
    run.finish(AudioStatus.READY, processed_at=timezone.now())
    logger.info("audio ready audio=%s", audio.pk)
