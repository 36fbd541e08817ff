"""The synthetic data generator: determinism, formats, and labels exactly where the artifacts are."""

import numpy as np
import pytest

from detector.synth import ALL_KINDS, synthesize

DURATIONS_MS = {
    "glitch": (2, 20),
    "dropout": (20, 300),
    "long_pause": (1000, 3500),
    "hum": (500, 5000),
    "clipping": (1, 1000),
}


@pytest.fixture(scope="module")
def rec():
    return synthesize(11, 40, 16000, 1, events_per_minute=6, keep_clean=True)


def test_deterministic_for_a_seed():
    a, b, c = synthesize(5, 6, 8000), synthesize(5, 6, 8000), synthesize(6, 6, 8000)
    assert np.array_equal(a.samples, b.samples) and a.events == b.events
    assert not np.array_equal(a.samples, c.samples)


@pytest.mark.parametrize("rate, channels", [(8000, 1), (22050, 2), (44100, 1), (48000, 2)])
def test_formats(rate, channels):
    r = synthesize(3, 5, rate, channels)
    shape = (5 * rate,) if channels == 1 else (5 * rate, channels)
    assert r.samples.shape == shape and r.samples.dtype == np.float32 and r.sample_rate == rate
    assert np.abs(r.samples).max() <= 1.0


def test_the_same_seed_gives_the_same_events_at_any_rate():
    a, b = synthesize(9, 20, 8000), synthesize(9, 20, 48000, 2)
    assert [e.kind for e in a.events] == [e.kind for e in b.events]
    for x, y in zip(a.events, b.events, strict=True):
        if x.kind != "clipping":  # clipping ends where the samples actually clip
            assert abs(x.start_ms - y.start_ms) <= 0.125 and abs(x.end_ms - y.end_ms) <= 0.125


def test_every_kind_with_lengths_in_range(rec):
    kinds = {e.kind for e in rec.events}
    assert kinds == set(ALL_KINDS)
    for e in rec.events:
        low, high = DURATIONS_MS[e.kind]
        assert low - 0.2 <= e.end_ms - e.start_ms <= high + 0.2, e


def test_signal_changes_only_inside_labels(rec):
    """Away from labels (and clipping's gain ramps of up to 40 ms) the signal is the clean one."""
    sr = rec.sample_rate
    inside = np.zeros(len(rec.samples), dtype=bool)
    for e in rec.events:
        pad = 0.045 if e.kind == "clipping" else 0.0
        inside[int(e.start_ms / 1000 * sr - pad * sr) : int(np.ceil(e.end_ms / 1000 * sr + pad * sr))] = True
    assert np.array_equal(rec.samples[~inside], rec.clean[~inside])


def test_glitch_and_dropout_labels_are_tight(rec):
    sr = rec.sample_rate
    for e in rec.events:
        a, b = round(e.start_ms * sr / 1000), round(e.end_ms * sr / 1000)
        if e.kind in ("glitch", "dropout"):
            assert rec.samples[a] != rec.clean[a] and rec.samples[b - 1] != rec.clean[b - 1], e
        if e.detail == "digital silence":
            assert not rec.samples[a:b].any()


def test_clipping_labels_span_the_clipped_samples(rec):
    sr = rec.sample_rate
    for e in [e for e in rec.events if e.kind == "clipping"]:
        a, b = round(e.start_ms * sr / 1000), round(e.end_ms * sr / 1000)
        level = np.abs(rec.samples[a:b]).max()
        assert abs(abs(rec.samples[a]) - level) < 1e-6 and abs(abs(rec.samples[b - 1]) - level) < 1e-6
        near = rec.samples[a - sr // 20 : b + sr // 20]
        assert (np.abs(near) >= level - 1e-6).sum() == (np.abs(rec.samples[a:b]) >= level - 1e-6).sum()
        assert level > np.abs(rec.clean).max()  # clipping is louder than anything else


def test_pauses_hold_room_noise_only_and_no_other_gap_reaches_a_second(rec):
    sr = rec.sample_rate
    words = np.zeros(len(rec.samples), dtype=bool)
    for a, b in rec.active_ms:
        words[int(a * sr / 1000) : int(b * sr / 1000)] = True
    speech_rms = np.sqrt(np.mean(rec.clean[words] ** 2))
    pauses = [e for e in rec.events if e.kind == "long_pause"]
    for e in pauses:
        span = rec.clean[int(e.start_ms * sr / 1000) + sr // 5 : int(e.end_ms * sr / 1000)]  # past any reverb tail
        assert np.sqrt(np.mean(span**2)) < speech_rms / 20
    starts = [a for a, _ in rec.active_ms] + [rec.duration_ms]
    ends = [0.0] + [b for _, b in rec.active_ms]
    gaps = [(e, s) for e, s in zip(ends, starts, strict=True)]
    long_gaps = [(e, s) for e, s in gaps if s - e >= 1000]
    assert long_gaps == [(p.start_ms, p.end_ms) for p in pauses]
    assert max(s - e for e, s in gaps if s - e < 1000) > 200  # natural gaps exist too


def test_kinds_and_styles():
    assert synthesize(1, 10, kinds=()).events == []
    r = synthesize(1, 30, 16000, kinds=("hum", "glitch"), style="music", events_per_minute=8)
    assert {e.kind for e in r.events} == {"hum", "glitch"}
    with pytest.raises(ValueError):
        synthesize(1, 10, 96000)
    with pytest.raises(ValueError):
        synthesize(1, 10, kinds=("noise",))
