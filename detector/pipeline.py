"""A detector on audio files, the way Relay runs it: decode to canonical audio, features
(float16, as Relay's feature cache and inference keep them), detect. Decoding and features
run in one pass over the decoder's blocks: nothing is re-encoded or read back."""

from pathlib import Path

import numpy as np

from detector.audio import FORMATS, DecodeError, canonical_writer, open_canonical
from detector.features import extractor_for


def content_type_for(path) -> str:
    """The declared type of a file by its name's ending (as a browser would declare it)."""
    suffix = Path(path).suffix.lower()
    for fmt in FORMATS:
        if suffix in fmt.suffixes:
            return fmt.content_type
    raise DecodeError(f"{Path(path).name}: unknown audio file ending {suffix!r}")


def file_features(path, feature_config, content_type=None, max_duration_s=None, canonical_path=None):
    """(features (frames, channels) float16, AudioInfo) of an audio file; with
    `canonical_path`, the canonical FLAC is written there in the same pass."""
    content_type = content_type or content_type_for(path)
    extractor = extractor_for(feature_config)
    with open_canonical(path, content_type=content_type, max_duration_s=max_duration_s) as stream:
        expected = stream.expected_samples
        if canonical_path is None:
            features = extractor.from_blocks(stream, dtype=np.float16, expected_samples=expected)
        else:
            with canonical_writer(canonical_path) as out:
                features = extractor.from_blocks(_written(stream, out), dtype=np.float16, expected_samples=expected)
        return features, stream.info


def _written(blocks, out):
    for block in blocks:
        out.write(block)
        yield block


def detect_file(detector, path, content_type=None, **options):
    """(detections [(type, start_ms, end_ms, confidence)], AudioInfo); `options` as Detector.detect."""
    features, info = file_features(path, detector.feature_config, content_type)
    return detector.detect(features, **options), info
