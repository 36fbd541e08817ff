"""Frame probabilities -> events: the one decoding used by training evaluation and inference.

Frame i stands for [i * frame_ms, (i + 1) * frame_ms). For each type, frames whose
probability is at least the type's threshold form runs; runs of the same type whose gap
is shorter than `merge_window_ms` are merged; events shorter than `min_duration_ms` are
dropped (0 keeps a single frame: a 3 ms click is one 10 ms frame). A detection's
confidence is the highest frame probability inside it. Thresholds, merge windows and
minimum durations may each be one number for all types or one per type.
"""

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np


class Detection(NamedTuple):
    type_index: int
    start_ms: float
    end_ms: float
    confidence: float


def per_type(value, n_types, name) -> np.ndarray:
    """A number or a sequence of `n_types` numbers -> float array of `n_types`."""
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        return np.full(n_types, float(array))
    if array.shape != (n_types,):
        raise ValueError(f"{name} needs one value or {n_types} (one per type), got {array.shape[0]}")
    return array


def decode_events(probs, frame_ms, thresholds=0.5, merge_window_ms=0.0, min_duration_ms=0.0) -> list[Detection]:
    """Events of every type in `probs` (frames, n_types), sorted by start then type."""
    probs = np.asarray(probs, dtype=np.float32)
    if probs.ndim != 2:
        raise ValueError("probs must be (frames, n_types)")
    n_frames, n_types = probs.shape
    thr = per_type(thresholds, n_types, "thresholds")
    merge = per_type(merge_window_ms, n_types, "merge_window_ms")
    min_dur = per_type(min_duration_ms, n_types, "min_duration_ms")
    if n_frames == 0 or n_types == 0:
        return []

    # One row per type with a closing inactive frame, flattened: runs never cross types.
    stride = n_frames + 1
    padded = np.zeros((n_types, stride), dtype=np.float32)
    padded[:, :n_frames] = probs.T
    active = np.zeros((n_types, stride + 1), dtype=bool)
    active[:, 1:] = padded >= thr[:, None]
    active[:, -1] = False
    edges = np.diff(active.astype(np.int8), axis=1).ravel()  # (n_types * stride,)
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)  # exclusive
    if not len(starts):
        return []
    types = starts // stride

    # Merge runs of one type separated by less than the type's merge window.
    gap_ms = (starts[1:] - ends[:-1]) * frame_ms
    same_type = types[1:] == types[:-1]
    new_group = np.ones(len(starts), dtype=bool)
    new_group[1:] = ~(same_type & (gap_ms < merge[types[1:]]))
    first = np.flatnonzero(new_group)
    last = np.r_[first[1:], len(starts)] - 1
    g_start, g_end, g_type = starts[first], ends[last], types[first]

    # Highest probability in each [start, end): reduceat over interleaved bounds.
    flat = padded.ravel()
    bounds = np.empty(2 * len(g_start), dtype=np.int64)
    bounds[0::2], bounds[1::2] = g_start, g_end
    confidence = np.maximum.reduceat(flat, bounds)[0::2]

    local_start = g_start - g_type * stride
    local_end = g_end - g_type * stride
    duration = (local_end - local_start) * frame_ms
    keep = duration >= min_dur[g_type]
    order = np.lexsort((g_type[keep], local_start[keep]))
    s, e, t, c = local_start[keep][order], local_end[keep][order], g_type[keep][order], confidence[keep][order]
    return [
        Detection(int(ti), float(si * frame_ms), float(ei * frame_ms), float(ci))
        for ti, si, ei, ci in zip(t, s, e, c, strict=True)
    ]


def events_to_frames(events: Sequence, n_frames: int, n_types: int, frame_ms: float) -> np.ndarray:
    """Frame targets (n_frames, n_types) uint8 of (type_index, start_ms, end_ms) events.

    A frame is positive when the event covers at least half of it, or half of the event
    when the event is shorter than a frame (a 3 ms click marks the frame holding most of it).
    """
    target = np.zeros((n_frames, n_types), dtype=np.uint8)
    for event in events:
        type_index, start, end = int(event[0]), float(event[1]) / frame_ms, float(event[2]) / frame_ms
        if end <= start or end <= 0 or start >= n_frames:
            continue
        need = min(0.5, (end - start) / 2) - 1e-9
        first, last = int(np.floor(start)), int(np.ceil(end)) - 1
        if min(end, first + 1) - start < need:
            first += 1
        if end - max(start, last) < need:
            last -= 1
        first, last = max(first, 0), min(last, n_frames - 1)
        if first <= last:
            target[first : last + 1, type_index] = 1
    return target
