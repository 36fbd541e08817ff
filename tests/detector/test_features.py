"""Features are the same however the samples arrive: from the whole array, from the
canonical FLAC read back, or straight from the decoder's blocks of any size; version 2's
sample-level shares and file-relative offset; version 1 unchanged."""

import numpy as np
import pytest
import soundfile as sf

from detector import pipeline
from detector.audio import decode_to_canonical, quantize16
from detector.features import FeatureConfig, FeatureExtractor, file_offset, file_scale


@pytest.fixture(scope="module")
def stereo_44k(tmp_path_factory):
    """37.3 s of 44.1 kHz stereo noise with a click and a loud stretch that clips."""
    rng = np.random.default_rng(7)
    samples = (rng.standard_normal((int(44100 * 37.3), 2)) * 0.2).astype(np.float32)
    samples[44100 * 3] = 0.95
    samples[44100 * 10 : 44100 * 11] *= 8
    path = tmp_path_factory.mktemp("audio") / "noise.wav"
    sf.write(path, samples, 44100, subtype="FLOAT")
    return path


def test_the_canonical_file_holds_exactly_the_quantized_samples(tmp_path):
    x = np.concatenate([np.linspace(-1.2, 1.2, 20001, dtype=np.float32), [1.0, -1.0, 0.5, 1 / 65536]])
    sf.write(tmp_path / "q.flac", x, 16000, subtype="PCM_16", format="FLAC")
    np.testing.assert_array_equal(sf.read(tmp_path / "q.flac", dtype="float32")[0], quantize16(x))


@pytest.mark.parametrize("block", [1, 157, 4096, 1 << 20])
def test_blocks_of_any_size_give_the_features_of_the_whole_array(block):
    x = quantize16(np.random.default_rng(3).standard_normal(16000 * 20 + 37).astype(np.float32) * 0.3)
    extractor = FeatureExtractor()
    whole = extractor.from_array(x)
    if block == 1:
        x = x[:5000]  # one sample per block is slow; the short file still crosses no chunk
        whole = extractor.from_array(x)
    streamed = extractor.from_blocks((x[i : i + block] for i in range(0, len(x), block)), chunk_frames=700)
    assert streamed.shape == whole.shape == (FeatureConfig().n_frames(len(x)), FeatureConfig().n_channels)
    np.testing.assert_allclose(streamed, whole, rtol=1e-4, atol=1e-4)


def test_one_pass_equals_decoding_to_flac_and_reading_it_back(stereo_44k, tmp_path):
    config = FeatureConfig()
    info = decode_to_canonical(stereo_44k, tmp_path / "canonical.flac", content_type="audio/wav")
    read_back = FeatureExtractor(config).from_file(tmp_path / "canonical.flac", dtype=np.float16)
    features, streamed_info = pipeline.file_features(stereo_44k, config, canonical_path=tmp_path / "again.flac")
    assert streamed_info == info and info.frames == int(44100 * 37.3) and info.channels == 2
    np.testing.assert_array_equal(features, read_back)
    np.testing.assert_array_equal(sf.read(tmp_path / "again.flac")[0], sf.read(tmp_path / "canonical.flac")[0])
    alone, _ = pipeline.file_features(stereo_44k, config)
    np.testing.assert_array_equal(alone, read_back)


def test_empty_input_has_no_frames():
    assert FeatureExtractor().from_blocks(iter([])).shape == (0, FeatureConfig().n_channels)


@pytest.mark.parametrize("expected", [None, 0, 16000 * 3, 16000 * 20 + 37, 16000 * 60])
def test_a_wrong_size_hint_changes_nothing(expected):
    x = quantize16(np.random.default_rng(4).standard_normal(16000 * 20 + 37).astype(np.float32) * 0.3)
    extractor = FeatureExtractor()
    blocks = [x[i : i + 4096] for i in range(0, len(x), 4096)]
    plain = extractor.from_blocks(iter(blocks), chunk_frames=700, dtype=np.float16)
    hinted = extractor.from_blocks(iter(blocks), chunk_frames=700, dtype=np.float16, expected_samples=expected)
    assert hinted.dtype == np.float16
    np.testing.assert_array_equal(hinted, plain)


