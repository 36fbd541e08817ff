"""The shipped prior (detector/priors/) and training that starts from it."""

import dataclasses

import numpy as np
import pytest
import torch

from detector.artifact import Detector
from detector.features import FeatureConfig
from detector.prior import PRIOR_PATH, can_start_from, load_prior
from detector.train import TrainConfig, copy_weights, new_model, train_detector
from tests.detector.test_train import NAMES, fake_file

KINDS = ["glitch", "dropout", "long_pause", "hum", "clipping"]


@pytest.fixture(scope="module")
def prior():
    return load_prior(FeatureConfig())


def test_the_prior_ships_and_reads_the_default_features(prior):
    assert PRIOR_PATH.exists() and PRIOR_PATH.stat().st_size < 500_000
    assert prior is not None and prior.type_names == KINDS
    assert prior.info["name"] == "relay-prior-2" and prior.info["families"] == ["synth", "field"]
    assert prior.info["augmented_copies"] == 2 and prior.info["minutes_per_family"] == 180
    assert prior.feature_config == FeatureConfig() and prior.feature_config.file_scaled
    assert Detector.from_bytes(PRIOR_PATH.read_bytes()).to_bytes() == prior.to_bytes()


def test_features_the_prior_was_not_trained_on_get_no_prior(prior):
    other = dataclasses.replace(FeatureConfig(), n_mels=40)
    assert load_prior(other) is None and not can_start_from(prior, other)
    assert can_start_from(prior, FeatureConfig())


def test_weights_are_copied_and_output_rows_matched_by_type_name(prior):
    names = ["Hum", "cough", "glitch"]
    n = FeatureConfig().n_channels
    model = new_model(5, n, len(names), np.zeros(n), np.ones(n))
    fresh_cough = model.out.weight[1].detach().clone()
    started = copy_weights(model, prior, names)
    assert started == "relay-prior-2 (2 of 3 types known)"
    for name, value in prior.model.state_dict().items():
        if not name.startswith("out."):
            assert torch.equal(model.state_dict()[name], value), name
    assert torch.equal(model.out.weight[0], prior.model.out.weight[KINDS.index("hum")])
    assert torch.equal(model.out.bias[2], prior.model.out.bias[KINDS.index("glitch")])
    assert torch.equal(model.out.weight[1], fresh_cough)  # a type the prior does not know starts fresh


def test_training_starts_from_the_prior_unless_told_otherwise():
    files = [fake_file(s, 800) for s in range(4)]
    config = TrainConfig(epochs=1, batch_size=16, seed=2)
    from_prior = train_detector(files, NAMES, config).detector
    scratch = train_detector(files, NAMES, dataclasses.replace(config, start_from="scratch")).detector
    assert from_prior.info["started_from"] == "relay-prior-2 (0 of 2 types known)"
    assert scratch.info["started_from"] == "scratch"
    prior = load_prior(FeatureConfig())
    # The prior's normalisation is kept (its weights expect it); a scratch run takes the files'.
    assert torch.equal(from_prior.model.mean, prior.model.mean)
    assert not torch.equal(scratch.model.mean, prior.model.mean)


def test_an_initial_detector_for_other_features_is_refused(prior):
    unscaled = Detector(
        prior.model, prior.type_names, dataclasses.replace(FeatureConfig(), scaled=False), prior.decoding
    )
    with pytest.raises(ValueError, match="other features"):
        train_detector([fake_file(s, 800) for s in range(3)], NAMES, TrainConfig(epochs=1), init=unscaled)


def test_start_from_is_checked():
    with pytest.raises(ValueError, match="start_from must be one of prior, scratch"):
        train_detector([fake_file(0), fake_file(1)], NAMES, TrainConfig(start_from="imagenet"))
