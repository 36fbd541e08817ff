"""Frame features of canonical audio: log-mel bands plus cheap channels.

Frame i stands for the 10 ms hop interval [i*hop, (i+1)*hop); its analysis window is
centred on that interval. Channels: `n_mels` log-mel energies, then log RMS energy,
log spectral flatness and sample-level discontinuity (the largest |x[n] - x[n-1]| in
the interval relative to the window's RMS: a one-sample click that a 25 ms log-mel frame
smears stands out here). Files are processed in chunks with the windows' context read
around each chunk, so the result is the same as on the whole file and memory stays flat.

Version 2 adds four sample-level shares of the interval's samples (log of share + 1/hop):
at least 0.97 of full scale, at least 0.97 of the interval's own peak (flat tops), equal
to the previous sample and not zero (holds), exactly zero (digital dropouts). They are
plain comparisons on the samples: no extra transform. Version 2 features are also used
*relative to the file*: the model sees the log-mel bands and log energy minus the file's
median over frames (`file_offset`), as cepstral mean normalisation does, so a file's level
and channel colouring matter less; the sample-level channels keep the absolute level.
The extractor returns absolute features (what the feature caches hold); the offset is
subtracted where the model reads them.

Version 5 (opt-in; the default stays 2) adds two channels for lost signal (dropouts):
`edge_fall` and `edge_rise`, the steepest drop and return of power at millisecond
resolution (a lost signal falls within a millisecond or two, a voice closing decays over
tens). They are ratios, so they need no file offset. Versions 3 and 4 were experiments
that never shipped. bench/results/detector_experiments.md has what each version measured.

Version 6 (the default since artifact format 5) is version 2 plus two channels for mains hum:
`mains_low` and `mains_wide`, how far the harmonics of 50 or 60 Hz stand above the spectrum a
quarter of a harmonic spacing beside them over a 256 ms window, up to 300 Hz and up to 1 kHz.
Hum is defined by its frequency, and no log-mel band resolves it (bins are 31 Hz wide); a
model trained on one generator's hum learned that generator's level and colour instead. They
are ratios: no file offset, no scale.

`scaled` (a FeatureConfig flag, on by default since artifact format 4): the model also
reads the file-relative channels *divided* by the file's dynamic range (`file_scale`: the
spread between the 10th and 90th percentiles of its log energy over a typical spread,
clipped), so that how deep a pause or a dropout falls, or how far a click or a clipped
vowel stands out, is measured against the file's own contrast: a studio recording and one
over a noisy line differ in that contrast by a factor of 1.5-2. Like the offset it is
applied where the model reads the features; what the extractor (and the feature caches)
hold does not change.
"""

import functools
import hashlib
import json
import math
from dataclasses import asdict, dataclass

import numpy as np
import scipy.signal
import torch

from detector.audio import CANONICAL_RATE, read_canonical_blocks

