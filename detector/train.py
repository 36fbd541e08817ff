"""Training the frame detector on labelled files, with validation, calibration and metrics.

What the configuration means:

- `chunk_size_ms` (500) is the labelled *target window* of one training example: the
  loss is taken on its frames only. The example's input is that window plus the model's
  context (`FrameDetector.margin`, 1 s) on each side, read from the same file (or marked
  as outside the file at its ends, as at inference), so a 500 ms window is still judged
  with the seconds of context around it that tell a 1 s pause from a 300 ms gap.
- `stride_ms` (250) is the step between the starts of consecutive target windows in a
  file; one epoch visits every window of every training file once, in a seeded random
  order. Each start is jittered by up to half a stride every epoch (time-shift
  augmentation), so with 500/250 every frame is a target about twice per epoch (and an
  epoch costs about twice as much as with stride_ms=500).
- Consecutive windows of a file (8 at a time) are trained as one packed example: the
  network runs once over their union plus the margins, and each frame's loss counts
  once for every window that holds it. The loss of an epoch is the same sum over the
  same windows as with one example per window; the shared context is computed once
  (training about 1.4x faster at equal or better held-out F1 over 4 seeds).
- `batch_size` windows make one optimiser step; `learning_rate` is AdamW's peak rate,
  decayed along a cosine over `epochs`.
- `validation_split` of the files (at least one, at most all but one; split by file,
  seeded) never train: they choose the best epoch (lowest validation loss; training
  stops early after max(4, epochs // 4) epochs without a new best), calibrate each
  type's threshold, merge window and minimum duration, and give the reported metrics.
  Among a few seeded splits the first whose validation files hold every labelled type
  is taken. The reported metrics are thus measured on the files the decoding was tuned
  on: slightly optimistic for unseen files.

Augmentation (detector.augment), drawn per file and epoch: the file's features or
those of the same audio at a lower sample rate (emulated once per file), a gain of
+-8 dB computed exactly through the log features, a spectral tilt of +-3 dB; and the
window jitter above. Also: per-type positive weights in the BCE loss for rare types,
gradient clipping, and an exponential moving average of the weights (what is validated
and kept). Training needs at least 2 files (a ValueError otherwise). Deterministic for
a seed on a given machine and torch thread count.

Memory: about 4-5x the training features' size on top of the caller's arrays and
torch's ~250 MB (the features of an hour of audio are 96 MB).
"""

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from detector.artifact import DecodingConfig, Detector, frame_probabilities
from detector.augment import BandLimiter, apply_gain_and_tilt
from detector.events import decode_events, events_to_frames
from detector.features import FeatureConfig
from detector.metrics import EVALUATION, event_metrics
from detector.model import FrameDetector

THRESHOLD_GRID = np.round(np.arange(0.05, 0.96, 0.05), 2)
MERGE_GRID = (0.0, 50.0, 100.0, 200.0, 400.0)
MIN_DURATION_GRID = (0.0, 20.0, 50.0, 100.0, 200.0, 300.0, 400.0, 700.0)
MIN_DURATION_CAP = 0.75  # the longest minimum duration tried: this x the type's 5th-percentile labelled length
DEFAULT_DECODING = (0.5, 100.0, 0.0)  # threshold, merge window, min duration: kept on ties
QUICK_THRESHOLDS = (0.3, 0.5, 0.7)
BANDLIMIT_MIN_RATE = 8000.0
EMA_DECAY = 0.998
WINDOWS_PER_PACK = 8  # consecutive training windows run as one example (see train_detector)
MAX_POS_WEIGHT = 30.0  # positive frames of a type weigh sqrt(negatives / positives), at most this
GAIN_DB = 8.0  # augmentation: gain drawn from +-GAIN_DB per file and epoch
TILT_DB = 3.0  # ... and a spectral tilt from +-TILT_DB


class TrainingCancelled(Exception):
    """should_cancel() returned True: training stopped between two batches."""


@dataclass
class TrainFile:
    key: str  # the audio file's id
    features: np.ndarray  # (frames, FeatureConfig().n_channels) float32 from FeatureExtractor, 10 ms frames
    events: list[tuple[int, int, int]]  # (type_index, start_ms, end_ms)
    source_sample_rate: int


@dataclass
class TrainConfig:
    epochs: int = 20  # 1-100
    learning_rate: float = 1e-3  # 1e-4..0.1
    batch_size: int = 32  # 8-256
    chunk_size_ms: int = 500  # target window of one example (see the module docstring)
    stride_ms: int = 250  # step between target windows
    validation_split: float = 0.2  # 0.1-0.5, split by file, seeded
    seed: int = 0