def test_a_16_bit_wav_at_the_canonical_rate_decodes_as_read(tmp_path):
    """Its samples skip the resampler and requantising: the result must be what they would give."""
    x = quantize16(np.random.default_rng(8).standard_normal(16000 * 7).astype(np.float32) * 0.3)
    sf.write(tmp_path / "canonical.wav", x, 16000, subtype="PCM_16")
    features, info = pipeline.file_features(tmp_path / "canonical.wav", FeatureConfig())
    assert info.frames == len(x)
    np.testing.assert_array_equal(features, FeatureExtractor().from_array(x).astype(np.float16))


V1, V2 = FeatureConfig(version=1), FeatureConfig(version=2)
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


def test_the_offset_is_the_median_of_mel_bands_and_energy_only():
    features = np.random.default_rng(1).normal(size=(301, V2.n_channels)).astype(np.float32)
    offset = file_offset(features.astype(np.float16), V2)
    every_4th = features.astype(np.float16)[::4, : V2.n_mels + 1].astype(np.float32)
    assert np.array_equal(offset[: V2.n_mels + 1], np.median(every_4th, axis=0))
    assert not offset[V2.n_mels + 1 :].any()


def test_the_scale_is_the_spread_of_log_energy_on_mel_bands_and_energy_only_and_leaves_the_cache_key():
    rng = np.random.default_rng(2)
    features = rng.normal(size=(400, V2.n_channels)).astype(np.float32)
    features[:, V2.n_mels] = np.linspace(-7.0, 0.0, 400)  # log energy: p90 - p10 of every 4th frame ~ 5.6
    energy = features[::4, V2.n_mels]
    spread = np.percentile(energy, 90) - np.percentile(energy, 10)
    scale = file_scale(features.astype(np.float16), V2)
    assert V2.file_scaled and np.allclose(scale[: V2.n_mels + 1], spread / 5.0, rtol=1e-3)
    assert np.array_equal(scale[V2.n_mels + 1 :], np.ones(V2.n_channels - V2.n_mels - 1))
    flat = features.copy()
    flat[:, V2.n_mels] = -3.0  # no contrast at all: clipped to the lower limit
    assert np.allclose(file_scale(flat, V2)[: V2.n_mels + 1], 0.6)
    unscaled = FeatureConfig(version=2, scaled=False)
    assert (file_scale(features, unscaled) == 1).all() and (file_scale(features[:, :67], V1) == 1).all()
    assert unscaled.cache_key == V2.cache_key  # the extractor's output is the same: caches stay valid
    assert (
        V2.cache_key
        == "v2-"
        + __import__("hashlib")
        .sha1(
            b'{"f_max": 7600.0, "f_min": 30.0, "hop_length": 160, "n_fft": 512, "n_mels": 64, '
            b'"sample_rate": 16000, "version": 2, "win_length": 400}'
        )
        .hexdigest()[:10]
    )


V5 = FeatureConfig(version=5)


def edge_channels(features):
    first = V5.n_mels + V5.extra_channels.index("edge_fall")
    return features[:, first], features[:, first + 1]


def test_version_5_adds_the_edge_channels_after_version_2s():
    x = speech_like()
    f2, f5 = FeatureExtractor(V2).from_array(x), FeatureExtractor(V5).from_array(x)
    assert f5.shape[1] == V5.n_channels == 73 and np.array_equal(f5[:, :71], f2)
    assert np.array_equal(file_offset(f5, V5)[:71], file_offset(f2, V2)) and not file_offset(f5, V5)[71:].any()
    streamed = FeatureExtractor(V5).from_blocks((x[i : i + 999] for i in range(0, len(x), 999)), chunk_frames=70)
    np.testing.assert_allclose(streamed, f5, rtol=1e-4, atol=1e-4)


def test_a_muted_stretch_has_steep_edges_and_a_closing_voice_does_not():
    x = speech_like(4.0)
    noise = 0.002 * np.random.default_rng(2).normal(size=len(x)).astype(np.float32)
    x[16000:17600] = 0.0  # frames 100-109: the signal lost, abruptly
    t = np.arange(4800) / 16000
    x[40000:44800] = x[40000:44800] * np.exp(-t / 0.015) + noise[40000:44800]  # from frame 250: the voice fades
    fall, rise = edge_channels(FeatureExtractor(V5).from_array(x))
    assert fall[100] > 10 and rise[110] > 10  # more than 43 dB within a 2 ms step
    assert fall[240:290].max() < 3 and fall[np.r_[20:95, 120:240]].max() < 1


