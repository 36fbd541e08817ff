"""decode_events: thresholds, merging, minimum durations, confidences; frame targets of events."""

import numpy as np
import pytest

from detector.events import Detection, decode_events, events_to_frames


def probs_of(*columns):
    return np.array(columns, dtype=np.float32).T


def test_single_frame_click_is_kept_with_no_minimum_duration():
    probs = probs_of([0, 0, 0.9, 0, 0])
    assert decode_events(probs, 10.0, 0.5) == [Detection(0, 20.0, 30.0, pytest.approx(0.9))]
    assert decode_events(probs, 10.0, 0.5, min_duration_ms=10) == [Detection(0, 20.0, 30.0, pytest.approx(0.9))]
    assert decode_events(probs, 10.0, 0.5, min_duration_ms=11) == []


def test_threshold_is_inclusive_and_runs_touch_both_ends():
    probs = probs_of([0.5, 0.6, 0.1, 0.2, 0.7, 0.8])
    found = decode_events(probs, 10.0, 0.5)
    assert [(d.start_ms, d.end_ms) for d in found] == [(0.0, 20.0), (40.0, 60.0)]
    assert [d.confidence for d in found] == pytest.approx([0.6, 0.8])


def test_runs_closer_than_the_merge_window_merge():
    # Runs [0, 20) and [40, 50) ms: a 20 ms gap.
    probs = probs_of([0.9, 0.9, 0.1, 0.2, 0.95, 0.1])
    assert len(decode_events(probs, 10.0, 0.5, merge_window_ms=20)) == 2  # not closer than 20 ms
    merged = decode_events(probs, 10.0, 0.5, merge_window_ms=21)
    assert merged == [Detection(0, 0.0, 50.0, pytest.approx(0.95))]  # the gap's low frames do not lower it


def test_minimum_duration_applies_after_merging():
    probs = probs_of([0.9, 0.1, 0.9, 0.1, 0.1, 0.1])
    assert decode_events(probs, 10.0, 0.5, merge_window_ms=0, min_duration_ms=30) == []
    assert decode_events(probs, 10.0, 0.5, merge_window_ms=15, min_duration_ms=30) == [
        Detection(0, 0.0, 30.0, pytest.approx(0.9))
    ]


def test_types_never_merge_and_output_is_sorted_by_start_then_type():
    probs = probs_of([0.0, 0.9, 0.9, 0.0], [0.9, 0.9, 0.0, 0.0], [0.0, 0.9, 0.0, 0.9])
    found = decode_events(probs, 10.0, 0.5, merge_window_ms=100)
    assert [(d.type_index, d.start_ms, d.end_ms) for d in found] == [(1, 0.0, 20.0), (0, 10.0, 30.0), (2, 10.0, 40.0)]


def test_per_type_settings():
    probs = probs_of([0.6, 0.6, 0.0, 0.6], [0.6, 0.0, 0.0, 0.6])
    found = decode_events(probs, 10.0, thresholds=[0.5, 0.7])
    assert [(d.type_index, d.start_ms, d.end_ms) for d in found] == [(0, 0.0, 20.0), (0, 30.0, 40.0)]
    found = decode_events(probs, 10.0, 0.5, merge_window_ms=[0, 30], min_duration_ms=[20, 0])
    assert [(d.type_index, d.start_ms, d.end_ms) for d in found] == [(0, 0.0, 20.0), (1, 0.0, 40.0)]
    with pytest.raises(ValueError, match="one per type"):
        decode_events(probs, 10.0, thresholds=[0.5, 0.5, 0.5])


def test_empty_inputs():
    assert decode_events(np.zeros((0, 3)), 10.0) == []
    assert decode_events(np.zeros((5, 2)), 10.0) == []
    with pytest.raises(ValueError):
        decode_events(np.zeros(5), 10.0)


def naive_decode(probs, frame_ms, thr, merge, min_dur):
    out = []
    for t in range(probs.shape[1]):
        runs, start = [], None
        for i, p in enumerate(list(probs[:, t]) + [-1.0]):
            if p >= thr and start is None:
                start = i
            elif p < thr and start is not None:
                runs.append([start, i])
                start = None
        merged = []
        for run in runs:
            if merged and (run[0] - merged[-1][1]) * frame_ms < merge:
                merged[-1][1] = run[1]
            else:
                merged.append(run)
        for a, b in merged:
            if (b - a) * frame_ms >= min_dur:
                out.append((t, a * frame_ms, b * frame_ms, float(probs[a:b, t].max())))
    return sorted(out, key=lambda d: (d[1], d[0]))


@pytest.mark.parametrize("seed", range(5))
def test_matches_a_plain_loop_on_random_inputs(seed):
    rng = np.random.default_rng(seed)
    probs = rng.random((500, 4)).astype(np.float32) ** 3
    expected = naive_decode(probs, 10.0, 0.3, 40.0, 20.0)
    found = decode_events(probs, 10.0, 0.3, 40.0, 20.0)
    assert len(expected) > 20
    assert [tuple(d) for d in found] == expected  # both take the same float32 maximum


def test_frames_of_events():
    frames = events_to_frames([(0, 1002, 1005), (1, 995, 1008), (0, 2003, 2047)], 300, 2, 10.0)
    assert np.flatnonzero(frames[:, 0]).tolist() == [100, 200, 201, 202, 203, 204]  # 2047 covers 70% of frame 204
    assert np.flatnonzero(frames[:, 1]).tolist() == [99, 100]  # 5 ms (half a frame) in 99, 8 ms in 100
    assert events_to_frames([(0, 2999, 4000)], 300, 1, 10.0)[:, 0].sum() == 0  # past the end
