"""Our event-based metrics equal those of sed_eval, the DCASE reference implementation,
on the same inputs (onset collar 200 ms, offset collar max(200 ms, 20%), optimal matching)."""

import warnings

import numpy as np
import pytest

from detector.metrics import event_metrics

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # dcase_util's own deprecation warnings
    import dcase_util
    import sed_eval

TYPES = ["glitch", "dropout", "hum"]


def reference_counts(references, detections, type_names):
    """{type: (tp, fp, fn)} by sed_eval, for events given as (type_index, start_ms, end_ms)."""

    def container(events_by_file):
        return dcase_util.containers.MetaDataContainer(
            [
                {"filename": key, "event_label": type_names[t], "onset": s / 1000, "offset": e / 1000}
                for key, events in events_by_file.items()
                for t, s, e in events
            ]
        )

    metric = sed_eval.sound_event.EventBasedMetrics(
        event_label_list=type_names,
        t_collar=0.2,
        percentage_of_length=0.2,
        evaluate_onset=True,
        evaluate_offset=True,
        event_matching_type="optimal",
    )
    refs, dets = container(references), container(detections)
    for key in sorted(set(references) | set(detections)):
        metric.evaluate(reference_event_list=refs.filter(filename=key), estimated_event_list=dets.filter(filename=key))
    return {name: tuple(int(metric.class_wise[name][k]) for k in ("Ntp", "Nfp", "Nfn")) for name in type_names}


def random_events(rng, n, jitter=None, base=None):
    """n events, or `base` moved by up to `jitter` ms (off whole milliseconds: no exact ties at a collar)."""
    if base is not None:
        moved = [(t, s + rng.uniform(-jitter, jitter), e + rng.uniform(-jitter, jitter)) for t, s, e in base]
        return [(t, s + 0.37, max(e, s + 5) + 0.37) for t, s, e in moved if rng.random() < 0.85]
    starts = np.sort(rng.uniform(0, 60_000, size=n))
    return [(int(rng.integers(0, len(TYPES))), float(s), float(s + rng.uniform(5, 3000))) for s in starts]


@pytest.mark.parametrize("seed", range(6))
def test_counts_equal_the_reference_implementation(seed):
    rng = np.random.default_rng(seed)
    references, detections = {}, {}
    for key in ("a", "b", "c"):
        references[key] = random_events(rng, 25)
        detections[key] = random_events(rng, 0, jitter=250, base=references[key]) + random_events(rng, 5)
    ours = event_metrics(references, detections, TYPES)
    theirs = reference_counts(references, detections, TYPES)
    for name in TYPES:
        mine = ours["per_type"][name]
        assert (mine["tp"], mine["fp"], mine["fn"]) == theirs[name], name
