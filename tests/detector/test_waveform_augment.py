"""Waveform-level augmentation (detector.augment.augmented_copies) and training on the copies' features."""

import math

import numpy as np
import pytest
import torch

from detector import train as train_module
from detector.augment import apply_gain_and_tilt, augmented_copies, codec_round_trip
from detector.features import FeatureConfig, file_offset, file_scale
from detector.synth import synthesize
from detector.train import TrainConfig, TrainFile, TrainingSet, train_detector
from tests.detector.test_train import NAMES, fake_file

RATE = 16000
KINDS = ("glitch", "dropout", "long_pause", "hum", "clipping")


@pytest.fixture(scope="module")
def recording():
    """12 s of synthetic speech with every kind of artifact: (mono samples, events as type index, ms)."""
    rec = synthesize(3, 12.0, sample_rate=RATE, events_per_minute=10.0)
    samples = rec.samples.mean(axis=1) if rec.samples.ndim > 1 else rec.samples
    return samples.astype(np.float32), rec.labels(KINDS)


def clicks(n=4 * RATE, at=(8000, 20000, 41000)):
    rng = np.random.default_rng(0)
    x = 0.05 * rng.standard_normal(n)
    for a in at:
        x[a : a + 8] += 0.8 * np.hanning(8)
    return x, at


@pytest.mark.parametrize("codec", ["mp3", "aac", "opus"])
@pytest.mark.parametrize("kbps", [24, 64])
def test_codec_round_trip_keeps_the_timeline(codec, kbps):
    x, at = clicks()
    y = codec_round_trip(x, RATE, codec, kbps)
    assert len(y) == len(x)
    for a in at:  # each click is still where its label says (within 1 ms), the encoder's delay removed
        found = a - 200 + int(np.argmax(np.abs(y[a - 200 : a + 200])))
        assert abs(found - (a + 4)) <= 16, (codec, kbps, a, found)


def test_copies_are_deterministic_for_a_seed(recording):
    samples, events = recording
    one = augmented_copies(samples, events, KINDS, k=2, seed=7)
    two = augmented_copies(samples, events, KINDS, k=2, seed=7)
    other = augmented_copies(samples, events, KINDS, k=2, seed=8)
    for (a, what_a), (b, what_b) in zip(one, two, strict=True):
        assert what_a == what_b
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(one[0][0], other[0][0])
    assert all(c.dtype == np.float32 and len(c) == len(samples) for c, _ in one)
    assert all(np.max(np.abs(c)) <= 1.0 for c, _ in one)


def test_copies_keep_dropouts_quiet_and_do_not_clip_more(recording):
    samples, events = recording
    dropouts = [(s, e) for t, s, e in events if KINDS[t] == "dropout"]
    assert dropouts
    for copy, what in augmented_copies(samples, events, KINDS, k=6, seed=1):
        for s, e in dropouts:
            a, b = int(s * RATE / 1000) + 80, int(e * RATE / 1000) - 80  # inside, clear of codec smear
            if b - a < 80:
                continue
            around = np.concatenate([copy[a - 1600 : a - 160], copy[b + 160 : b + 1600]])
            inside = np.sqrt(np.mean(copy[a:b] ** 2))
            assert inside < 0.3 * np.sqrt(np.mean(around**2)), what  # still a drop of 10+ dB
        assert np.mean(np.abs(copy) >= 0.999) <= np.mean(np.abs(samples) >= 0.999) + 1e-4, what


def old_augment(self, rng, mean, std):
    """TrainingSet.augment before augmented copies existed (the reference for files without copies)."""
    mean, std = torch.tensor(mean, dtype=torch.float32), torch.tensor(std, dtype=torch.float32)
    n_mels = self.feature_config.n_mels
    for (start, n), original, lower in zip(self.spans, self.originals, self.lowered, strict=True):
        source = lower if rng.random() < 0.5 else original
        gain = torch.tensor([rng.uniform(-8.0, 8.0)], dtype=torch.float32)
        tilt = torch.tensor([rng.uniform(-3.0, 3.0)], dtype=torch.float32)
        for a in range(0, n, 20000):
            chunk = torch.from_numpy(np.ascontiguousarray(source[a : a + 20000].T))[None]
            self.x[start + a : start + a + chunk.shape[-1]] = apply_gain_and_tilt(chunk, gain, tilt, n_mels)[0].T
        x = self.x[start : start + n]
        offset, scale = file_offset(x.numpy(), self.feature_config), file_scale(x.numpy(), self.feature_config)
        scale[: n_mels + 1] *= math.exp(rng.uniform(-math.log(1.3), math.log(1.3)))  # the contrast jitter
        x -= torch.from_numpy(offset)
        x /= torch.from_numpy(scale)
        x -= mean
        x /= std