@dataclass
class TrainResult:
    detector: Detector
    metrics: dict  # event metrics on the validation files (see detector.metrics)
    history: list[dict] = field(default_factory=list)  # one info dict per epoch run
    best_epoch: int = 0
    epochs_run: int = 0
    stopped_early: bool = False
    train_keys: list[str] = field(default_factory=list)
    validation_keys: list[str] = field(default_factory=list)
    seconds: float = 0.0
    device: str = "cpu"


def _check(config: TrainConfig):
    problems = []
    if not 1 <= config.epochs <= 100:
        problems.append("epochs must be 1-100")
    if not 1e-4 <= config.learning_rate <= 0.1:
        problems.append("learning_rate must be 0.0001-0.1")
    if not 8 <= config.batch_size <= 256:
        problems.append("batch_size must be 8-256")
    if not 10 <= config.chunk_size_ms <= 60000:
        problems.append("chunk_size_ms must be 10-60000")
    if not 10 <= config.stride_ms <= 60000:
        problems.append("stride_ms must be 10-60000")
    if not 0.1 <= config.validation_split <= 0.5:
        problems.append("validation_split must be 0.1-0.5")
    if problems:
        raise ValueError("; ".join(problems))


def split_files(files: Sequence[TrainFile], n_types: int, validation_split: float, seed: int):
    """(train indices, validation indices): by file, seeded, preferring a validation set with every type."""
    n = len(files)
    n_val = min(n - 1, max(1, round(validation_split * n)))
    present = [{int(e[0]) for e in f.events} for f in files]
    wanted = set().union(*present)
    rng = np.random.default_rng([seed, 7])
    best = None
    for _ in range(20):
        order = rng.permutation(n)
        covered = len(set().union(*(present[i] for i in order[:n_val])))
        if best is None or covered > best[0]:
            best = (covered, order)
        if covered == len(wanted):
            break
    order = best[1]
    return sorted(order[n_val:].tolist()), sorted(order[:n_val].tolist())


def calibrate(probs_by_file, references, type_names, frame_ms, max_min_duration_ms=None):
    """Per type: the threshold, merge window and minimum duration with the best validation F1.

    Coordinate search (threshold, then merge window, then minimum duration, then threshold
    again); a threshold's F1 is averaged with its two neighbours' on the grid. Ties keep
    the threshold and merge window closest to the defaults (0.5, 100 ms) but the *longest*
    minimum duration, up to `max_min_duration_ms[type]` (3/4 of the type's 5th-percentile
    labelled length): duration-aware decoding that drops blips much shorter than any
    labelled event of the type even where the validation files happen to have none.
    """
    n_types = len(type_names)
    caps = [math.inf] * n_types if max_min_duration_ms is None else list(max_min_duration_ms)
    thresholds, merges, min_durations = [], [], []
    for t in range(n_types):
        refs = {k: [e for e in v if int(e[0]) == t] for k, v in references.items()}
        if not any(refs.values()):
            thresholds.append(DEFAULT_DECODING[0])
            merges.append(DEFAULT_DECODING[1])
            min_durations.append(DEFAULT_DECODING[2])
            continue
        probs_t = {k: p[:, t : t + 1] for k, p in probs_by_file.items()}
        refs_t = {k: [(0, e[1], e[2]) for e in v] for k, v in refs.items()}
        current = list(DEFAULT_DECODING)
        for axis, grid in ((0, THRESHOLD_GRID), (1, MERGE_GRID), (2, MIN_DURATION_GRID), (0, THRESHOLD_GRID)):
            if axis == 2:
                grid = [v for v in grid if v <= caps[t]] or [0.0]
            f1s = []
            for value in grid:
                trial = list(current)
                trial[axis] = float(value)
                f1s.append(_one_type_f1(probs_t, refs_t, frame_ms, *trial))
            if axis == 0:  # a threshold is judged with its neighbours: less fitting to a few events
                f1s = np.convolve(np.pad(f1s, 1, mode="edge"), np.ones(3) / 3, mode="valid")
            tie = (lambda v: float(v)) if axis == 2 else (lambda v, axis=axis: -abs(float(v) - DEFAULT_DECODING[axis]))
            keys = [(round(float(f1), 9), tie(v)) for f1, v in zip(f1s, grid, strict=True)]
            current[axis] = float(grid[max(range(len(grid)), key=keys.__getitem__)])
        thresholds.append(current[0])
        merges.append(current[1])
        min_durations.append(current[2])
    return DecodingConfig(thresholds, merges, min_durations)


