"""A detector on audio files, the way Relay runs it: decode to canonical audio, features
(float16, as Relay's feature cache and inference keep them), detect."""

import tempfile
from pathlib import Path

import numpy as np

from detector.audio import FORMATS, DecodeError, decode_to_canonical
from detector.features import FeatureExtractor


def content_type_for(path) -> str:
    """The declared type of a file by its name's ending (as a browser would declare it)."""
    suffix = Path(path).suffix.lower()
    for fmt in FORMATS:
        if suffix in fmt.suffixes:
            return fmt.content_type
    raise DecodeError(f"{Path(path).name}: unknown audio file ending {suffix!r}")


def file_features(path, feature_config, content_type=None, max_duration_s=None):
    """(features (frames, channels) float16, AudioInfo) of an audio file."""
    content_type = content_type or content_type_for(path)
    with tempfile.TemporaryDirectory(prefix="detector-") as tmp:
        canonical = Path(tmp) / "canonical.flac"
        info = decode_to_canonical(path, canonical, content_type=content_type, max_duration_s=max_duration_s)
        features = FeatureExtractor(feature_config).from_file(canonical, dtype=np.float16)
    return features, info


def detect_file(detector, path, content_type=None, **options):
    """(detections [(type, start_ms, end_ms, confidence)], AudioInfo); `options` as Detector.detect."""
    features, info = file_features(path, detector.feature_config, content_type)
    return detector.detect(features, **options), info
