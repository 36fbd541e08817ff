"""The worker side of an upload: decode, probe, canonical copy, feature cache.

normalizing: download the original, decode it once into both the canonical mono 16 kHz
FLAC and the frame features that training reads, store both (at the same time), fill
duration, sample rate and channels; then embedding and ready in one step (the features are
stored by then). Each step is a conditional update through
`relay.work`, so a file deleted or failed meanwhile is left alone, and a second run
redoes the same work.
"""

import functools
import io
import logging
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

import numpy as np
from django.conf import settings
from django.utils import timezone

from datasets.models import AudioFile, AudioStatus
from detector import pipeline
from detector.audio import DecodeError
from detector.features import FeatureConfig
from relay import storage, work
from relay.work import WorkFailed, WorkStopped

logger = logging.getLogger(__name__)


@functools.cache
def _uploader(pid):
    """Threads of this process (not of the one it was forked from) that store objects."""
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="audio-upload")


def save_features(key, features: np.ndarray):
    buffer = io.BytesIO()
    np.save(buffer, features.astype(np.float16, copy=False))
    storage.put_bytes(key, buffer.getvalue(), content_type="application/octet-stream")


def load_features(key) -> np.ndarray:
    return np.load(io.BytesIO(storage.get_bytes(key))).astype(np.float32)


def decoded(item, folder, feature_config, canonical_path=None):
    """(features float16, AudioInfo) of an upload, decoded while it downloads into `folder`
    (and written as canonical FLAC to `canonical_path` in the same pass); WorkFailed if the
    object is gone or is not usable audio."""
    try:
        with storage.arriving(item.storage_key, folder) as original:
            return pipeline.file_features(
                original,
                feature_config,
                item.content_type,
                max_duration_s=settings.RELAY_MAX_AUDIO_DURATION_S,
                canonical_path=canonical_path,
            )
    except storage.ObjectMissing:
        raise WorkFailed("the uploaded object is no longer in storage") from None
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
    commit(audio, run, prepare(audio))


def prepare(audio):
    """The work on storage (no database): the canonical copy and the features come from one
    pass over the decoded audio and are stored at the same time. The file's AudioInfo."""
    feature_config = FeatureConfig()
    with tempfile.TemporaryDirectory(prefix="relay-audio-") as tmp:
        canonical = Path(tmp) / "canonical.flac"
        features, info = decoded(audio, tmp, feature_config, canonical_path=canonical)
        # The features go up while the canonical copy does (the file is ready only once both are stored).
        features_stored = _uploader(os.getpid()).submit(
            save_features, audio.features_key(feature_config.cache_key), features
        )
        try:
            storage.upload(canonical, audio.canonical_key, content_type="audio/flac")
        finally:
            wait([features_stored])
        features_stored.result()  # raises what storing them raised
    return info


def commit(audio, run, info):
    """Move a prepared file to ready (through embedding, in one step)."""
    if not commit_many([(audio, info)], run.token):
        raise WorkStopped()


def commit_many(prepared, token):
    """Move prepared files [(audio, AudioInfo)] held by `token` to ready, through embedding,
    in one step (the features are stored by then); the ids moved."""
    now = timezone.now()
    moves = {
        audio.pk: {
            "duration_ms": info.duration_ms,
            "sample_rate": info.sample_rate,
            "channels": info.channels,
            "processed_at": now,
            **detected_type(audio, info),
        }
        for audio, info in prepared
    }
    moved = set(work.finish_many(AudioFile, token, moves, to=AudioStatus.READY, passing=[AudioStatus.EMBEDDING]))
    for audio, info in prepared:
        if audio.pk in moved:
            logger.info(
                "audio ready audio=%s format=%s %d Hz x%d %d ms",
                audio.pk,
                info.format,
                info.sample_rate,
                info.channels,
                info.duration_ms,
            )
    return moved
