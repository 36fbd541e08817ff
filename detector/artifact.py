"""A trained detector as one artifact: weights, feature config, normalisation, types, decoding.

    detector = Detector.from_bytes(data)              # no training code or data needed
    features = FeatureExtractor(detector.feature_config).from_file(path)
    for type_name, start_ms, end_ms, confidence in detector.detect(features): ...

`to_bytes()` is a `torch.save` of plain tensors, numbers and strings (loaded with
`weights_only=True`, so loading runs no pickled code), tagged with a format name and
version. Format 2 artifacts may hold version 2 feature configs (file-relative features,
see detector.features), format 3 ones version 5 (the lost-signal channels), format 4 ones
a `scaled` config (the file-relative channels also divided by the file's dynamic range,
the default since format 4), format 5 ones version 6 (the mains hum channels, the default
since format 5); older code refuses a format it does not know rather than
running on the wrong inputs. Artifacts of formats 1-3 still load and run as they did
(their configs are read as not scaled). Inference scores the file in chunks of `chunk_frames` frames with `margin`
frames of real context read on each side, so the probabilities equal those of the whole
file at once while memory stays flat for hour-long files.
"""

import io
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from detector.events import decode_events, per_type
from detector.features import FeatureConfig, as_float32, file_transform
from detector.model import FrameDetector

FORMAT = "relay-detector"
FORMAT_VERSION = 5  # written for version 6 configs; older ones keep format 4 (scaled), 3 (version 5) or 2
READABLE_VERSIONS = (1, 2, 3, 4, 5)
CHUNK_FRAMES = 12000  # 2 minutes of 10 ms frames per forward pass


