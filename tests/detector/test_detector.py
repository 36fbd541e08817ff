"""The network's context bookkeeping, chunked inference and the detector artifact."""

import numpy as np
import pytest
import torch

from detector.artifact import DecodingConfig, Detector, frame_probabilities
from detector.features import FeatureConfig
from detector.model import FrameDetector, opening, window_max

N_CHANNELS = FeatureConfig().n_channels
NAMES = ["glitch", "hum", "long_pause"]


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = FrameDetector(N_CHANNELS, len(NAMES))
    m.set_normalisation(np.full(N_CHANNELS, -5.0), np.full(N_CHANNELS, 2.0))
    return m.eval()


@pytest.fixture(scope="module")
def features():
    return (np.random.default_rng(0).normal(-5, 2, size=(3000, N_CHANNELS))).astype(np.float32)


def test_window_max_equals_a_plain_max_pool():
    x = torch.randn(2, 3, 400)
    for width in (5, 9, 25, 55, 95, 97, 301):
        assert torch.equal(window_max(x, width), torch.nn.functional.max_pool1d(x, width, 1))


def test_opening_keeps_runs_at_least_as_long_as_the_window():
    x = torch.zeros(1, 1, 60)
    x[..., 15:25] = 1.0  # a run of 10
    x[..., 35:41] = 1.0  # a run of 6
    out = opening(x, torch.ones(1, 1, 60), 7)  # output frame i is input frame i + 6
    kept = (out[0, 0] > 0.5).nonzero().flatten() + 6
    assert kept.tolist() == list(range(15, 25))


def test_chunked_probabilities_equal_the_whole_file(model, features):
    whole = frame_probabilities(model, features, chunk_frames=len(features))
    for chunk in (97, 1000):
        assert np.allclose(frame_probabilities(model, features, chunk_frames=chunk), whole, atol=1e-5)


def test_outputs_depend_on_input_within_the_margin_only(model, features):
    before = frame_probabilities(model, features)
    changed = features.copy()
    changed[1500] += 10.0
    diff = np.abs(frame_probabilities(model, changed) - before).max(axis=1)
    reach = model.margin + model.pool - 1  # context groups of `pool` frames can reach a little further
    assert diff[1500] > 1e-4
    assert diff[: 1500 - reach].max() < 1e-6 and diff[1500 + reach + 1 :].max() < 1e-6


def test_short_files_and_masked_edges(model, features):
    short = features[:7]
    assert frame_probabilities(model, short).shape == (7, len(NAMES))
    # The same 7 frames inside a longer file score differently: the file's ends count.
    assert not np.allclose(frame_probabilities(model, short), frame_probabilities(model, features)[:7])


DECODING = DecodingConfig([0.4, 0.6, 0.5], [0, 100, 200], [0, 300, 500])


def detector(model):
    return Detector(model, NAMES, FeatureConfig(), DECODING, {"seed": 1})


def test_round_trip(model, features):
    original = detector(model)
    data = original.to_bytes()
    loaded = Detector.from_bytes(data)
    assert loaded.type_names == NAMES and loaded.feature_config == FeatureConfig() and loaded.info == {"seed": 1}
    assert loaded.thresholds == {"glitch": 0.4, "hum": 0.6, "long_pause": 0.5}
    assert loaded.decoding == original.decoding
    assert np.array_equal(loaded.probabilities(features), original.probabilities(features))
    assert len(data) < 200_000


def test_bad_artifacts_are_refused(model):
    with pytest.raises(ValueError, match="not a detector"):
        Detector.from_bytes(b"not a model")
    import io

    buffer = io.BytesIO()
    torch.save({"format": "relay-detector", "format_version": 99}, buffer)
    with pytest.raises(ValueError, match="version 99"):
        Detector.from_bytes(buffer.getvalue())


def test_a_format_1_artifact_runs_as_before():
    import io

    torch.manual_seed(0)
    old = FeatureConfig(version=1, scaled=False)
    network = FrameDetector(old.n_channels, len(NAMES))
    payload = torch.load(io.BytesIO(Detector(network, NAMES, old, DECODING).to_bytes()), weights_only=True)
    payload["format_version"] = 1
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    loaded = Detector.from_bytes(buffer.getvalue())
    x = np.random.default_rng(0).normal(-5, 2, size=(900, old.n_channels)).astype(np.float32)
    assert loaded.feature_config == old and not loaded.feature_config.file_relative
    assert np.array_equal(loaded.probabilities(x), frame_probabilities(network.eval(), x))


