"""Features are the same however the samples arrive: from the whole array, from the
canonical FLAC read back, or straight from the decoder's blocks of any size."""

import numpy as np
import pytest
import soundfile as sf

from detector import pipeline
from detector.audio import decode_to_canonical, quantize16
from detector.features import FeatureConfig, FeatureExtractor


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