@torch.inference_mode()
def frame_probabilities(
    model: FrameDetector, features, chunk_frames=CHUNK_FRAMES, device="cpu", offset=0.0, scale=None
):
    """Sigmoid outputs (frames, n_types) float32 of `model` on one file's features (frames, channels)
    minus `offset` (the file's `file_offset`), divided by `scale` if given (its `file_scale`)."""
    divisor = None if scale is None else np.asarray(scale, dtype=np.float32)[:, None]
    n_frames = len(features)
    n_types = model.out.out_channels
    out = np.empty((n_frames, n_types), dtype=np.float32)
    margin = model.margin
    chunk_frames = -(-max(1, chunk_frames) // model.pool) * model.pool  # chunks start on context groups
    for first in range(0, n_frames, chunk_frames):
        count = min(chunk_frames, n_frames - first)
        lo, hi = first - margin, first + count + margin
        window = np.zeros((features.shape[1], hi - lo), dtype=np.float32)  # (channels, frames), as the model reads
        mask = np.zeros(hi - lo, dtype=np.float32)
        a, b = max(lo, 0), min(hi, n_frames)
        channels = as_float32(features[a:b].T)
        np.subtract(channels, np.asarray(offset, dtype=np.float32)[..., None], out=window[:, a - lo : b - lo])
        if divisor is not None:
            np.divide(window[:, a - lo : b - lo], divisor, out=window[:, a - lo : b - lo])
        mask[a - lo : b - lo] = 1.0
        x = torch.from_numpy(window).unsqueeze(0).to(device)
        m = torch.from_numpy(mask).unsqueeze(0).to(device)
        out[first : first + count] = torch.sigmoid(model(x, m))[0].T.float().cpu().numpy()
    return out


def artifact_feature_config(payload) -> FeatureConfig:
    """The artifact's feature config; formats before 4 had no `scaled` flag and were not scaled."""
    stored = dict(payload["feature_config"])
    if payload["format_version"] < 4:
        stored["scaled"] = False
    return FeatureConfig(**stored)


@dataclass
class DecodingConfig:
    thresholds: list[float]
    merge_window_ms: list[float]
    min_duration_ms: list[float]

    def to_dict(self):
        return {
            "thresholds": list(self.thresholds),
            "merge_window_ms": list(self.merge_window_ms),
            "min_duration_ms": list(self.min_duration_ms),
        }


class Detector:
    def __init__(
        self,
        model: FrameDetector,
        type_names,
        feature_config: FeatureConfig,
        decoding: DecodingConfig,
        info: dict | None = None,
    ):
        self.model = model.cpu().eval()
        self.type_names = list(type_names)
        self.feature_config = feature_config
        self.decoding = decoding
        self.info = dict(info or {})  # small facts about the training run, kept in the artifact

    @property
    def thresholds(self) -> dict[str, float]:
        return dict(zip(self.type_names, self.decoding.thresholds, strict=True))

    def to_bytes(self) -> bytes:
        payload = {
            "format": FORMAT,
            "format_version": self._format_version(),
            "model": {"name": "FrameDetector", "kwargs": self.model.kwargs},
            "state_dict": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "normalisation": {"mean": self.model.mean.tolist(), "std": self.model.std.tolist()},
            "feature_config": self.feature_config.to_dict(),
            "type_names": self.type_names,
            "decoding": self.decoding.to_dict(),
            "info": self.info,
        }
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        return buffer.getvalue()

    def _format_version(self):
        if self.feature_config.version >= 6:
            return FORMAT_VERSION
        if self.feature_config.file_scaled:
            return 4
        return 3 if self.feature_config.version >= 5 else 2

    @classmethod
    def from_bytes(cls, data: bytes) -> "Detector":
        try:
            payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except Exception as error:
            raise ValueError(f"not a detector artifact: {error}") from None
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise ValueError("not a detector artifact")
        if payload.get("format_version") not in READABLE_VERSIONS:
            raise ValueError(
                f"detector format version {payload.get('format_version')} is not supported "
                f"(this code reads versions {', '.join(map(str, READABLE_VERSIONS))})"
            )
        if payload["model"]["name"] != "FrameDetector":
            raise ValueError(f"unknown model {payload['model']['name']}")
        model = FrameDetector(**payload["model"]["kwargs"])
        model.load_state_dict(payload["state_dict"])
        model.set_normalisation(payload["normalisation"]["mean"], payload["normalisation"]["std"])
        decoding = DecodingConfig(**payload["decoding"])
        return cls(model, payload["type_names"], artifact_feature_config(payload), decoding, payload.get("info"))

    def probabilities(self, features: np.ndarray, chunk_frames: int = CHUNK_FRAMES) -> np.ndarray:
        """(frames, n_types) float32 probabilities of a file's features (frames, channels)."""
        features = np.asarray(features)  # float16 or float32: converted chunk by chunk, not whole
        if features.ndim != 2 or features.shape[1] != self.feature_config.n_channels:
            raise ValueError(f"features must be (frames, {self.feature_config.n_channels}), got {features.shape}")
        offset, scale = file_transform(features, self.feature_config)
        return frame_probabilities(self.model, features, chunk_frames, offset=offset, scale=scale)

    def _per_type(self, value, default, name):
        if value is None:
            return np.asarray(default, dtype=np.float64)
        if isinstance(value, Mapping):
            unknown = set(value) - set(self.type_names)
            if unknown:
                raise ValueError(f"{name}: unknown types {sorted(unknown)}")
            return np.array([value.get(t, d) for t, d in zip(self.type_names, default, strict=True)], float)
        return per_type(value, len(self.type_names), name)

    def decode(self, probs, threshold=None, merge_window_ms=None, min_duration_ms=None):
        """Events of precomputed probabilities; None = the calibrated per-type defaults."""
        d = self.decoding
        found = decode_events(
            probs,
            self.feature_config.frame_ms,
            self._per_type(threshold, d.thresholds, "threshold"),
            self._per_type(merge_window_ms, d.merge_window_ms, "merge_window_ms"),
            self._per_type(min_duration_ms, d.min_duration_ms, "min_duration_ms"),
        )
        return [(self.type_names[e.type_index], round(e.start_ms), round(e.end_ms), e.confidence) for e in found]

    def detect(self, features, threshold=None, merge_window_ms=None, min_duration_ms=None):
        """[(type_name, start_ms, end_ms, confidence)] sorted by start.

        Each option is None (the calibrated per-type value stored with the model), one
        number for every type, a sequence with one per type, or {type_name: value} to
        override some types only.
        """
        return self.decode(self.probabilities(features), threshold, merge_window_ms, min_duration_ms)
