"""Event-based metrics on hand-worked cases (onset collar 200 ms, offset max(200 ms, 20%))."""

import itertools

import numpy as np
import pytest

from detector.metrics import EVALUATION, event_metrics, match_events

NAMES = ["glitch", "hum"]


def scores(refs, dets, names=NAMES):
    return event_metrics(refs, dets, names)


def test_exact_match():
    result = scores({"a": [(0, 100, 110), (1, 1000, 5000)]}, {"a": [(0, 100, 110, 0.9), (1, 1000, 5000, 0.8)]})
    assert result["per_type"]["glitch"] == {
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
        "support": 1,
        "tp": 1,
        "fp": 0,
        "fn": 0,
    }
    assert result["macro_f1"] == 1.0 and result["micro_f1"] == 1.0


@pytest.mark.parametrize("onset_shift, matches", [(200, True), (-200, True), (201, False), (-201, False)])
def test_onset_collar_is_200_ms_inclusive(onset_shift, matches):
    assert bool(match_events([(1000, 1300)], [(1000 + onset_shift, 1300)])) is matches


@pytest.mark.parametrize(
    "ref, det_end, matches",
    [
        ((0, 500), 700, True),  # 20% of 500 is 100: the 200 ms floor applies
        ((0, 500), 701, False),
        ((0, 2000), 2400, True),  # 20% of 2000 = 400 ms
        ((0, 2000), 1600, True),
        ((0, 2000), 2401, False),
        ((0, 2000), 1599, False),
    ],
)
def test_offset_collar_is_the_larger_of_200_ms_and_20_percent(ref, det_end, matches):
    assert bool(match_events([ref], [(ref[0], det_end)])) is matches


def test_types_and_files_never_match_across():
    result = scores(
        {"a": [(0, 0, 100)], "b": [(1, 0, 1000)]}, {"a": [(1, 0, 100)], "b": [(1, 0, 1000)], "c": [(0, 0, 10)]}
    )
    glitch, hum = result["per_type"]["glitch"], result["per_type"]["hum"]
    assert (glitch["precision"], glitch["recall"], glitch["f1"], glitch["support"]) == (0.0, 0.0, 0.0, 1)
    # hum: one match in b, one false alarm in a -> P 1/2, R 1/1, F1 2/3
    assert (hum["precision"], hum["recall"], hum["f1"], hum["support"]) == (0.5, 1.0, pytest.approx(2 / 3), 1)


def test_counting_precision_recall_f1():
    refs = {"a": [(0, 0, 10), (0, 5000, 5010), (0, 9000, 9010)]}
    dets = {"a": [(0, 5050, 5060), (0, 7000, 7010)]}
    glitch = scores(refs, dets)["per_type"]["glitch"]
    assert glitch["precision"] == 0.5
    assert glitch["recall"] == pytest.approx(1 / 3)
    assert glitch["f1"] == pytest.approx(2 * 1 / (2 * 1 + 1 + 2))  # 0.4
    assert glitch["support"] == 3


def test_each_event_matches_once():
    # Two detections of one reference: one true positive, one false positive.
    glitch = scores({"a": [(0, 1000, 1010)]}, {"a": [(0, 1000, 1010), (0, 1050, 1060)]})["per_type"]["glitch"]
    assert (glitch["precision"], glitch["recall"]) == (0.5, 1.0)


def test_matching_is_maximum_not_first_come():
    # d1 fits r1 and r2, d2 fits r1 only. Taking d1 for r1 first would leave r2 unmatched.
    refs = [(0, 1000), (300, 1300)]
    dets = [(150, 1150), (-100, 900)]
    assert match_events(refs, dets) == [(0, 1), (1, 0)]
    result = scores({"f": [(0, *r) for r in refs]}, {"f": [(0, *d) for d in dets]})
    assert result["per_type"]["glitch"]["f1"] == 1.0


def test_ties_go_to_the_closest_pairs():
    refs = [(1000, 1010), (1100, 1110)]
    dets = [(1095, 1105), (1005, 1015)]
    assert match_events(refs, dets) == [(0, 1), (1, 0)]


def test_macro_and_micro():
    refs = {"a": [(0, 0, 10), (0, 1000, 1010), (0, 2000, 2010), (1, 5000, 6000)]}
    dets = {"a": [(0, 0, 10), (0, 1000, 1010), (0, 2000, 2010)]}
    result = scores(refs, dets)
    assert result["per_type"]["glitch"]["f1"] == 1.0
    assert result["per_type"]["hum"]["f1"] == 0.0 and result["per_type"]["hum"]["precision"] is None
    assert result["macro_f1"] == 0.5
    assert result["micro_f1"] == pytest.approx(2 * 3 / (2 * 3 + 0 + 1))


def test_types_without_events_are_left_out_of_the_macro_average():
    result = scores({"a": [(0, 0, 10)]}, {"a": [(0, 0, 10)]}, names=["glitch", "hum", "dropout"])
    assert result["per_type"]["hum"] == {
        "precision": None,
        "recall": None,
        "f1": None,
        "support": 0,
        "tp": 0,
        "fp": 0,
        "fn": 0,
    }
    assert result["macro_f1"] == 1.0
    assert scores({}, {})["macro_f1"] is None and scores({}, {})["micro_f1"] is None


def brute_force_max_matching(refs, dets):
    def ok(r, d):
        return abs(d[0] - r[0]) <= 200 and abs(d[1] - r[1]) <= max(200, 0.2 * (r[1] - r[0]))

    best = 0
    for perm in itertools.permutations(range(len(dets)), min(len(refs), len(dets))):
        best = max(best, sum(ok(refs[i], dets[j]) for i, j in enumerate(perm)))
    return best


@pytest.mark.parametrize("seed", range(20))
def test_matching_size_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    refs = [(s, s + rng.integers(10, 1500)) for s in rng.integers(0, 1500, size=rng.integers(1, 6))]
    dets = [(s, s + rng.integers(10, 1500)) for s in rng.integers(0, 1500, size=rng.integers(1, 6))]
    pairs = match_events(refs, dets)
    assert len({i for i, _ in pairs}) == len(pairs) == len({j for _, j in pairs})
    assert len(pairs) == brute_force_max_matching(refs, dets)


def test_evaluation_label():
    assert EVALUATION == "event-based, onset collar 200 ms, offset collar max(200 ms, 20%)"
