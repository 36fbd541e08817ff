"""The named steps of train_detector, each on its own."""

import math

import numpy as np
import pytest
import torch

from detector.artifact import frame_probabilities
from detector.features import FeatureConfig, file_offset, file_scale, file_transform
from detector.train import (
    MAX_POS_WEIGHT,
    THRESHOLD_GRID,
    Fit,
    Packing,
    TrainConfig,
    TrainFile,
    TrainingCancelled,
    TrainingSet,
    Validation,
    calibrate,
    check_inputs,
    new_model,
    normalisation,
    positive_weights,
    train_epoch,
)
from tests.detector.test_train import N_CHANNELS, NAMES, fake_file

FEATURES = FeatureConfig()


def small_set(files, config=None, seed=0):
    config = config or TrainConfig(batch_size=16)
    mean, std = normalisation(files, FEATURES)
    model = new_model(0, FEATURES.n_channels, len(NAMES), mean, std)
    packing = Packing.of(config, FEATURES.frame_ms, model)
    return model, packing, TrainingSet(files, len(NAMES), FEATURES, packing, np.random.default_rng(seed)), mean, std


@pytest.mark.parametrize(
    "files, names, problem",
    [
        ([fake_file(0)], NAMES, "at least 2 labelled audio files"),
        ([fake_file(0), fake_file(1)], [], "at least one artifact type"),
        ([fake_file(0), TrainFile("bad", np.zeros((10, 3), np.float32), [], 16000)], NAMES, "features must be"),
        ([fake_file(0), TrainFile("empty", np.zeros((0, N_CHANNELS), np.float32), [], 16000)], NAMES, "has no frames"),
        (
            [fake_file(0), TrainFile("t", np.zeros((9, N_CHANNELS), np.float32), [(5, 0, 10)], 16000)],
            NAMES,
            "type index 5",
        ),
    ],
)
def test_check_inputs_says_what_is_wrong(files, names, problem):
    with pytest.raises(ValueError, match=problem):
        check_inputs(files, names, TrainConfig(), FEATURES)


def test_check_inputs_refuses_a_config_out_of_range():
    with pytest.raises(ValueError, match="epochs must be 1-100"):
        check_inputs([fake_file(0), fake_file(1)], NAMES, TrainConfig(epochs=0), FEATURES)


def test_normalisation_is_the_mean_and_spread_of_every_frame_relative_to_its_file():
    files = [fake_file(0, 300), fake_file(1, 500)]
    mean, std = normalisation(files, FEATURES)
    assert FEATURES.file_scaled
    stacked = np.concatenate(
        [(f.features - file_offset(f.features, FEATURES)) / file_scale(f.features, FEATURES) for f in files]
    ).astype(np.float64)
    np.testing.assert_allclose(mean, stacked.mean(axis=0), rtol=1e-9)
    np.testing.assert_allclose(std, stacked.std(axis=0).clip(min=1e-3), rtol=1e-6)


def test_the_same_seed_makes_the_same_model():
    mean, std = np.zeros(67), np.ones(67)
    first, second = new_model(3, 67, 2, mean, std), new_model(3, 67, 2, mean, std)
    assert all(torch.equal(a, b) for a, b in zip(first.parameters(), second.parameters(), strict=True))


def test_packing_counts_each_frame_once_per_window_that_holds_it():
    packing = Packing(window=50, stride=25, pack=4, margin=100, pool=5)
    coverage = packing.coverage().numpy()
    assert packing.scored == 125  # 3 strides + a window, in whole groups of 5
    assert coverage[1, :50].tolist() == [1] * 50 and coverage[1, 50:].sum() == 0
    assert coverage[4, 25:50].tolist() == [2] * 25  # the first two windows overlap there
    assert coverage[4].sum() == 4 * 50


def test_the_training_set_holds_every_window_of_every_file():
    files = [fake_file(0, 700), fake_file(1, 300)]
    _, packing, data, _, _ = small_set(files)
    windows = sum(math.ceil(len(f.features) / packing.stride) for f in files)
    assert data.examples[:, 3].sum() == windows
    assert data.mask.sum() == sum(len(f.features) for f in files)  # margins and tails are masked out
    assert data.frames == 1000 and data.positive_frames[0] > 0
    starts = data.epoch_starts(np.random.default_rng(1))
    offsets = data.examples[:, 0]
    assert ((starts - offsets) % packing.pool == 0).all()  # on context groups of their file