def _train(files):
    return train_detector(files, NAMES, TrainConfig(epochs=2, batch_size=16, seed=4))


def test_files_without_copies_train_exactly_as_before(monkeypatch):
    files = [fake_file(s, n_frames=800) for s in range(4)]
    new = _train(files)
    monkeypatch.setattr(TrainingSet, "augment", old_augment)
    old = _train(files)
    for key, value in old.detector.model.state_dict().items():
        torch.testing.assert_close(new.detector.model.state_dict()[key], value, rtol=0, atol=0)
    assert new.metrics == old.metrics


def test_training_uses_the_copies():
    files = [fake_file(s, n_frames=800) for s in range(4)]
    plain = _train(files)
    rng = np.random.default_rng(0)
    with_copies = [
        TrainFile(
            f.key,
            f.features,
            f.events,
            f.source_sample_rate,
            variants=[(f.features + rng.normal(0, 0.5, f.features.shape)).astype(np.float16)],
        )
        for f in files
    ]
    result = _train(with_copies)
    changed = any(
        not torch.equal(result.detector.model.state_dict()[k], v) for k, v in plain.detector.model.state_dict().items()
    )
    assert changed
    bad = [TrainFile(f.key, f.features, f.events, 16000, variants=[f.features[:-1]]) for f in files]
    with pytest.raises(ValueError, match="augmented copy"):
        _train(bad)
    assert train_module.VARIANT_SHARE == 0.5
    assert FeatureConfig().n_channels == files[0].features.shape[1]


def test_pasted_events_are_labelled_where_they_land(recording):
    from detector.augment import paste_events

    samples, events = recording
    donor_rec = synthesize(5, 12.0, sample_rate=RATE, events_per_minute=10.0)
    donor = donor_rec.samples.mean(axis=1) if donor_rec.samples.ndim > 1 else donor_rec.samples
    donor_events = donor_rec.labels(KINDS)
    rng = np.random.default_rng(0)
    pasted, labels = paste_events(samples, events, [(donor, donor_events)], KINDS, rng, count=4)
    again, labels_again = paste_events(
        samples, events, [(donor, donor_events)], KINDS, np.random.default_rng(0), count=4
    )
    np.testing.assert_array_equal(pasted, again)
    assert labels == labels_again
    new = [e for e in labels if e not in [tuple(int(v) for v in x) for x in events]]
    assert 1 <= len(new) <= 4
    assert all(KINDS[e[0]] != "long_pause" for e in new)
    for t, s, e in new:
        a, b = int(s * RATE / 1000), int(e * RATE / 1000)
        # the piece is one of the donor's events of that type, scaled: correlation with it is ~1
        best = 0.0
        inner = pasted[a + 16 : b - 16]
        for dt, ds, de in donor_events:
            da = int(ds * RATE / 1000)
            if dt == t and abs((de - ds) - (e - s)) <= 2:
                for lag in range(-10, 11):  # labels are whole milliseconds: up to 16 samples apart
                    seg = donor[da + 16 + lag : da + (b - a) - 16 + lag]
                    if len(seg) != len(inner) or da + 16 + lag < 0:
                        continue
                    if np.max(np.abs(seg)) < 1e-6:  # digital silence stays digital silence
                        best = max(best, 1.0 if np.max(np.abs(inner)) < 1e-6 else 0.0)
                    elif np.std(inner) > 0:
                        best = max(best, float(np.corrcoef(seg, inner)[0, 1]))
        assert best > 0.99, (KINDS[t], s, e)
        # and it keeps clear of the file's own events
        for _, s2, e2 in events:
            assert e <= s2 - 400 or s >= e2 + 400


def test_copies_with_labels_of_their_own_train():
    files = [fake_file(s, n_frames=800) for s in range(4)]
    donor = fake_file(9, n_frames=800)
    with_copies = [
        TrainFile(f.key, f.features, f.events, f.source_sample_rate, variants=[(donor.features, donor.events)])
        for f in files
    ]
    result = _train(with_copies)
    assert result.epochs_run == 2
    bad = [TrainFile(f.key, f.features, f.events, 16000, variants=[(f.features, [(5, 0, 10)])]) for f in files]
    with pytest.raises(ValueError, match="event type"):
        _train(bad)