EXTRA_CHANNELS = ("log_energy", "log_flatness", "discontinuity")
SAMPLE_CHANNELS = ("full_scale", "at_peak", "holds", "zeros")  # version 2
EDGE_CHANNELS = ("edge_fall", "edge_rise")  # version 5 (opt-in)
MAINS_CHANNELS = ("mains_low", "mains_wide")  # version 6
PERIODICITY_CHANNELS = ("periodicity",)  # version 7 (opt-in)
VERSION_CHANNELS = {
    1: EXTRA_CHANNELS,
    2: EXTRA_CHANNELS + SAMPLE_CHANNELS,
    5: EXTRA_CHANNELS + SAMPLE_CHANNELS + EDGE_CHANNELS,
    6: EXTRA_CHANNELS + SAMPLE_CHANNELS + MAINS_CHANNELS,
    7: EXTRA_CHANNELS + SAMPLE_CHANNELS + MAINS_CHANNELS + PERIODICITY_CHANNELS,
}
PERIODIC_SPAN = 320  # periodicity: 20 ms around the frame's centre ...
PERIODIC_LAGS = (80, 400)  # ... against the same length 5-25 ms earlier (the loop of a held packet)
PERIODIC_FFT = 1024
PERIODIC_FLOOR = 1e-3
MAINS_WINDOW = 4096  # 256 ms at 16 kHz: bins 3.9 Hz apart, so a quarter of 50 Hz from a harmonic is past its main lobe
MAINS_DECIMATION = 4  # the window is read at 4 kHz: everything measured is under 1.1 kHz
MAINS_TAPS = 63  # the low-pass before decimating (windowed sinc, cut-off MAINS_CUTOFF_HZ)
MAINS_CUTOFF_HZ = 1500.0
MAINS_STRIDE = 4  # frames between mains windows (a hum lasts far longer than the window)
MAINS_FREQUENCIES = (50.0, 60.0)
MAINS_GAPS = (-0.25, 0.25)  # where beside each harmonic the comparison power is read, in harmonic spacings
MAINS_LOW_HZ = 300.0  # mains_low: harmonics up to here (a plain hum is mostly its fundamental)
MAINS_WIDE_HZ = 1000.0  # mains_wide: up to here (a buzz's harmonics; a telephone band cuts below 300 Hz)
MAINS_FLOOR = 1e-9  # power added to both sides of the ratio: digital silence reads 0
EDGE_BLOCK = 32  # 2 ms sub-blocks at 16 kHz
EDGE_SPAN = 4  # blocks averaged on each side of an edge: 8 ms
EDGE_FLOOR = 1e-9  # power under which a block counts as silent (16-bit rounding noise is ~8e-11)
FULL_SCALE = 0.97  # share of samples at least this loud (of full scale, of the interval's peak)
OFFSET_STEP = 4  # file_offset: the median of every OFFSET_STEP-th frame
OFFSET_GROUP = 16  # file_offset: channels converted and partitioned together
SCALE_PERCENTILES = (10, 90)  # file_scale: the spread of the file's log energy between these
SCALE_REFERENCE = 5.0  # ... divided by this (about the spread of a clean recording of speech with pauses)
SCALE_LIMITS = (0.6, 1.6)  # ... and clipped to this


@dataclass(frozen=True)
class FeatureConfig:
    sample_rate: int = CANONICAL_RATE
    n_fft: int = 512
    win_length: int = 400  # 25 ms
    hop_length: int = 160  # 10 ms
    n_mels: int = 64
    f_min: float = 30.0
    f_max: float = 7600.0
    version: int = 6
    scaled: bool = True  # file-relative channels also divided by the file's dynamic range (file_scale)

    @property
    def extra_channels(self) -> tuple[str, ...]:
        return VERSION_CHANNELS[self.version]

    @property
    def file_relative(self) -> bool:
        """Whether the model reads log-mel bands and log energy relative to the file's median."""
        return self.version >= 2

    @property
    def n_channels(self) -> int:
        return self.n_mels + len(self.extra_channels)

    @property
    def frame_ms(self) -> float:
        return 1000.0 * self.hop_length / self.sample_rate

    @property
    def file_scaled(self) -> bool:
        """Whether the model reads the file-relative channels divided by the file's dynamic range."""
        return self.file_relative and self.scaled

    @property
    def cache_key(self) -> str:
        """Names the extractor's output: `scaled` is left out, as it changes only how the model reads it."""
        extractor = {k: v for k, v in asdict(self).items() if k != "scaled"}
        digest = hashlib.sha1(json.dumps(extractor, sort_keys=True).encode()).hexdigest()[:10]
        return f"v{self.version}-{digest}"

    def n_frames(self, n_samples: int) -> int:
        return math.ceil(n_samples / self.hop_length)

    def to_dict(self):
        return asdict(self)


def as_float32(array: np.ndarray) -> np.ndarray:
    """A float32 copy of `array` in C order; float16 through torch, whose conversion is
    vectorised (exact either way, but numpy's takes several times longer)."""
    if array.dtype == np.float16 and array.flags.writeable:  # torch takes writeable arrays only
        return torch.from_numpy(array).to(torch.float32, memory_format=torch.contiguous_format).numpy()
    return np.array(array, dtype=np.float32, order="C")


