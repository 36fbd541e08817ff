"""A tiny training run that has to learn two easy artifacts, and the training contract."""

import numpy as np
import pytest
import torch

from detector.artifact import Detector
from detector.features import FeatureConfig
from detector.train import TrainConfig, TrainFile, TrainingCancelled, split_files, train_detector

N_CHANNELS = FeatureConfig().n_channels
NAMES = ["loud", "click"]


def fake_file(seed, n_frames=1500):
    """Noise-like features with 3 loud stretches (200-600 ms) and 3 one-frame clicks, exactly labelled."""
    rng = np.random.default_rng(seed)
    f = np.empty((n_frames, N_CHANNELS), dtype=np.float32)
    f[:, :64] = rng.normal(-12, 1.0, size=(n_frames, 64))
    f[:, 64] = rng.normal(-5, 0.4, size=n_frames)
    f[:, 65] = rng.normal(-2, 0.3, size=n_frames)
    f[:, 66] = rng.normal(0, 0.3, size=n_frames)
    f[:, 67:] = np.log(1 / 160)  # version 2's sample-level shares: none of the samples
    events = []
    slots = rng.permutation(np.arange(2, n_frames // 100 - 2))[:6] * 100
    for i, at in enumerate(slots):
        if i < 3:
            length = int(rng.integers(20, 60))
            f[at : at + length, :64] += 5
            f[at : at + length, 64] += 2.5
            events.append((0, int(at) * 10, int(at + length) * 10))
        else:
            f[at, 66] += 5
            f[at, :64] += 3
            events.append((1, int(at) * 10, int(at) * 10 + 4))
    return TrainFile(f"file{seed}", f, events, 16000)


@pytest.fixture(scope="module")
def files():
    return [fake_file(s) for s in range(6)]


@pytest.fixture(scope="module")
def trained(files):
    torch.manual_seed(123)  # the run must not depend on the global seed
    calls = []
    result = train_detector(
        files,
        NAMES,
        TrainConfig(epochs=6, batch_size=16, learning_rate=3e-3, seed=1),
        on_epoch=lambda epoch, epochs, info: calls.append((epoch, epochs, info)),
    )
    return result, calls


def test_learns_both_types(trained):
    result, _ = trained
    m = result.metrics
    assert m["validation_files"] == len(result.validation_keys) >= 1
    assert m["evaluation"] == "event-based, onset collar 200 ms, offset collar max(200 ms, 20%)"
    assert set(m["per_type"]) == set(NAMES)
    assert m["macro_f1"] >= 0.9, m
    assert m["per_type"]["click"]["support"] >= 3


def test_finds_the_events_of_a_new_file(trained):
    result, _ = trained
    new = fake_file(99)
    found = Detector.from_bytes(result.detector.to_bytes()).detect(new.features)
    hits = sum(
        any(n == NAMES[t] and abs(s - a) <= 200 and abs(e - b) <= 200 for n, s, e, _ in found) for t, a, b in new.events
    )
    assert hits >= 5 and len(found) <= 8, found


def test_split_is_by_file_and_metrics_use_validation_files_only(trained, files):
    result, _ = trained
    assert set(result.train_keys).isdisjoint(result.validation_keys)
    assert sorted(result.train_keys + result.validation_keys) == sorted(f.key for f in files)
    assert len(result.validation_keys) == round(0.2 * len(files))
    assert sum(v["support"] for v in result.metrics["per_type"].values()) == 6 * len(result.validation_keys)


def test_reports_every_epoch(trained):
    result, calls = trained
    assert [c[0] for c in calls] == list(range(1, result.epochs_run + 1))
    assert all(c[1] == 6 for c in calls)
    assert {"train_loss", "validation_loss", "validation_macro_f1", "best_epoch"} <= set(calls[-1][2])
    assert 1 <= result.best_epoch <= result.epochs_run
    assert len(result.detector.decoding.thresholds) == 2


def test_deterministic_for_a_seed(files):
    config = TrainConfig(epochs=1, batch_size=64, seed=3)
    a = train_detector(files, NAMES, config).detector
    b = train_detector(files, NAMES, config).detector
    feats = files[0].features
    assert np.array_equal(a.probabilities(feats), b.probabilities(feats))
    assert a.decoding == b.decoding


def test_cancel_stops_between_batches(files):
    asked = []

    def should_cancel():
        asked.append(1)
        return len(asked) > 3

    with pytest.raises(TrainingCancelled):
        train_detector(files, NAMES, TrainConfig(epochs=5, batch_size=8), should_cancel=should_cancel)
    assert len(asked) == 4


def test_needs_two_files(files):
    with pytest.raises(ValueError, match="at least 2 labelled audio files"):
        train_detector(files[:1], NAMES)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"epochs": 0}, "epochs"),
        ({"learning_rate": 1.0}, "learning_rate"),
        ({"batch_size": 4}, "batch_size"),
        ({"validation_split": 0.9}, "validation_split"),
    ],
)
def test_config_is_checked(files, change, message):
    with pytest.raises(ValueError, match=message):
        train_detector(files, NAMES, TrainConfig(**change))


def test_inputs_are_checked(files):
    bad = TrainFile("x", np.zeros((10, 5), np.float32), [], 16000)
    with pytest.raises(ValueError, match="features must be"):
        train_detector([files[0], bad], NAMES)
    wrong_type = TrainFile("y", files[1].features, [(5, 0, 10)], 16000)
    with pytest.raises(ValueError, match="type index 5"):
        train_detector([files[0], wrong_type], NAMES)


def test_split_prefers_validation_files_with_every_type():
    files = [TrainFile(str(i), np.zeros((1, N_CHANNELS), np.float32), [(i % 3, 0, 10)], 16000) for i in range(9)]
    train, val = split_files(files, 3, 0.34, seed=0)
    assert sorted(train + val) == list(range(9)) and len(val) == 3
    assert {i % 3 for i in val} == {0, 1, 2}
    assert split_files(files, 3, 0.34, seed=0) == (train, val)
