"""Event-based precision, recall and F1 (DCASE style), per type, macro and micro.

A detection matches a reference event of the same type in the same file when its onset is
within `onset_collar_ms` (200) of the reference onset and its offset within
max(`offset_collar_ms` (200), `offset_collar_rate` (20%) x the reference's length) of the
reference offset, both bounds inclusive. Each reference matches at most one detection and
vice versa, and the matching is a maximum one (the most pairs possible; among those, the
smallest total onset + offset deviation), found per connected group of candidate pairs
with the Hungarian algorithm. A greedy first-come matching can pair a detection with the
"wrong" of two close references and lose a match that exists; this one cannot.

Counts: tp = matched pairs, fp = unmatched detections, fn = unmatched references.
precision = tp / (tp + fp), recall = tp / (tp + fn), f1 = 2 tp / (2 tp + fp + fn); each
is None where its denominator is 0 (e.g. a type with neither references nor detections).
macro_f1 is the mean of the per-type F1s that are defined; micro_f1 pools the counts.
"""

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

EVALUATION = "event-based, onset collar 200 ms, offset collar max(200 ms, 20%)"


def match_events(
    references, detections, onset_collar_ms=200.0, offset_collar_ms=200.0, offset_collar_rate=0.2
) -> list[tuple[int, int]]:
    """Maximum matching of (start_ms, end_ms) references and detections: [(ref_i, det_j)]."""
    refs = np.asarray(references, dtype=np.float64).reshape(-1, 2)
    dets = np.asarray(detections, dtype=np.float64).reshape(-1, 2)
    if not len(refs) or not len(dets):
        return []
    # Candidate pairs: detections whose onset lies within the collar of a reference onset.
    order = np.argsort(refs[:, 0], kind="stable")
    ref_on = refs[order, 0]
    lo = np.searchsorted(ref_on, dets[:, 0] - onset_collar_ms, side="left")
    hi = np.searchsorted(ref_on, dets[:, 0] + onset_collar_ms, side="right")
    counts = hi - lo
    det_idx = np.repeat(np.arange(len(dets)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    ref_idx = order[np.repeat(lo, counts) + offsets]
    onset_dev = np.abs(dets[det_idx, 0] - refs[ref_idx, 0])
    offset_dev = np.abs(dets[det_idx, 1] - refs[ref_idx, 1])
    collar = np.maximum(offset_collar_ms, offset_collar_rate * (refs[ref_idx, 1] - refs[ref_idx, 0]))
    ok = (onset_dev <= onset_collar_ms) & (offset_dev <= collar)
    ref_idx, det_idx, deviation = ref_idx[ok], det_idx[ok], (onset_dev + offset_dev)[ok]
    if not len(ref_idx):
        return []

    # Split the bipartite graph into connected groups; most are a single pair.
    n_r = len(refs)
    graph = coo_matrix((np.ones(len(ref_idx)), (ref_idx, n_r + det_idx)), shape=(n_r + len(dets),) * 2)
    _, label = connected_components(graph, directed=False)
    group = label[ref_idx]
    sizes = np.bincount(group)
    single = sizes[group] == 1
    pairs = list(zip(ref_idx[single].tolist(), det_idx[single].tolist(), strict=True))
    scale = float(deviation.max()) + 1.0
    for g in np.unique(group[~single]):
        sel = group == g
        r_ids, r_pos = np.unique(ref_idx[sel], return_inverse=True)
        d_ids, d_pos = np.unique(det_idx[sel], return_inverse=True)
        # Any feasible pair costs < 1, an infeasible one more than all feasible ones together:
        # the optimum has the most feasible pairs, then the least deviation.
        cost = np.full((len(r_ids), len(d_ids)), float(len(r_ids) + len(d_ids) + 1))
        cost[r_pos, d_pos] = deviation[sel] / scale
        rows, cols = linear_sum_assignment(cost)
        feasible = cost[rows, cols] < 1.0
        pairs += list(zip(r_ids[rows[feasible]].tolist(), d_ids[cols[feasible]].tolist(), strict=True))
    return sorted(pairs)


def _ratio(num, den):
    return None if den == 0 else float(num) / float(den)


def event_metrics(
    references: Mapping[str, Sequence],
    detections: Mapping[str, Sequence],
    type_names,
    onset_collar_ms=200.0,
    offset_collar_ms=200.0,
    offset_collar_rate=0.2,
) -> dict:
    """Scores of detections against references, both {file_key: [(type_index, start_ms, end_ms, ...)]}.

    Files in either mapping count (a file missing from `detections` has none).
    Returns {"per_type": {name: {"precision", "recall", "f1", "support", "tp", "fp", "fn"}}, "macro_f1",
    "micro_f1"}.
    """
    n_types = len(type_names)
    tp, fp, fn = np.zeros(n_types, int), np.zeros(n_types, int), np.zeros(n_types, int)
    for key in set(references) | set(detections):
        refs, dets = list(references.get(key, ())), list(detections.get(key, ()))
        for t in range(n_types):
            r = [(e[1], e[2]) for e in refs if int(e[0]) == t]
            d = [(e[1], e[2]) for e in dets if int(e[0]) == t]
            matched = len(match_events(r, d, onset_collar_ms, offset_collar_ms, offset_collar_rate))
            tp[t] += matched
            fp[t] += len(d) - matched
            fn[t] += len(r) - matched
    per_type = {}
    for t, name in enumerate(type_names):
        per_type[name] = {
            "precision": _ratio(tp[t], tp[t] + fp[t]),
            "recall": _ratio(tp[t], tp[t] + fn[t]),
            "f1": _ratio(2 * tp[t], 2 * tp[t] + fp[t] + fn[t]),
            "support": int(tp[t] + fn[t]),
            "tp": int(tp[t]),
            "fp": int(fp[t]),
            "fn": int(fn[t]),
        }
    defined = [v["f1"] for v in per_type.values() if v["f1"] is not None]
    return {
        "per_type": per_type,
        "macro_f1": float(np.mean(defined)) if defined else None,
        "micro_f1": _ratio(2 * tp.sum(), 2 * tp.sum() + fp.sum() + fn.sum()),
    }