def file_offset(features: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """What to subtract from every frame of a file's features before the model reads them:
    (channels,) float32, the file's median on the log-mel bands and log energy of a
    file-relative config, 0 elsewhere. Taken in float32, so float16 and float32 copies of
    the same features give the same offset."""
    offset = np.zeros(config.n_channels, dtype=np.float32)
    if config.file_relative and len(features):
        # Every 4th frame: a quarter of the cost, and still thousands of frames per minute.
        # One channel per row: the partition then reads contiguous memory (a third faster);
        # a few channels at a time: a few MB of float32 an hour rather than 23.
        for first in range(0, config.n_mels + 1, OFFSET_GROUP):
            last = min(first + OFFSET_GROUP, config.n_mels + 1)
            sample = as_float32(features[::OFFSET_STEP, first:last].T)
            offset[first:last] = np.median(sample, axis=1, overwrite_input=True)
    return offset


def file_scale(features: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """What to divide every frame's file-relative channels by (after `file_offset`): (channels,)
    float32, the spread of the file's log energy between its SCALE_PERCENTILES over
    SCALE_REFERENCE, clipped to SCALE_LIMITS, on the log-mel bands and log energy of a
    scaled config; 1 elsewhere. Every OFFSET_STEP-th frame, in float32, like the offset."""
    scale = np.ones(config.n_channels, dtype=np.float32)
    if config.file_scaled and len(features):
        energy = as_float32(features[::OFFSET_STEP, config.n_mels])
        low, high = np.percentile(energy, SCALE_PERCENTILES)
        scale[: config.n_mels + 1] = np.clip((high - low) / SCALE_REFERENCE, *SCALE_LIMITS)
    return scale


def file_transform(features: np.ndarray, config: FeatureConfig) -> tuple[np.ndarray, np.ndarray]:
    """(file_offset, file_scale): what the model's reading subtracts from a file's features, then divides by."""
    return file_offset(features, config), file_scale(features, config)


def mel_filterbank(sample_rate, n_fft, n_mels, f_min, f_max) -> np.ndarray:
    """Triangular filters on the HTK mel scale, area-normalised (Slaney): (n_fft//2+1, n_mels)."""

    def hz_to_mel(hz):
        return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)

    def mel_to_hz(mel):
        return 700.0 * (10.0 ** (np.asarray(mel) / 2595.0) - 1.0)

    fft_freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (fft_freqs[None, :] - lower) / (centre - lower)
    falling = (upper - fft_freqs[None, :]) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= 2.0 / (upper - lower)
    return weights.T.astype(np.float32)


class FeatureExtractor:
    def __init__(self, config: FeatureConfig | None = None):
        self.config = config or FeatureConfig()
        c = self.config
        window = torch.hann_window(c.win_length, periodic=True)
        pad = (c.n_fft - c.win_length) // 2
        self.window = torch.nn.functional.pad(window, (pad, c.n_fft - c.win_length - pad))
        self.mel = torch.from_numpy(mel_filterbank(c.sample_rate, c.n_fft, c.n_mels, c.f_min, c.f_max))
        # Offset of a frame's hop interval inside its analysis window.
        self.interval_offset = c.n_fft // 2 - c.hop_length // 2
        # Samples read around each frame's centre: the widest of its analysis window, the mains
        # window with its low-pass, and (both sides alike) what the periodicity reads before it.
        reach = [c.n_fft]
        if MAINS_CHANNELS[0] in c.extra_channels:
            reach.append(MAINS_WINDOW + MAINS_TAPS - 1)
            self.mains_lowpass = mains_lowpass(c.sample_rate)
            self.mains_basis, self.mains_groups = mains_basis(c.sample_rate / MAINS_DECIMATION)
        if PERIODICITY_CHANNELS[0] in c.extra_channels:
            reach.append(2 * (PERIODIC_SPAN // 2 + PERIODIC_LAGS[1]))
        self.span = max(reach)

    def _context(self, first_frame, n_frames):
        """Sample range [start, start + length) that frames [first, first + n) need."""
        c = self.config
        start = first_frame * c.hop_length + c.hop_length // 2 - self.span // 2
        return start, (n_frames - 1) * c.hop_length + self.span

    def _periodicity(self, wide: torch.Tensor, n_frames: int) -> torch.Tensor:
        """(frames, 1): log(1 - r + PERIODIC_FLOOR), r the largest normalised correlation of the 20 ms
        around the frame's centre with the 20 ms one lag earlier, over lags of 5-25 ms: near -7 where
        the signal repeats itself exactly (a lost packet's last 10-20 ms looped), about -1.5 in speech."""
        hop, (shortest, longest) = self.config.hop_length, PERIODIC_LAGS
        first = self.span // 2 - PERIODIC_SPAN // 2 - longest
        blocks = wide[first:].unfold(0, PERIODIC_SPAN + longest, hop)[:n_frames]
        now = blocks[:, longest:]
        products = torch.fft.irfft(
            torch.conj(torch.fft.rfft(now, PERIODIC_FFT)) * torch.fft.rfft(blocks, PERIODIC_FFT), PERIODIC_FFT
        )
        starts = longest - torch.arange(shortest, longest + 1)  # block offset of the earlier 20 ms, per lag
        energy = torch.nn.functional.pad(torch.cumsum(blocks.square(), dim=1), (1, 0))
        earlier = energy[:, starts + PERIODIC_SPAN] - energy[:, starts]
        r = products[:, starts] / torch.sqrt(now.square().sum(dim=1, keepdim=True) * earlier + 1e-12)
        return torch.log(1 - r.amax(dim=1, keepdim=True).clamp(max=1) + PERIODIC_FLOOR)

    @torch.inference_mode()
    def _compute(self, x: np.ndarray, n_frames: int) -> np.ndarray:
        c = self.config
        wide = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        pad = (self.span - c.n_fft) // 2  # `x` covers the widest window; the rest read the analysis windows
        signal = wide[pad : pad + (n_frames - 1) * c.hop_length + c.n_fft]
        samples = signal.numpy()
        spec = torch.stft(
            signal,
            c.n_fft,
            hop_length=c.hop_length,
            win_length=c.n_fft,
            window=self.window,
            center=False,
            return_complex=True,
        )
        # (frames, freq): the spectrum's own memory order, so the squares read contiguous pairs.
        squares = torch.view_as_real(spec.T).square()
        power = squares[..., 0] + squares[..., 1]
        log_mel = torch.log(power @ self.mel + 1e-8)

        # Squared once per sample rather than once per overlapping window (the same sums).
        windows = signal.square().unfold(0, c.n_fft, c.hop_length)[:n_frames]
        core = windows[:, (c.n_fft - c.win_length) // 2 : (c.n_fft + c.win_length) // 2]
        rms = core.mean(dim=1).sqrt()
        log_energy = torch.log(rms + 1e-5)
        flatness = torch.log(power + 1e-10).mean(dim=1) - torch.log(power.mean(dim=1) + 1e-10)

        diffs = (signal[1:] - signal[:-1]).abs()
        begin = self.interval_offset - 1
        jumps = diffs[begin : begin + n_frames * c.hop_length].reshape(n_frames, c.hop_length).amax(dim=1)
        discontinuity = torch.log(jumps / (rms + 1e-3) + 1e-3)

        extra = torch.stack([log_energy, flatness, discontinuity], dim=1)
        parts = [log_mel, extra]
        channels = c.extra_channels
        if SAMPLE_CHANNELS[0] in channels:
            start = self.interval_offset
            parts.append(torch.from_numpy(self._sample_shares(samples[start - 1 : start + n_frames * c.hop_length])))
        if EDGE_CHANNELS[0] in channels:
            parts.append(self._edges(signal, n_frames))
        if MAINS_CHANNELS[0] in channels:
            parts.append(self._mains(wide, n_frames))
        if PERIODICITY_CHANNELS[0] in channels:
            parts.append(self._periodicity(wide, n_frames))
        return torch.cat(parts, dim=1).numpy()

    def _mains(self, wide: torch.Tensor, n_frames: int) -> torch.Tensor:
        """(frames, 2): how far mains hum stands out over a 256 ms window centred on the frame: for each
        harmonic of 50 or 60 Hz (whichever scores higher), the log ratio of the power on it to the
        power a quarter of a harmonic spacing to either side, counted where positive and averaged
        over the harmonics up to MAINS_LOW_HZ and up to MAINS_WIDE_HZ. Speech and music move their
        harmonics within 256 ms and put them anywhere; mains hum sits still on this comb.
        Read at 4 kHz (everything measured is under 1.1 kHz), every MAINS_STRIDE frames (the first
        frame of every chunk included) and held."""
        hop = self.config.hop_length
        # Low-passed and decimated first (a quarter of the products); `wide` starts MAINS_TAPS // 2
        # before the first window, so decimated sample j is centred on wide[MAINS_TAPS // 2 + 4 j].
        decimated = torch.nn.functional.conv1d(wide[None, None], self.mains_lowpass, stride=MAINS_DECIMATION)[0, 0]
        size, step = MAINS_WINDOW // MAINS_DECIMATION, hop * MAINS_STRIDE // MAINS_DECIMATION
        windows = decimated.unfold(0, size, step)[: -(-n_frames // MAINS_STRIDE)]
        spectrum = windows @ self.mains_basis
        half = spectrum.shape[1] // 2
        power = spectrum[:, :half].square() + spectrum[:, half:].square()
        columns = []
        for harmonics, gaps in self.mains_groups:
            between = power[:, gaps].reshape(len(power), -1, len(harmonics)).mean(dim=1)
            excess = torch.log(power[:, harmonics] + MAINS_FLOOR) - torch.log(between + MAINS_FLOOR)
            columns.append(excess.clamp(min=0).mean(dim=1))
        ratios = torch.stack(columns, dim=1).reshape(len(windows), len(MAINS_FREQUENCIES), 2).amax(dim=1)
        return ratios.repeat_interleave(MAINS_STRIDE, dim=0)[:n_frames]

    def _edges(self, signal: torch.Tensor, n_frames: int) -> torch.Tensor:
        """(frames, 2): the steepest fall and rise of the signal's power within each interval, as
        the log ratio of the power over the 8 ms before a 2 ms block boundary to that over the
        8 ms after it (block variances, so a DC offset or a held sample counts as silence).
        A lost signal falls to the floor within a millisecond or two; speech decays over tens of
        milliseconds and pitch periods average out over 8 ms."""
        per = self.config.hop_length // EDGE_BLOCK
        first = self.interval_offset - EDGE_SPAN * EDGE_BLOCK
        n_blocks = n_frames * per + 2 * EDGE_SPAN - 1
        blocks = signal[first : first + n_blocks * EDGE_BLOCK].reshape(n_blocks, EDGE_BLOCK)
        power = blocks.var(dim=1, unbiased=False)
        span = power.unfold(0, EDGE_SPAN, 1).mean(dim=1)  # span[k]: blocks k .. k + 3
        log_span = torch.log(span + EDGE_FLOOR)
        fall = (log_span[:-EDGE_SPAN] - log_span[EDGE_SPAN:])[: n_frames * per].reshape(n_frames, per)
        return torch.stack([fall.amax(dim=1), (-fall).amax(dim=1)], dim=1)

    def _sample_shares(self, samples: np.ndarray) -> np.ndarray:
        """(frames, 4) log shares of each interval's samples that are near full scale, near the
        interval's peak, holds and zeros; `samples` are the intervals with one sample before
        them. In numpy: its comparisons and counts are several times faster than torch's here."""
        hop = self.config.hop_length
        x = samples[1:].reshape(-1, hop)
        level = np.abs(x)
        flags = np.empty((4, *x.shape), dtype=bool)
        full_scale, near_peak, held, zero = flags
        np.greater_equal(level, FULL_SCALE, out=full_scale)
        np.greater_equal(level, FULL_SCALE * level.max(axis=1, keepdims=True), out=near_peak)
        np.equal(x, 0, out=zero)
        np.equal(samples[1:], samples[:-1], out=held.reshape(-1))
        held &= ~zero
        # Bytes summed in uint16 (counts are at most `hop`): several times faster than count_nonzero.
        counts = flags.view(np.uint8).sum(axis=2, dtype=np.uint16).T
        return np.log(counts / hop + 1.0 / hop).astype(np.float32)

    def from_array(self, samples: np.ndarray) -> np.ndarray:
        """Features of a whole signal (canonical rate): (frames, channels) float32."""
        n_frames = self.config.n_frames(len(samples))
        if n_frames == 0:
            return np.zeros((0, self.config.n_channels), dtype=np.float32)
        start, length = self._context(0, n_frames)
        padded = np.zeros(length, dtype=np.float32)
        lead = -start
        usable = min(len(samples), length - lead)
        padded[lead : lead + usable] = samples[:usable]
        return self._compute(padded, n_frames)

    def from_blocks(self, blocks, chunk_frames: int = 1500, dtype=np.float32, expected_samples=None) -> np.ndarray:
        """Features of canonical samples arriving in blocks of any size (a decoder's stream),
        computed `chunk_frames` frames (15 s) at a time as soon as their windows' context has
        arrived. With dtype=np.float16 (what the feature cache stores) an hour takes 48 MB.
        Blocks are kept until a chunk is complete: the producer must not overwrite them.
        `expected_samples` (a hint) sizes the result up front, so it is not copied at the end."""
        hop = self.config.hop_length
        chunk_frames = -(-chunk_frames // MAINS_STRIDE) * MAINS_STRIDE  # every chunk starts on the mains grid
        lead, _ = self._context(0, 1)
        _, length = self._context(0, chunk_frames)
        out = _Frames(self.config.n_frames(expected_samples or 0), self.config.n_channels, dtype)
        pending = np.zeros(-lead, dtype=np.float32)  # starts at the context of frame `done`
        arrived = [pending]  # joined only once a chunk's samples are all there: blocks are copied once
        done, total, waiting = 0, 0, len(pending)
        for block in blocks:
            total += len(block)
            arrived.append(block)
            waiting += len(block)
            if waiting < length:
                continue
            pending = np.concatenate(arrived)
            while len(pending) >= length:
                out.append(self._compute(pending[:length], chunk_frames))
                done += chunk_frames
                pending = pending[chunk_frames * hop :]
            arrived, waiting = [pending], len(pending)
        pending = np.concatenate(arrived)
        remaining = self.config.n_frames(total) - done
        if remaining > 0:
            _, length = self._context(done, remaining)
            tail = np.zeros(length, dtype=np.float32)
            tail[: min(length, len(pending))] = pending[:length]
            out.append(self._compute(tail, remaining))
        return out.result()

    def from_file(self, path, dtype=np.float32) -> np.ndarray:
        """Features of a canonical file, read block by block."""
        return self.from_blocks(read_canonical_blocks(path), dtype=dtype)


class _Frames:
    """Feature chunks in one array sized from a hint (an hour of float16 features is then in
    memory once, not twice while joined); chunks beyond the hint are joined at the end."""

    def __init__(self, capacity, channels, dtype):
        self.array = np.empty((capacity, channels), dtype=dtype)  # pages are touched only when written
        self.used, self.extra = 0, []

    def append(self, chunk):
        if not self.extra and self.used + len(chunk) <= len(self.array):
            # torch's float16 conversion is vectorised, numpy's goes value by value (same rounding).
            torch.from_numpy(self.array[self.used : self.used + len(chunk)]).copy_(torch.from_numpy(chunk))
            self.used += len(chunk)
        else:
            self.extra.append(chunk.astype(self.array.dtype, copy=False))

    def result(self) -> np.ndarray:
        written = self.array[: self.used]
        return np.concatenate([written, *self.extra]) if self.extra else written


def mains_basis(sample_rate) -> tuple[torch.Tensor, list[tuple[list[int], list[int]]]]:
    """The Hann-windowed cosines then sines (MAINS_WINDOW // MAINS_DECIMATION, 2 * n), sampled at
    `sample_rate` (the decimated rate), at every harmonic of each mains frequency up to
    MAINS_WIDE_HZ and at MAINS_GAPS beside each; and per mains frequency and range (low, wide)
    the columns of its harmonics and of its gaps."""
    frequencies, groups = [], []
    for f0 in MAINS_FREQUENCIES:
        count = int(MAINS_WIDE_HZ // f0)
        first = len(frequencies)
        frequencies += [k * f0 for k in range(1, count + 1)]
        frequencies += [(k + gap) * f0 for gap in MAINS_GAPS for k in range(1, count + 1)]
        for top in (MAINS_LOW_HZ, MAINS_WIDE_HZ):
            n = int(top // f0)
            gaps = [first + count * (1 + g) + k for g in range(len(MAINS_GAPS)) for k in range(n)]
            groups.append((list(range(first, first + n)), gaps))
    size = MAINS_WINDOW // MAINS_DECIMATION
    t = np.arange(size) / sample_rate
    phase = 2 * np.pi * np.outer(t, frequencies)
    window = np.hanning(size)[:, None]
    basis = np.concatenate([window * np.cos(phase), window * np.sin(phase)], axis=1)
    return torch.from_numpy(basis.astype(np.float32)), groups


def mains_lowpass(sample_rate) -> torch.Tensor:
    """(1, 1, MAINS_TAPS) the windowed-sinc low-pass applied before decimating by MAINS_DECIMATION."""
    taps = scipy.signal.firwin(MAINS_TAPS, MAINS_CUTOFF_HZ, fs=sample_rate)
    return torch.from_numpy(taps.astype(np.float32)).reshape(1, 1, -1)


@functools.lru_cache(maxsize=8)
def extractor_for(config: FeatureConfig) -> FeatureExtractor:
    """A shared extractor of `config`: it holds only constants (the window and the filterbank,
    which cost more to build than the features of a short file)."""
    return FeatureExtractor(config)
