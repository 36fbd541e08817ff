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
  seeded) never train: they choose the best epoch (highest validation macro event F1,
  each type at its best of a few thresholds: the validation loss picked epochs far too
  early on field recordings; training stops early after max(4, epochs // 4) epochs
  without a new best) and give the reported metrics.
  Among a few seeded splits the first whose validation files hold every labelled type
  is taken.
- Each type's threshold, merge window and minimum duration are calibrated on the
  chosen model's probabilities over *all* the files, validation and training pooled,
  with thresholds kept within 0.2-0.8. Tuned on the 3 validation files of 15 minutes of
  audio, thresholds went to the ends of the grid (0.05, 0.95) and did not carry to other
  recordings; pooled and bounded, held-out macro F1 rose on every seed and direction of
  the cross-corpus benchmark (bench/results/detector_experiments.md, session 7). The
  reported metrics are measured on the validation files with that decoding: slightly
  optimistic for unseen files, since the decoding saw them.

Augmentation (detector.augment), drawn per file and epoch: the file's features or
those of the same audio at a lower sample rate (emulated once per file) or, for a file
given augmented copies (`TrainFile.variants`, features of waveform-level copies from
detector.augment.variant_features), one of those with probability VARIANT_SHARE; a gain of
+-8 dB computed exactly through the log features, a spectral tilt of +-3 dB, a file
contrast off by up to 1.3x either way (scaled configs: the dynamic range the features are
divided by, so the model does not learn one family's typical contrast); and the window
jitter above. Also: per-type positive weights in the BCE loss for rare types,
gradient clipping, and an exponential moving average of the weights (what is validated
and kept). With a file-relative feature config (detector.features) each file's features
are made relative to its median (and, with a scaled config, divided by its dynamic range)
after augmentation, as inference makes them. Training
needs at least 2 files (a ValueError otherwise). Deterministic for a seed on a given
machine and torch thread count.

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
from detector.features import FeatureConfig, as_float32, file_transform
from detector.metrics import EVALUATION, event_metrics
from detector.model import FrameDetector
from detector.prior import can_start_from, load_prior

THRESHOLD_GRID = np.round(np.arange(0.2, 0.81, 0.05), 2)  # bounded: see "calibrated" in the module docstring
MERGE_GRID = (0.0, 50.0, 100.0, 200.0, 400.0, 700.0, 1000.0)
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
CONTRAST_JITTER = 1.3  # ... and the file's dynamic range (scaled configs) times 1/1.3 to 1.3, log-uniform
START_FROM = ("prior", "scratch")
VARIANT_SHARE = 0.5  # files with augmented copies (TrainFile.variants) train on one of them this often


class TrainingCancelled(Exception):
    """should_cancel() returned True: training stopped between two batches."""


@dataclass
class TrainFile:
    key: str  # the audio file's id
    features: np.ndarray  # (frames, FeatureConfig().n_channels) float32 from FeatureExtractor, 10 ms frames
    events: list[tuple[int, int, int]]  # (type_index, start_ms, end_ms)
    source_sample_rate: int
    # Optional features (same shape; float16 or float32) of augmented copies of the file's audio
    # (detector.augment.variant_features): each epoch a file trains on one of them with probability
    # VARIANT_SHARE, else on its features or their lower-rate emulation as without copies. A copy
    # with labels of its own (e.g. events pasted in: detector.augment.paste_events) is given as a
    # (features, events) tuple; a plain array has the file's events.
    variants: list = field(default_factory=list)


@dataclass
class TrainConfig:
    epochs: int = 20  # 1-100
    learning_rate: float = 1e-3  # 1e-4..0.1
    batch_size: int = 32  # 8-256
    chunk_size_ms: int = 500  # target window of one example (see the module docstring)
    stride_ms: int = 250  # step between target windows
    validation_split: float = 0.2  # 0.1-0.5, split by file, seeded
    seed: int = 0
    start_from: str = "prior"  # "prior": the shipped pretrained detector (detector.prior); "scratch"


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
    if config.start_from not in START_FROM:
        problems.append(f"start_from must be one of {', '.join(START_FROM)}")
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


def check_inputs(files, type_names, config, feature_config):
    """ValueError, in words, unless these files and types can train a detector."""
    _check(config)
    n_types, n_channels = len(type_names), feature_config.n_channels
    if n_types == 0:
        raise ValueError("at least one artifact type is needed")
    if len(files) < 2:
        raise ValueError(
            f"training needs at least 2 labelled audio files (at least one is held out to validate "
            f"and calibrate the model); got {len(files)}"
        )
    for f in files:
        if f.features.ndim != 2 or f.features.shape[1] != n_channels:
            raise ValueError(f"file {f.key}: features must be (frames, {n_channels}), got {f.features.shape}")
        if len(f.features) == 0:
            raise ValueError(f"file {f.key} has no frames")
        for v in getattr(f, "variants", None) or []:
            v, events = v if isinstance(v, tuple) else (v, [])
            if v.shape != f.features.shape:
                raise ValueError(f"file {f.key}: an augmented copy's features are {v.shape}, not {f.features.shape}")
            if any(not 0 <= int(e[0]) < n_types for e in events):
                raise ValueError(f"file {f.key}: an augmented copy has an event type outside the {n_types} types")
        for e in f.events:
            if not 0 <= int(e[0]) < n_types:
                raise ValueError(f"file {f.key}: event type index {e[0]} is not one of the {n_types} types")


def normalisation(files, feature_config):
    """Per-channel mean and standard deviation of the files' features as the model reads them (float64)."""
    total = sum(len(f.features) for f in files)
    s1, s2 = 0.0, 0.0
    for f in files:
        offset, scale = file_transform(f.features, feature_config)
        x = (f.features - offset) / scale
        s1 = s1 + x.sum(axis=0, dtype=np.float64)
        s2 = s2 + np.square(x, dtype=np.float64).sum(axis=0)
    mean = s1 / total
    return mean, np.sqrt(np.maximum(s2 / total - mean**2, 0.0)).clip(min=1e-3)


def new_model(seed, n_channels, n_types, mean, std):
    with torch.random.fork_rng(devices=[]):  # seeded weights, the caller's torch RNG untouched
        torch.manual_seed(seed)
        model = FrameDetector(n_channels, n_types)
    model.set_normalisation(mean, std)
    return model


@dataclass(frozen=True)
class Packing:
    """How training windows are cut and packed (see the module docstring).

    Consecutive windows of a file are trained as one packed example: the model runs once
    over their union (plus the margins) and each frame's loss counts once per window that
    holds it, so an epoch sums the loss over exactly the same windows as one example per
    window would, for a fraction of the computation (the margins are shared)."""

    window: int  # target frames of one window
    stride: int  # frames between the starts of two windows
    pack: int  # windows per packed example
    margin: int  # context frames the model reads on each side
    pool: int  # windows start on a multiple of this (the model's context groups)

    @classmethod
    def of(cls, config, frame_ms, model):
        return cls(
            window=max(1, round(config.chunk_size_ms / frame_ms)),
            stride=max(1, round(config.stride_ms / frame_ms)),
            pack=max(1, min(WINDOWS_PER_PACK, config.batch_size)),
            margin=model.margin,
            pool=model.pool,
        )

    @property
    def scored(self):
        """Scored frames per example: a full pack's target frames, in whole context groups."""
        packed = (self.pack - 1) * self.stride + self.window
        return -(-packed // self.pool) * self.pool

    def coverage(self):
        """(pack + 1, scored): how many of a pack's first `count` windows hold each frame."""
        table = np.zeros((self.pack + 1, self.scored), dtype=np.float32)
        for count in range(1, self.pack + 1):
            for j in range(count):
                table[count, j * self.stride : j * self.stride + self.window] += 1.0
        return torch.from_numpy(table)


class TrainingSet:
    """All training files in one array, each with `margin` empty frames before and `margin`
    plus a pack after, so that any example's input is one contiguous slice; a copy of each
    file as if it had come at a lower sample rate (log-uniform from 8 kHz to the file's own
    rate, one draw per file); and the packed examples, as (offset, first start, frames,
    windows in the pack) rows."""

    def __init__(self, files, n_types, feature_config, packing, rng):
        self.feature_config, self.packing = feature_config, packing
        limiter = BandLimiter(feature_config)
        frame_ms, margin = feature_config.frame_ms, packing.margin
        self.originals, self.lowered, self.spans, self.variants, self.own_targets = [], [], [], [], []
        masks, targets, examples = [], [], []
        self.positive_frames, self.frames = np.zeros(n_types), 0
        offset = 0
        for f in files:
            n = len(f.features)
            y = events_to_frames(f.events, n, n_types, frame_ms)
            self.positive_frames += y.sum(axis=0)
            self.frames += n
            padded = n + 2 * margin + packing.scored
            self.originals.append(f.features)
            self.lowered.append(_lowered(f, limiter, feature_config, rng))
            copies = []  # (features, frame targets or None for the file's own)
            for v in getattr(f, "variants", None) or []:
                if isinstance(v, tuple):
                    copies.append((v[0], events_to_frames(v[1], n, n_types, frame_ms)))
                else:
                    copies.append((v, None))
            self.variants.append(copies)
            self.own_targets.append(y if any(t is not None for _, t in copies) else None)
            mask = np.zeros(padded, dtype=np.float32)
            mask[margin : margin + n] = 1.0
            target = np.zeros((padded, n_types), dtype=np.float32)
            target[margin : margin + n] = y
            masks.append(mask)
            targets.append(target)
            starts = list(range(0, n, packing.stride))
            for first in range(0, len(starts), packing.pack):
                examples.append((offset, starts[first], n, len(starts[first : first + packing.pack])))
            self.spans.append((offset + margin, n))
            offset += padded
        self.mask = torch.from_numpy(np.concatenate(masks))
        self.target = torch.from_numpy(np.concatenate(targets))
        self.x = torch.zeros((offset, feature_config.n_channels), dtype=torch.float32)  # this epoch's input
        self.examples = np.array(examples, dtype=np.int64)

    @property
    def prior(self):
        """Share of positive frames of each type (clipped to [0.001, 0.5])."""
        return np.clip(self.positive_frames / max(self.frames, 1), 1e-3, 0.5)

    def augment(self, rng, mean, std):
        """This epoch's input: per file, the original or the lower-rate copy, a random gain
        and tilt; then made relative to the file (if the config says so; with a scaled config,
        by a dynamic range off by a random factor) and normalised."""
        mean, std = torch.tensor(mean, dtype=torch.float32), torch.tensor(std, dtype=torch.float32)
        n_mels = self.feature_config.n_mels
        files = zip(self.spans, self.originals, self.lowered, self.variants, self.own_targets, strict=True)
        for (start, n), original, lower, variants, own_target in files:
            target = None
            if variants and rng.random() < VARIANT_SHARE:  # no draw for files without copies: as before
                source, target = variants[int(rng.integers(len(variants)))]
            else:
                source = lower if rng.random() < 0.5 else original
            if own_target is not None:  # some copy has labels of its own: this epoch's labels
                self.target[start : start + n] = torch.from_numpy(own_target if target is None else target)
            gain = torch.tensor([rng.uniform(-GAIN_DB, GAIN_DB)], dtype=torch.float32)
            tilt = torch.tensor([rng.uniform(-TILT_DB, TILT_DB)], dtype=torch.float32)
            for a in range(0, n, 20000):
                chunk = torch.from_numpy(as_float32(source[a : a + 20000].T))[None]
                self.x[start + a : start + a + chunk.shape[-1]] = apply_gain_and_tilt(chunk, gain, tilt, n_mels)[0].T
            x = self.x[start : start + n]
            offset, scale = file_transform(x.numpy(), self.feature_config)
            if self.feature_config.file_scaled:
                scale[: n_mels + 1] *= math.exp(rng.uniform(-math.log(CONTRAST_JITTER), math.log(CONTRAST_JITTER)))
            x -= torch.from_numpy(offset)
            x /= torch.from_numpy(scale)
            x -= mean
            x /= std

    def epoch_starts(self, rng):
        """Each example's first input frame this epoch: jittered by up to half a stride, on a
        context group boundary."""
        stride, pool = self.packing.stride, self.packing.pool
        jitter = rng.integers(-(stride // 2), stride // 2 + 1, size=len(self.examples))
        starts = np.clip(self.examples[:, 1] + jitter, 0, self.examples[:, 2] - 1)
        return starts - starts % pool + self.examples[:, 0]


def _lowered(f, limiter, feature_config, rng):
    top = min(float(f.source_sample_rate or feature_config.sample_rate), float(feature_config.sample_rate))
    rate = math.exp(rng.uniform(math.log(BANDLIMIT_MIN_RATE), math.log(max(top, BANDLIMIT_MIN_RATE))))
    return limiter(f.features, rate) if rate < 0.97 * top else f.features


def positive_weights(prior):
    """BCE weight of positive frames per type: sqrt(negatives / positives), 1 to MAX_POS_WEIGHT."""
    return torch.tensor(np.clip(np.sqrt((1 - prior) / prior), 1.0, MAX_POS_WEIGHT), dtype=torch.float32)


class Fit:
    """The optimiser (AdamW, cosine-decayed learning rate, clipped gradients) and an
    exponential moving average of the weights, which is what gets validated and kept: it
    is steadier than the last step's weights (its decay ramps up as (1 + t) / (10 + t), to
    EMA_DECAY)."""

    def __init__(self, model, config, steps_per_epoch, device):
        self.model, self.device = model.to(device), device
        self.averaged = copy.deepcopy(model)
        self.params, self.averaged_params = list(model.parameters()), list(self.averaged.parameters())
        self.optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=1e-4, foreach=True)
        total = steps_per_epoch * config.epochs
        self.schedule = torch.optim.lr_scheduler.LambdaLR(
            self.optimiser, lambda step: 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(step, total) / total))
        )
        self.steps = 0

    @property
    def learning_rate(self):
        return self.optimiser.param_groups[0]["lr"]

    def step(self, loss):
        self.optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimiser.step()
        self.steps += 1
        decay = min(EMA_DECAY, (1 + self.steps) / (10 + self.steps))
        with torch.no_grad():
            torch._foreach_lerp_(self.averaged_params, self.params, 1.0 - decay)
        self.schedule.step()


def train_epoch(fit, data, pos_weight, packs_per_step, rng, should_cancel, epoch):
    """One pass over every packed example in a seeded order; the mean training loss."""
    model, packing = fit.model, data.packing
    model.train()
    order = rng.permutation(len(data.examples))
    starts = data.epoch_starts(rng)
    coverage = packing.coverage()
    span = torch.arange(packing.scored + 2 * packing.margin)
    n_types = data.target.shape[1]
    total, seen = 0.0, 0
    for b in range(math.ceil(len(order) / packs_per_step)):
        if should_cancel is not None and should_cancel():
            raise TrainingCancelled(f"training cancelled in epoch {epoch}")
        chosen = order[b * packs_per_step : (b + 1) * packs_per_step]
        pick = torch.from_numpy(starts[chosen])
        idx = pick[:, None] + span[None, :]  # (packs, scored frames + 2 margin)
        target_idx = idx[:, packing.margin : packing.margin + packing.scored]
        x, m = data.x[idx].transpose(1, 2).to(fit.device), data.mask[idx].to(fit.device)
        y = data.target[target_idx].transpose(1, 2).to(fit.device)
        weight = (data.mask[target_idx] * coverage[torch.from_numpy(data.examples[chosen, 3])])[:, None, :]
        weight = weight.to(fit.device)
        logits = model(x, m, normalised=True)
        loss = F.binary_cross_entropy_with_logits(logits, y, pos_weight=pos_weight[:, None], reduction="none")
        loss = (loss * weight).sum() / (weight.sum() * n_types).clamp_min(1.0)
        fit.step(loss)
        total += float(loss.detach()) * len(pick)
        seen += len(pick)
    return total / max(seen, 1)


class Validation:
    """The held-out files: their probabilities, loss and quick macro F1 after an epoch."""

    def __init__(self, files, type_names, feature_config, pos_weight, device="cpu"):
        self.files, self.type_names, self.device = files, type_names, device
        self.feature_config, self.frame_ms = feature_config, feature_config.frame_ms
        self.transforms = {f.key: file_transform(f.features, feature_config) for f in files}
        self.pos_weight = pos_weight.cpu()
        self.references = {f.key: [tuple(e) for e in f.events] for f in files}
        self.targets = {
            f.key: torch.from_numpy(events_to_frames(f.events, len(f.features), len(type_names), self.frame_ms))
            for f in files
        }

    def probabilities(self, model):
        model.eval()
        return {f.key: self._probabilities(model, f, self.transforms[f.key]) for f in self.files}

    def _probabilities(self, model, file, transform):
        offset, scale = transform
        return frame_probabilities(model, file.features, device=self.device, offset=offset, scale=scale)

    def score(self, model):
        """(validation loss, quick macro F1) of `model`."""
        probs = self.probabilities(model)
        loss = _validation_loss(probs, self.targets, self.pos_weight)
        return loss, _quick_macro_f1(probs, self.references, self.type_names, self.frame_ms)

    def calibrated_metrics(self, model, caps, training_files=()):
        """Calibrate each type's decoding on these files and `training_files` pooled; (decoding, event
        metrics on these files)."""
        probs = self.probabilities(model)
        pooled_probs = {("validation", k): p for k, p in probs.items()}
        pooled_refs = {("validation", k): r for k, r in self.references.items()}
        for index, f in enumerate(training_files):
            transform = file_transform(f.features, self.feature_config)
            pooled_probs["training", index] = self._probabilities(model, f, transform)
            pooled_refs["training", index] = [tuple(e) for e in f.events]
        decoding = calibrate(pooled_probs, pooled_refs, self.type_names, self.frame_ms, caps)
        detections = {
            k: decode_events(p, self.frame_ms, decoding.thresholds, decoding.merge_window_ms, decoding.min_duration_ms)
            for k, p in probs.items()
        }
        metrics = event_metrics(self.references, detections, self.type_names)
        metrics["validation_files"] = len(self.files)
        metrics["evaluation"] = EVALUATION
        return decoding, metrics


def train_detector(
    files: Sequence[TrainFile],
    type_names: Sequence[str],
    config: TrainConfig | None = None,
    *,
    on_epoch: Callable[[int, int, dict], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    feature_config: FeatureConfig | None = None,
    init: Detector | None = None,
) -> TrainResult:
    """Train, early-stop and calibrate on a seeded split by file; see the module docstring.

    The network starts from `init` if given, else (with `start_from="prior"`) from the
    shipped prior when it reads the same features, else from seeded random weights."""
    began = time.perf_counter()
    config, feature_config = config or TrainConfig(), feature_config or FeatureConfig()
    type_names = list(type_names)
    check_inputs(files, type_names, config, feature_config)
    n_types = len(type_names)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    rng = np.random.default_rng([config.seed, 1])
    train_idx, val_idx = split_files(files, n_types, config.validation_split, config.seed)
    train_files, val_files = [files[i] for i in train_idx], [files[i] for i in val_idx]

    if init is None and config.start_from == "prior":
        init = load_prior(feature_config)
    elif init is not None and not can_start_from(init, feature_config):
        raise ValueError("the initial detector reads other features than this training run")
    if init is None:
        mean, std = normalisation(train_files, feature_config)
    else:  # the prior's weights expect its own normalisation
        mean, std = init.model.mean.numpy().astype(np.float64), init.model.std.numpy().astype(np.float64)
    model = new_model(config.seed, feature_config.n_channels, n_types, mean, std)
    packing = Packing.of(config, feature_config.frame_ms, model)
    data = TrainingSet(train_files, n_types, feature_config, packing, rng)
    pos_weight = positive_weights(data.prior).to(device)
    with torch.no_grad():  # start from the base rates
        model.out.bias.copy_(torch.tensor(np.log(data.prior / (1 - data.prior)), dtype=torch.float32))
    started_from = "scratch" if init is None else copy_weights(model, init, type_names)
    packs_per_step = max(1, config.batch_size // packing.pack)
    fit = Fit(model, config, math.ceil(len(data.examples) / packs_per_step), device)
    validation = Validation(val_files, type_names, feature_config, pos_weight, device)
    patience = max(4, config.epochs // 4)

    history, best, stopped_early = [], None, False
    for epoch in range(1, config.epochs + 1):
        data.augment(rng, mean, std)
        train_loss = train_epoch(fit, data, pos_weight, packs_per_step, rng, should_cancel, epoch)
        val_loss, score = validation.score(fit.averaged)
        if best is None or score > best["f1"]:
            best = {"f1": score, "epoch": epoch, "state": copy.deepcopy(fit.averaged.state_dict())}
        info = {
            "epoch": epoch,
            "train_loss": train_loss,
            "validation_loss": val_loss,
            "validation_macro_f1": score,
            "best_epoch": best["epoch"],
            "learning_rate": fit.learning_rate,
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
    validation.device = "cpu"
    decoding, metrics = validation.calibrated_metrics(model, _min_duration_caps(files, n_types), train_files)
    info = {
        "epochs_run": len(history),
        "best_epoch": best["epoch"],
        "train_files": len(train_files),
        "validation_files": len(val_files),
        "seed": config.seed,
        "started_from": started_from,
        "training_seconds": round(time.perf_counter() - began, 3),
    }
    return TrainResult(
        Detector(model, type_names, feature_config, decoding, info),
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


def copy_weights(model, init, type_names) -> str:
    """Copy `init`'s weights into `model`: every layer, and the output row of each type `init`
    knows by name (case-insensitive); other types keep their fresh row. Returns what the
    training started from, for the artifact's info."""
    model.load_state_dict({k: v for k, v in init.model.state_dict().items() if not k.startswith("out.")}, strict=False)
    known = {name.lower(): i for i, name in enumerate(init.type_names)}
    rows = [(t, known[name.lower()]) for t, name in enumerate(type_names) if name.lower() in known]
    with torch.no_grad():
        for t, i in rows:
            model.out.weight[t] = init.model.out.weight[i]
            model.out.bias[t] = init.model.out.bias[i]
    return f"{init.info.get('name', 'detector')} ({len(rows)} of {len(type_names)} types known)"


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