V6 = FeatureConfig(version=6)


def mains_channels(features):
    first = V6.n_mels + V6.extra_channels.index("mains_low")
    return features[:, first], features[:, first + 1]


def test_version_6_adds_the_mains_channels_after_version_2s():
    x = speech_like(5.0)
    f2, f6 = FeatureExtractor(V2).from_array(x), FeatureExtractor(V6).from_array(x)
    assert V6.extra_channels[-2:] == ("mains_low", "mains_wide") and "edge_fall" not in V6.extra_channels
    assert f6.shape[1] == V6.n_channels == 73 and np.array_equal(f6[:, :71], f2)
    assert np.array_equal(file_offset(f6, V6)[:71], file_offset(f2, V2)) and not file_offset(f6, V6)[71:].any()
    assert (file_scale(f6, V6)[71:] == 1).all()
    for chunk_frames in (70, 77):  # an odd chunk is rounded up onto the mains windows' grid
        blocks = (x[i : i + 999] for i in range(0, len(x), 999))
        streamed = FeatureExtractor(V6).from_blocks(blocks, chunk_frames=chunk_frames)
        np.testing.assert_allclose(streamed, f6, rtol=1e-4, atol=1e-4)


def test_mains_hum_stands_out_and_a_gliding_voice_or_noise_does_not():
    rate, seconds = 16000, 12
    t = np.arange(rate * seconds) / rate
    rng = np.random.default_rng(5)
    pitch = 130 + 40 * np.sin(2 * np.pi * 0.8 * t)  # a voice gliding through 100, 120 and 150 Hz
    voice = sum(np.sin(k * 2 * np.pi * np.cumsum(pitch) / rate) / k for k in range(1, 25))
    hum = 0.05 * np.sin(2 * np.pi * 50.1 * t)
    buzz = 0.04 * sum(np.sin(2 * np.pi * 60 * k * t + k) / k for k in range(1, 30))
    x = 0.003 * rng.normal(size=len(t)) + 0.2 * voice
    x[6 * rate :] += hum[6 * rate :]  # 0-6 s: the voice alone; 6-9 s: a 50 Hz hum under it
    x[9 * rate :] += buzz[9 * rate :]  # 9-12 s: and a 60 Hz buzz
    low, wide = mains_channels(FeatureExtractor(V6).from_array(quantize16(x.astype(np.float32))))
    voice_alone, with_hum, with_buzz = np.r_[10:590], np.r_[610:890], np.r_[910:1190]
    assert np.median(low[with_hum]) > 3 * np.median(low[voice_alone]) and np.median(low[with_hum]) > 1.0
    assert np.median(wide[with_buzz]) > 3 * np.median(wide[voice_alone])
    silence = FeatureExtractor(V6).from_array(np.zeros(rate, dtype=np.float32))
    assert not mains_channels(silence)[0].any() and not mains_channels(silence)[1].any()


def test_version_7_adds_periodicity_which_marks_a_looped_packet_and_not_noise_or_silence():
    v7 = FeatureConfig(version=7)
    rate = 16000
    x = (np.random.default_rng(6).standard_normal(rate * 6) * 0.1).astype(np.float32)
    x[2 * rate : 2 * rate + 3200] = np.tile(x[2 * rate - 240 : 2 * rate], 14)[:3200]  # frames 200-219: 15 ms looped
    x[4 * rate : 4 * rate + 1600] = 0.0  # frames 400-409: digital silence
    features = FeatureExtractor(v7).from_array(quantize16(x))
    assert v7.extra_channels[-1] == "periodicity" and features.shape[1] == v7.n_channels == 74
    assert np.array_equal(features[:, :73], FeatureExtractor(V6).from_array(quantize16(x)))
    periodicity = features[:, -1]
    assert periodicity[202:218].max() < -5 and periodicity[np.r_[20:190, 230:390]].min() > -2
    assert np.allclose(periodicity[401:409], 0.0, atol=1e-3)
    streamed = FeatureExtractor(v7).from_blocks((x[i : i + 999] for i in range(0, len(x), 999)), chunk_frames=70)
    np.testing.assert_allclose(streamed, FeatureExtractor(v7).from_array(x), rtol=1e-4, atol=1e-4)