def _one_type_f1(probs_by_file, references, frame_ms, threshold, merge_window_ms, min_duration_ms):
    """F1 of one type: probabilities (frames, 1) and references [(0, start, end)] per file."""
    dets = {
        k: decode_events(p, frame_ms, threshold, merge_window_ms, min_duration_ms) for k, p in probs_by_file.items()
    }
    return event_metrics(references, dets, ["x"])["per_type"]["x"]["f1"] or 0.0


def _quick_macro_f1(probs_by_file, references, type_names, frame_ms):
    """Macro F1 with each type's best of a few thresholds: reported after each epoch."""
    f1s = []
    for t in range(len(type_names)):
        refs = {k: [(0, e[1], e[2]) for e in v if int(e[0]) == t] for k, v in references.items()}
        if not any(refs.values()):
            continue
        probs_t = {k: p[:, t : t + 1] for k, p in probs_by_file.items()}
        f1s.append(max(_one_type_f1(probs_t, refs, frame_ms, thr, 100.0, 0.0) for thr in QUICK_THRESHOLDS))
    return float(np.mean(f1s)) if f1s else 0.0


def train_detector(
    files: Sequence[TrainFile],
    type_names: Sequence[str],
    config: TrainConfig | None = None,
    *,
    on_epoch: Callable[[int, int, dict], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    feature_config: FeatureConfig | None = None,
) -> TrainResult:
    """Train, early-stop and calibrate on a seeded split by file; see the module docstring."""
    began = time.perf_counter()
    config = config or TrainConfig()
    feature_config = feature_config or FeatureConfig()
    _check(config)
    type_names = list(type_names)
    n_types = len(type_names)
    if n_types == 0:
        raise ValueError("at least one artifact type is needed")
    if len(files) < 2:
        raise ValueError(
            f"training needs at least 2 labelled audio files (at least one is held out to validate "
            f"and calibrate the model); got {len(files)}"
        )
    n_channels, frame_ms = feature_config.n_channels, feature_config.frame_ms
    for f in files:
        if f.features.ndim != 2 or f.features.shape[1] != n_channels:
            raise ValueError(f"file {f.key}: features must be (frames, {n_channels}), got {f.features.shape}")
        if len(f.features) == 0:
            raise ValueError(f"file {f.key} has no frames")
        for e in f.events:
            if not 0 <= int(e[0]) < n_types:
                raise ValueError(f"file {f.key}: event type index {e[0]} is not one of the {n_types} types")

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    rng = np.random.default_rng([config.seed, 1])

    train_idx, val_idx = split_files(files, n_types, config.validation_split, config.seed)
    train_files = [files[i] for i in train_idx]
    val_files = [files[i] for i in val_idx]

    # Normalisation statistics of the training files.
    total = sum(len(f.features) for f in train_files)
    s1 = sum(f.features.sum(axis=0, dtype=np.float64) for f in train_files)
    s2 = sum(np.square(f.features, dtype=np.float64).sum(axis=0) for f in train_files)
    mean = s1 / total
    std = np.sqrt(np.maximum(s2 / total - mean**2, 0.0)).clip(min=1e-3)

    with torch.random.fork_rng(devices=[]):  # seeded weights, the caller's torch RNG untouched
        torch.manual_seed(config.seed)
        model = FrameDetector(n_channels, n_types)
    model.set_normalisation(mean, std)
    margin = model.margin
    window = max(1, round(config.chunk_size_ms / frame_ms))
    stride = max(1, round(config.stride_ms / frame_ms))
    pool = model.pool
    # Consecutive windows of a file are trained as one packed example: the model runs once
    # over their union (plus the margins) and each frame's loss counts once per window that
    # holds it, so an epoch sums the loss over exactly the same windows as one example per
    # window would, for a fraction of the computation (the margins are shared).
    pack = max(1, min(WINDOWS_PER_PACK, config.batch_size))
    packed = (pack - 1) * stride + window  # target frames of a full pack
    window_in = -(-packed // pool) * pool  # scored frames per example: whole context groups
    coverage = np.zeros((pack + 1, window_in), dtype=np.float32)  # [windows in the pack, frame]
    for count in range(1, pack + 1):
        for j in range(count):
            coverage[count, j * stride : j * stride + window] += 1.0
    coverage = torch.from_numpy(coverage)
    n_mels = feature_config.n_mels

    # All training files in one array, each with `margin` empty frames before and
    # `margin + window` (rounded up to whole context groups) after, so any window's input
    # is one contiguous slice; and a copy of each file as if it had come at a lower sample
    # rate (log-uniform from 8 kHz to the file's own rate, one draw per file).
    limiter = BandLimiter(feature_config)
    parts_x, parts_alt, parts_m, parts_y, windows, spans = [], [], [], [], [], []
    offset = 0
    pos_frames, all_frames = np.zeros(n_types), 0
    for f in train_files:
        n = len(f.features)
        y = events_to_frames(f.events, n, n_types, frame_ms)
        pos_frames += y.sum(axis=0)
        all_frames += n
        padded = n + 2 * margin + window_in
        top = min(float(f.source_sample_rate or feature_config.sample_rate), float(feature_config.sample_rate))
        rate = math.exp(rng.uniform(math.log(BANDLIMIT_MIN_RATE), math.log(max(top, BANDLIMIT_MIN_RATE))))
        parts_x.append(f.features)
        parts_alt.append(limiter(f.features, rate) if rate < 0.97 * top else f.features)
        pm = np.zeros(padded, dtype=np.float32)
        pm[margin : margin + n] = 1.0
        py = np.zeros((padded, n_types), dtype=np.float32)
        py[margin : margin + n] = y
        parts_m.append(pm)
        parts_y.append(py)
        starts_in_file = list(range(0, n, stride))
        for first in range(0, len(starts_in_file), pack):
            windows.append((offset, starts_in_file[first], n, len(starts_in_file[first : first + pack])))
        spans.append((offset + margin, n))
        offset += padded
    big_m = torch.from_numpy(np.concatenate(parts_m))
    big_y = torch.from_numpy(np.concatenate(parts_y))
    big_x = torch.zeros((offset, n_channels), dtype=torch.float32)  # this epoch's augmented, normalised input
    del parts_m, parts_y
    windows = np.array(windows, dtype=np.int64)
    norm_mean = torch.tensor(mean, dtype=torch.float32)
    norm_std = torch.tensor(std, dtype=torch.float32)

    def augment_epoch():
        """Per file: the original or the lower-rate copy, a random gain and tilt; then normalised."""
        for (start, n), original, lower in zip(spans, parts_x, parts_alt, strict=True):
            source = lower if rng.random() < 0.5 else original
            gain = torch.tensor([rng.uniform(-GAIN_DB, GAIN_DB)], dtype=torch.float32)
            tilt = torch.tensor([rng.uniform(-TILT_DB, TILT_DB)], dtype=torch.float32)
            for a in range(0, n, 20000):
                chunk = torch.from_numpy(np.ascontiguousarray(source[a : a + 20000].T))[None]
                out = apply_gain_and_tilt(chunk, gain, tilt, n_mels)[0].T
                big_x[start + a : start + a + len(out)] = (out - norm_mean) / norm_std

    prior = np.clip(pos_frames / max(all_frames, 1), 1e-3, 0.5)
    pos_weight = np.clip(np.sqrt((1 - prior) / prior), 1.0, MAX_POS_WEIGHT)
    pos_weight = torch.tensor(pos_weight, dtype=torch.float32, device=device)
    with torch.no_grad():
        model.out.bias.copy_(torch.tensor(np.log(prior / (1 - prior)), dtype=torch.float32))
    model.to(device)
    # An exponential moving average of the weights is what gets validated and kept: it is
    # steadier than the last step's weights (decay ramps up as (1 + t) / (10 + t), to 0.998).
    averaged = copy.deepcopy(model)
    params, averaged_params = list(model.parameters()), list(averaged.parameters())

    optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=1e-4, foreach=True)
    packs_per_step = max(1, config.batch_size // pack)
    steps_per_epoch = math.ceil(len(windows) / packs_per_step)
    total_steps = steps_per_epoch * config.epochs
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(step, total_steps) / total_steps))
    )

    val_refs = {f.key: [tuple(e) for e in f.events] for f in val_files}
    val_targets = {
        f.key: torch.from_numpy(events_to_frames(f.events, len(f.features), n_types, frame_ms)) for f in val_files
    }
    span = torch.arange(window_in + 2 * margin)
    patience = max(4, config.epochs // 4)

    history, best = [], None
    steps_done = 0
    stopped_early = False
    for epoch in range(1, config.epochs + 1):
        model.train()
        augment_epoch()
        order = rng.permutation(len(windows))
        jitter = rng.integers(-(stride // 2), stride // 2 + 1, size=len(windows))
        starts = np.clip(windows[:, 1] + jitter, 0, windows[:, 2] - 1)
        starts = starts - starts % pool + windows[:, 0]  # windows start on the context path's groups
        train_loss, seen = 0.0, 0
        for b in range(steps_per_epoch):
            if should_cancel is not None and should_cancel():
                raise TrainingCancelled(f"training cancelled in epoch {epoch}")
            chosen = order[b * packs_per_step : (b + 1) * packs_per_step]
            pick = torch.from_numpy(starts[chosen])
            idx = pick[:, None] + span[None, :]  # (packs, scored frames + 2 margin)
            x = big_x[idx].transpose(1, 2)
            m = big_m[idx]
            target_idx = idx[:, margin : margin + window_in]
            y = big_y[target_idx].transpose(1, 2)
            weight = coverage[torch.from_numpy(windows[chosen, 3])]
            ym = (big_m[target_idx] * weight)[:, None, :]
            x, m, y, ym = x.to(device), m.to(device), y.to(device), ym.to(device)
            logits = model(x, m, normalised=True)
            loss = F.binary_cross_entropy_with_logits(logits, y, pos_weight=pos_weight[:, None], reduction="none")
            loss = (loss * ym).sum() / (ym.sum() * n_types).clamp_min(1.0)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            steps_done += 1
            decay = min(EMA_DECAY, (1 + steps_done) / (10 + steps_done))
            with torch.no_grad():
                torch._foreach_lerp_(averaged_params, params, 1.0 - decay)
            schedule.step()
            train_loss += float(loss.detach()) * len(pick)
            seen += len(pick)

        averaged.eval()
        val_probs = {f.key: frame_probabilities(averaged, f.features, device=device) for f in val_files}
        val_loss = _validation_loss(val_probs, val_targets, pos_weight.cpu())
        score = _quick_macro_f1(val_probs, val_refs, type_names, frame_ms)
        improved = best is None or val_loss < best["loss"]
        if improved:
            best = {
                "score": score,
                "loss": val_loss,
                "epoch": epoch,
                "state": {k: v.detach().clone() for k, v in averaged.state_dict().items()},
            }
        info = {
            "epoch": epoch,
            "train_loss": train_loss / max(seen, 1),
            "validation_loss": val_loss,
            "validation_macro_f1": score,
            "best_epoch": best["epoch"],
            "learning_rate": optimiser.param_groups[0]["lr"],
            "elapsed_s": time.perf_counter() - began,
        }
        history.append(info)
        if on_epoch is not None:
            on_epoch(epoch, config.epochs, dict(info))
        if epoch - best["epoch"] >= patience and epoch < config.epochs:
            stopped_early = True
            break

    model.load_state_dict(best["state"])
    model.cpu().eval()
    val_probs = {f.key: frame_probabilities(model, f.features) for f in val_files}
    decoding = calibrate(val_probs, val_refs, type_names, frame_ms, _min_duration_caps(files, n_types))
    detections = {
        k: decode_events(p, frame_ms, decoding.thresholds, decoding.merge_window_ms, decoding.min_duration_ms)
        for k, p in val_probs.items()
    }
    metrics = event_metrics(val_refs, detections, type_names)
    metrics["validation_files"] = len(val_files)
    metrics["evaluation"] = EVALUATION
    info = {
        "epochs_run": len(history),
        "best_epoch": best["epoch"],
        "train_files": len(train_files),
        "validation_files": len(val_files),
        "seed": config.seed,
        "training_seconds": round(time.perf_counter() - began, 3),
    }
    detector = Detector(model, type_names, feature_config, decoding, info)
    return TrainResult(
        detector,
        metrics,
        history,
        best["epoch"],
        len(history),
        stopped_early,
        [f.key for f in train_files],
        [f.key for f in val_files],
        time.perf_counter() - began,
        str(device),
    )


def _validation_loss(probs_by_file, targets, pos_weight):
    total, count = 0.0, 0
    for key, p in probs_by_file.items():
        prob = torch.from_numpy(p).clamp(1e-6, 1 - 1e-6)
        y = targets[key].float()
        loss = -(pos_weight * y * prob.log() + (1 - y) * (1 - prob).log())
        total += float(loss.sum())
        count += loss.numel()
    return total / max(count, 1)


def _min_duration_caps(files, n_types):
    """Per type: the longest minimum duration calibration may pick, from its labelled durations (all files)."""
    caps = []
    for t in range(n_types):
        lengths = [float(e[2]) - float(e[1]) for f in files for e in f.events if int(e[0]) == t]
        caps.append(MIN_DURATION_CAP * float(np.percentile(lengths, 5)) if lengths else 0.0)
    return caps
