"""The prior: a detector pretrained on hours of labelled audio from two generators, shipped
with the library (detector/priors/), that tenant training starts from.

A tenant labels minutes of audio; the prior has seen hours of the five built-in artifact
types (glitch, dropout, long_pause, hum, clipping) under many voices, rooms, noises, codecs
and sample rates. Training from it (`TrainConfig.start_from = "prior"`, the default) copies
every layer and the output row of each type the prior knows by name; other types start
fresh. `bench/pretrain.py` rebuilds the file from the benchmark corpora.
"""

import functools
from pathlib import Path

from detector.artifact import Detector
from detector.features import FeatureConfig
from detector.model import FrameDetector

PRIOR_PATH = Path(__file__).resolve().parent / "priors" / "relay-prior-2.pt"


@functools.cache
def _shipped() -> Detector | None:
    return Detector.from_bytes(PRIOR_PATH.read_bytes()) if PRIOR_PATH.exists() else None


def can_start_from(detector: Detector, feature_config: FeatureConfig) -> bool:
    """Whether a run on `feature_config` can take `detector`'s weights: the same features, the same network shape."""
    shape = dict(FrameDetector(feature_config.n_channels, 1).kwargs, n_types=None)
    return detector.feature_config == feature_config and dict(detector.model.kwargs, n_types=None) == shape


def load_prior(feature_config: FeatureConfig) -> Detector | None:
    """The shipped prior if it reads `feature_config`'s features, else None (training starts from scratch)."""
    prior = _shipped()
    return prior if prior is not None and can_start_from(prior, feature_config) else None
