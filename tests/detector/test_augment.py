"""Feature-level augmentation against features of real audio."""

import numpy as np
import pytest
import soxr
import torch

from detector.augment import BandLimiter, apply_gain_and_tilt, gain_and_tilt
from detector.features import FeatureExtractor
from detector.synth import synthesize


def quantise(x):
    return (np.round(np.clip(x, -1, 1) * 32767) / 32767).astype(np.float32)


@pytest.fixture(scope="module")
def audio():
    rec = synthesize(4, 8, 16000, kinds=("dropout", "glitch"), events_per_minute=20)
    return quantise(rec.samples), rec


def test_gain_matches_features_of_louder_audio(audio):
    x, _ = audio
    fx = FeatureExtractor()
    base, louder = fx.from_array(x), fx.from_array(quantise(x * 2.0))  # +6.02 dB
    t = torch.from_numpy(base.T.copy())[None]
    out = apply_gain_and_tilt(t, torch.tensor([20 * np.log10(2.0)]), torch.tensor([0.0]), 64)[0].numpy().T
    sounding = base[:, 64] > np.log(1e-3)
    assert np.abs(out[sounding, 64] - louder[sounding, 64]).mean() < 0.01  # log energy
    assert np.abs(out[sounding, :64] - louder[sounding, :64]).mean() < 0.02  # log-mel
    assert np.abs(out[:, 66] - louder[:, 66]).mean() < 0.05  # discontinuity (a ratio: moves by its floors only)
    silent = base[:, 64] <= np.log(1e-5) + 1e-6  # digital silence stays digital silence
    assert silent.any() and np.allclose(out[silent, :64], base[silent, :64])


def test_tilt_raises_high_bands_and_lowers_low_ones(audio):
    x, _ = audio
    base = FeatureExtractor().from_array(x)
    t = torch.from_numpy(base.T.copy())[None]
    out = apply_gain_and_tilt(t, torch.tensor([0.0]), torch.tensor([3.0]), 64)[0].numpy().T
    for band, db in ((0, -3.0), (63, 3.0)):
        well_above_floor = base[:, band] > np.log(1e-6)
        shift = (out - base)[well_above_floor, band].mean()
        assert shift == pytest.approx(np.log(10 ** (db / 10)), abs=0.02)


def test_no_augmentation_leaves_features_alone(audio):
    x, _ = audio
    base = FeatureExtractor().from_array(x)
    out = gain_and_tilt(torch.from_numpy(base.T.copy())[None], torch.Generator(), 64, probability=0.0)
    assert np.allclose(out[0].numpy().T, base, atol=1e-4)


@pytest.mark.parametrize("rate", [8000, 11025])
def test_band_limiting_matches_resampled_audio(audio, rate):
    x, _ = audio
    fx = FeatureExtractor()
    full = fx.from_array(x)
    real = fx.from_array(quantise(soxr.resample(soxr.resample(x, 16000, rate, "HQ"), rate, 16000, "HQ")[: len(x)]))
    emulated = BandLimiter()(full, rate)
    err = np.abs(emulated - real).mean(axis=0)
    before = np.abs(full - real).mean(axis=0)
    assert err[:64].mean() < 0.1 < before[:64].mean()
    assert err[64] < before[64] / 2  # energy
    assert err[65] < before[65] / 4  # flatness
    assert err[66] < before[66]  # discontinuity
    assert np.array_equal(BandLimiter()(full, 16000), full)
