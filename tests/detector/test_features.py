"""Feature versions: version 2's sample-level shares and file-relative offset; version 1 unchanged."""

import numpy as np
import soundfile as sf

from detector.features import FeatureConfig, FeatureExtractor, file_offset

V1, V2 = FeatureConfig(version=1), FeatureConfig()
HOP = V2.hop_length


def shares(features):
    """{channel name: share of samples per frame} of version 2 features."""
    first = V2.n_mels + 3
    return {name: np.exp(features[:, first + i]) - 1 / HOP for i, name in enumerate(V2.extra_channels[3:])}


def speech_like(seconds=2.0, rate=16000):
    t = np.arange(int(seconds * rate)) / rate
    x = 0.3 * np.sin(2 * np.pi * 150 * t) + 0.01 * np.random.default_rng(0).normal(size=len(t))
    return np.round(x * 32767).astype(np.float32) / 32767


def test_version_1_has_its_67_channels_and_no_offset():
    x = speech_like()
    f1, f2 = FeatureExtractor(V1).from_array(x), FeatureExtractor(V2).from_array(x)
    assert f1.shape[1] == V1.n_channels == 67 and f2.shape[1] == V2.n_channels == 71
    assert np.array_equal(f1, f2[:, :67])
    assert not file_offset(f1, V1).any()


def test_shares_mark_clipping_holds_and_zeros():
    x = speech_like()
    x[3200:4800] = np.clip(x[3200:4800] * 6, -1, 1)  # frames 20-29: clipped at full scale
    x[8000:9600] = np.clip(x[8000:9600], -0.2, 0.2)  # frames 50-59: flat tops well below full scale
    x[12800:14400] = 0.0  # frames 80-89: digital zeros
    x[16000:17600] = x[15999]  # frames 100-109: one sample held
    s = shares(FeatureExtractor().from_array(x))
    clean = np.r_[0:18, 32:48, 62:78]
    assert s["full_scale"][21:29].min() > 0.3 and s["full_scale"][clean].max() < 1e-6
    assert s["at_peak"][51:59].min() > 0.3 and s["at_peak"][clean].max() < 0.25
    assert np.allclose(s["zeros"][81:89], 1.0) and s["zeros"][clean].max() < 0.05
    assert s["holds"][101:109].min() > 0.99 and s["holds"][81:89].max() < 1e-6 and s["holds"][clean].max() < 0.05


def test_chunked_file_features_equal_the_whole_array(tmp_path):
    x = speech_like(seconds=3.3)
    x[5000:9000] = 0.0
    path = tmp_path / "a.flac"
    sf.write(path, x, 16000, subtype="PCM_16")
    fx = FeatureExtractor()
    assert np.allclose(fx.from_file(path, chunk_frames=77), fx.from_array(sf.read(path, dtype="float32")[0]), atol=1e-4)


def test_the_offset_is_the_median_of_mel_bands_and_energy_only():
    features = np.random.default_rng(1).normal(size=(301, V2.n_channels)).astype(np.float32)
    offset = file_offset(features.astype(np.float16), V2)
    every_4th = features.astype(np.float16)[::4, : V2.n_mels + 1].astype(np.float32)
    assert np.array_equal(offset[: V2.n_mels + 1], np.median(every_4th, axis=0))
    assert not offset[V2.n_mels + 1 :].any()