def test_augmented_input_is_normalised_and_differs_by_epoch():
    _, _, data, mean, std = small_set([fake_file(0, 400), fake_file(1, 400)])
    rng = np.random.default_rng(2)
    data.augment(rng, mean, std)
    first = data.x.clone()
    data.augment(rng, mean, std)
    inside = data.mask > 0
    assert abs(float(first[inside].mean())) < 3.0 and not torch.equal(first, data.x)  # gains shift it a little


def test_positive_weights_grow_for_rare_types_within_bounds():
    weights = positive_weights(np.array([0.5, 0.01, 1e-3]))
    assert weights[0] == 1.0 and weights[1] > 5 and weights[2] == min(MAX_POS_WEIGHT, math.sqrt(999))


def test_an_epoch_lowers_the_loss_and_the_average_follows():
    files = [fake_file(s, 600) for s in range(3)]
    model, packing, data, mean, std = small_set(files, TrainConfig(batch_size=16, learning_rate=3e-3))
    pos_weight = positive_weights(data.prior)
    fit = Fit(model, TrainConfig(epochs=3, learning_rate=3e-3), steps_per_epoch=10, device="cpu")
    rng = np.random.default_rng(0)
    losses = []
    for epoch in range(3):
        data.augment(rng, mean, std)
        losses.append(train_epoch(fit, data, pos_weight, 2, rng, None, epoch))
    assert losses[-1] < losses[0] and fit.steps > 0
    assert not all(torch.equal(a, b) for a, b in zip(fit.model.parameters(), fit.averaged.parameters(), strict=True))


def test_an_epoch_stops_when_asked():
    model, _, data, mean, std = small_set([fake_file(0, 400), fake_file(1, 400)])
    fit = Fit(model, TrainConfig(), steps_per_epoch=5, device="cpu")
    with pytest.raises(TrainingCancelled):
        train_epoch(fit, data, positive_weights(data.prior), 1, np.random.default_rng(0), lambda: True, 1)


def test_validation_scores_and_calibrates_on_its_files_only():
    files = [fake_file(s, 500) for s in range(2)]
    model, _, data, _, _ = small_set(files)
    validation = Validation(files, NAMES, FEATURES, positive_weights(data.prior))
    loss, score = validation.score(model)
    assert loss > 0 and 0.0 <= score <= 1.0
    decoding, metrics = validation.calibrated_metrics(model, caps=[1000.0, 1000.0])
    assert len(decoding.thresholds) == 2 and metrics["validation_files"] == 2
    assert sum(m["support"] for m in metrics["per_type"].values()) == sum(len(f.events) for f in files)


def test_decoding_is_calibrated_on_validation_and_training_files_pooled_and_scored_on_validation_only():
    held_out, training = [fake_file(0, 500)], [fake_file(1, 500), fake_file(2, 500)]
    model, _, data, _, _ = small_set(training)
    validation = Validation(held_out, NAMES, FEATURES, positive_weights(data.prior))
    caps = [1000.0, 1000.0]
    decoding, metrics = validation.calibrated_metrics(model, caps, training)

    every = held_out + training
    transforms = {i: file_transform(f.features, FEATURES) for i, f in enumerate(every)}
    probs = {
        i: frame_probabilities(model, f.features, offset=transforms[i][0], scale=transforms[i][1])
        for i, f in enumerate(every)
    }
    pooled = calibrate(probs, {i: f.events for i, f in enumerate(every)}, NAMES, FEATURES.frame_ms, caps)
    assert decoding == pooled
    assert all(0.2 <= t <= 0.8 for t in decoding.thresholds) and THRESHOLD_GRID.min() == 0.2
    assert metrics["validation_files"] == 1
    assert sum(m["support"] for m in metrics["per_type"].values()) == len(held_out[0].events)