def test_unscaled_version_5_artifacts_are_format_3_and_version_2_ones_stay_format_2():
    import io

    torch.manual_seed(0)
    v5 = FeatureConfig(version=5, scaled=False)
    network = FrameDetector(v5.n_channels, len(NAMES))
    data = Detector(network, NAMES, v5, DECODING).to_bytes()
    assert torch.load(io.BytesIO(data), weights_only=True)["format_version"] == 3
    loaded = Detector.from_bytes(data)
    assert loaded.feature_config == v5
    x = np.random.default_rng(0).normal(-5, 2, size=(900, v5.n_channels)).astype(np.float32)
    louder = x.copy()
    louder[:, : v5.n_mels + 1] += 3.0
    assert np.allclose(loaded.probabilities(louder), loaded.probabilities(x), atol=1e-5)
    unscaled = FeatureConfig(version=2, scaled=False)
    v2_data = Detector(FrameDetector(unscaled.n_channels, len(NAMES)), NAMES, unscaled, DECODING).to_bytes()
    assert torch.load(io.BytesIO(v2_data), weights_only=True)["format_version"] == 2
    assert Detector.from_bytes(v2_data).feature_config == unscaled


@pytest.mark.parametrize("version, format_version", [(2, 4), (6, 5)])
def test_scaled_artifacts_are_format_4_or_5_and_read_the_file_relative_to_its_level_and_contrast(
    version, format_version
):
    import io

    torch.manual_seed(0)
    config = FeatureConfig(version=version)
    n_channels = config.n_channels
    assert config.scaled and config.file_scaled
    data = Detector(FrameDetector(n_channels, len(NAMES)), NAMES, config, DECODING).to_bytes()
    assert torch.load(io.BytesIO(data), weights_only=True)["format_version"] == format_version
    loaded = Detector.from_bytes(data)
    assert loaded.feature_config == config
    rng = np.random.default_rng(0)
    x = rng.normal(-5, 2, size=(900, n_channels)).astype(np.float32)
    x[:, config.n_mels] = rng.normal(-4, 2.0, size=900)  # log energy: a spread (p90 - p10) of about 5
    relative = x.copy()
    median = np.median(x[::4, : config.n_mels + 1], axis=0)
    relative[:, : config.n_mels + 1] -= median
    wider = x.copy()
    wider[:, : config.n_mels + 1] = median + 1.4 * relative[:, : config.n_mels + 1] + 3.0  # louder, more contrast
    assert np.allclose(loaded.probabilities(wider), loaded.probabilities(x), atol=1e-4)
    plain = Detector(loaded.model, NAMES, FeatureConfig(version=version, scaled=False), DECODING)
    assert not np.allclose(plain.probabilities(wider), plain.probabilities(x), atol=1e-3)


def test_version_2_features_are_read_relative_to_the_file(model, features):
    louder = features.copy()
    louder[:, : FeatureConfig().n_mels + 1] += 3.0  # the same file, louder
    assert np.allclose(detector(model).probabilities(louder), detector(model).probabilities(features), atol=1e-5)


def test_features_must_match_the_config(model):
    with pytest.raises(ValueError, match="features must be"):
        detector(model).probabilities(np.zeros((10, 5), dtype=np.float32))


def test_decoding_defaults_and_overrides(model):
    d = detector(model)
    probs = np.zeros((100, 3), dtype=np.float32)
    probs[10, 0] = 0.45  # a one-frame glitch above glitch's 0.4
    probs[20:40, 1] = 0.65  # 200 ms of hum: shorter than hum's 300 ms minimum
    probs[50:90, 1] = 0.65  # 400 ms of hum
    assert d.decode(probs) == [("glitch", 100, 110, pytest.approx(0.45)), ("hum", 500, 900, pytest.approx(0.65))]
    assert d.decode(probs, threshold=0.5) == [("hum", 500, 900, pytest.approx(0.65))]
    assert d.decode(probs, threshold={"hum": 0.7}) == [("glitch", 100, 110, pytest.approx(0.45))]
    assert [e[1:3] for e in d.decode(probs, min_duration_ms=0)] == [(100, 110), (200, 400), (500, 900)]
    assert [e[1:3] for e in d.decode(probs, min_duration_ms=0, merge_window_ms=150)] == [(100, 110), (200, 900)]
    with pytest.raises(ValueError, match="unknown types"):
        d.decode(probs, threshold={"click": 0.1})


def test_detect_runs_the_whole_chain(model, features):
    found = detector(model).detect(features, threshold=0.0, min_duration_ms=0)
    assert {name for name, *_ in found} == set(NAMES)
    assert all(0 <= start < end <= 30000 and 0 <= conf <= 1 for _, start, end, conf in found)


def test_a_file_is_decoded_as_what_its_bytes_are_whatever_it_was_declared(tmp_path):
    import soundfile as sf

    from detector.audio import decode_to_canonical, detect_content_type

    path = tmp_path / "really-flac.wav"
    sf.write(path, np.zeros(16000, dtype=np.float32), 16000, format="FLAC")
    assert detect_content_type(path) == "audio/flac"
    info = decode_to_canonical(path, tmp_path / "out.flac", content_type="audio/wav")
    assert info.content_type == "audio/flac" and info.frames == 16000
    text = tmp_path / "notes.wav"
    text.write_bytes(b"not audio at all\n" * 50)
    assert detect_content_type(text) is None
