"""Augmentation: at the feature level (what training does by default), and at the waveform level.

The server trains on cached features (no audio), so the default augmentation works on them:

- `gain_and_tilt`: a gain of +-8 dB and a spectral tilt of +-3 dB across the mel bands.
  Powers are recovered from the logs (the extractor's floors 1e-8, 1e-5, 1e-3 undone),
  scaled, and logged again, so digital silence stays digital silence and the
  discontinuity channel (a ratio) changes only through its floors, as on real audio.
  Version 2's sample-level channels are kept as they are.
- `BandLimiter`: what the features would be had the audio come from a lower sample rate
  (e.g. 11.025 kHz or 8 kHz resampled to 16 kHz): mel bands above the source's Nyquist
  frequency are attenuated with the resampler's (soxr HQ) transition, and log energy,
  spectral flatness and discontinuity are corrected through a per-bin power spectrum
  estimated from the mel bands. On synthetic speech the mean error against features of
  truly resampled audio is about 0.03 (log-mel), 0.01 (energy), 0.25 (flatness) and 0.1
  (discontinuity), against 0.6, 0.03, 2.4 and 0.16 without it. Training on a mix of
  (emulated) source rates keeps the model from learning the resampler.

Where the audio is at hand, `augmented_copies` / `variant_features` make copies of a file's
canonical waveform through random rooms, backgrounds, EQ and codecs (see the comment before
them); training picks among the file's features and the copies' (TrainFile.variants).
"""

import io
import math

import numpy as np
import torch

from detector.audio import quantize16
from detector.features import FeatureConfig, extractor_for, mel_filterbank

# soxr HQ's magnitude response in dB at fractions of the source's Nyquist frequency (measured).
_TRANSITION = ([0.93, 0.94, 0.96, 0.98, 1.0, 1.001], [0.0, -0.6, -8.0, -33.0, -50.0, -300.0])


def gain_and_tilt(x: torch.Tensor, gen: torch.Generator, n_mels: int, probability=0.8) -> torch.Tensor:
    """Random gain (+-8 dB) and tilt (+-3 dB) per example on raw features (batch, channels, frames)."""
    batch = x.shape[0]
    gain_db = torch.rand(batch, generator=gen) * 16 - 8
    tilt_db = torch.rand(batch, generator=gen) * 6 - 3
    apply = (torch.rand(batch, generator=gen) < probability).float()
    return apply_gain_and_tilt(x, gain_db * apply, tilt_db * apply, n_mels)


def apply_gain_and_tilt(x: torch.Tensor, gain_db: torch.Tensor, tilt_db: torch.Tensor, n_mels: int) -> torch.Tensor:
    """Features (batch, channels, frames) of audio made `gain_db` louder, its mel bands tilted by +-`tilt_db`."""
    gain_db = gain_db.to(x.device, x.dtype)[:, None]
    tilt_db = tilt_db.to(x.device, x.dtype)[:, None]
    mel, energy, flatness, disc = x[:, :n_mels], x[:, n_mels], x[:, n_mels + 1], x[:, n_mels + 2]
    ramp = torch.linspace(-1, 1, n_mels, device=x.device, dtype=x.dtype)[None, :]
    band_db = gain_db + tilt_db * ramp
    power = (mel.exp() - 1e-8).clamp_min(0) * torch.pow(10.0, band_db / 10)[:, :, None]
    rms = (energy.exp() - 1e-5).clamp_min(0)
    jump = (disc.exp() - 1e-3).clamp_min(0) * (rms + 1e-3)
    g = torch.pow(10.0, gain_db / 20)
    rms, jump = rms * g, jump * g
    return torch.cat(
        [
            torch.log(power + 1e-8),
            torch.log(rms + 1e-5)[:, None],
            flatness[:, None],
            torch.log(jump / (rms + 1e-3) + 1e-3)[:, None],
            x[:, n_mels + 3 :],
        ],
        dim=1,
    )


class BandLimiter:
    """`limiter(features, source_rate)`: features as if the audio had come at `source_rate`."""

    def __init__(self, config: FeatureConfig | None = None):
        c = self.config = config or FeatureConfig()
        self.n_mels = c.n_mels
        w = mel_filterbank(c.sample_rate, c.n_fft, c.n_mels, c.f_min, c.f_max).astype(np.float64)
        self.freqs = np.arange(w.shape[0]) * c.sample_rate / c.n_fft
        self.colsum = w.sum(axis=0)
        # Each FFT bin's log power density, interpolated from the bands that cover it
        # (bins outside the filterbank take their nearest band's).
        covered = np.flatnonzero(w.sum(axis=1) > 0)
        interp = w / np.maximum(w.sum(axis=1, keepdims=True), 1e-12)
        for k in np.flatnonzero(w.sum(axis=1) == 0):
            interp[k] = interp[covered[np.argmin(np.abs(covered - k))]]
        self.interp = interp.T.astype(np.float32)  # (n_mels, n_bins)
        self.mel = w
        self.diff_weight = 4 * np.sin(np.pi * self.freqs / c.sample_rate) ** 2
        # 16-bit rounding noise per bin under the analysis window: what fills the empty band.
        window = np.hanning(c.win_length + 2)[1:-1]
        self.quantisation = float((1 / 32768) ** 2 / 12 * np.sum(window**2))

    def response(self, source_rate: float) -> np.ndarray:
        """Power response per FFT bin of a source at `source_rate` resampled to the canonical rate."""
        db = np.interp(self.freqs / (source_rate / 2), *_TRANSITION)
        return 10 ** (db / 10)

    def __call__(self, features: np.ndarray, source_rate: float, chunk_frames=4000) -> np.ndarray:
        if source_rate >= self.config.sample_rate:
            return features.copy()
        h2 = self.response(source_rate)
        att = ((h2 @ self.mel) / self.colsum).astype(np.float32)
        out = np.empty_like(features)
        for a in range(0, len(features), chunk_frames):
            out[a : a + chunk_frames] = self._limit(features[a : a + chunk_frames], h2, att)
        return out

    def _limit(self, f, h2, att):
        n = self.n_mels
        power = np.clip(np.exp(f[:, :n].astype(np.float64)) - 1e-8, 0, None)
        rms = np.clip(np.exp(f[:, n].astype(np.float64)) - 1e-5, 0, None)
        jump = np.clip(np.exp(f[:, n + 2].astype(np.float64)) - 1e-3, 0, None) * (rms + 1e-3)
        density = power / self.colsum
        bins = np.exp(np.log(density + 1e-30).astype(np.float32) @ self.interp).astype(np.float64)
        sounding = (rms > 3e-5)[:, None]  # rounding noise exists only where there is signal
        limited = bins * h2 + self.quantisation * sounding

        def flatness(p):
            return np.log(p + 1e-10).mean(axis=1) - np.log(p.mean(axis=1) + 1e-10)

        total = bins.sum(axis=1)
        ratio = np.where(total > 0, limited.sum(axis=1) / np.maximum(total, 1e-30), 1.0)
        d_old = (bins * self.diff_weight).sum(axis=1)
        d_ratio = np.where(d_old > 0, (limited * self.diff_weight).sum(axis=1) / np.maximum(d_old, 1e-30), 1.0)
        new_rms = rms * np.sqrt(np.minimum(ratio, 1.0))
        new_jump = jump * np.sqrt(np.minimum(d_ratio, 1.0))
        out = f.copy()
        out[:, :n] = np.log(power * att + 1e-8)
        out[:, n] = np.log(new_rms + 1e-5)
        out[:, n + 1] = f[:, n + 1] + (flatness(limited) - flatness(bins))
        out[:, n + 2] = np.log(new_jump / (new_rms + 1e-3) + 1e-3)
        return out.astype(np.float32)


# ---------------------------------------------------------------- waveform-level augmentation
#
# `augmented_copies(samples, events, type_names, k, seed)`: k copies of a file's canonical
# waveform (16 kHz mono float), each passed through a random chain of channel effects, for
# training on features of audio that went through rooms, microphones, codecs and beds the
# labelled files never had (`variant_features` gives their features for TrainFile.variants).
# Each effect is written from its physical definition (no code is shared with the benchmark's
# generators). A copy keeps the file's labels, so every effect and its range are chosen so that
# it neither erases nor creates an artifact. The artifacts are already in the waveform, so the
# chain models where in a recording chain they happened:
#
# 1. room reverb (p 0.5): a direct path plus an exponentially decaying noise tail, RT60 0.1-0.8 s,
#    tail 0-15 dB under the direct sound. Glitches (and types this module does not know) do not
#    feed it (a click in transmission does not ring in the room, so its end stays where the label
#    says); the reverberant sound is faded out (3 ms ramps) inside dropouts and unknown types (a
#    dropout in transmission removes the room's sound too).
# 2. background (p 0.6 noise, p 0.35 music): Gaussian noise with a 1/f^0-1.5 spectrum (white to
#    between pink and brown) 15-45 dB under the speech level (95th percentile of 20 ms RMS), and a
#    music bed 20-35 dB under it: sustained notes and chords with harmonics, a third of them within
#    3% of 100, 120 or 150 Hz (where mains hum's harmonics sit), each with an attack, a decay and a
#    4-7 Hz vibrato (a bed of perfectly steady mains-locked tones would be hum). Faded out inside
#    dropouts like the reverb. In files with hum the background is scaled so that below 700 Hz
#    it stays 6 dB under the weakest labelled hum (`_hum_safe_scale`): a hum labelled 8 dB over a
#    quiet floor would otherwise vanish under 20 dB SNR noise.
#    Clipping happened in the converter, after the room: inside clipped spans the sum is clipped
#    again at the span's own limits, so a clipped span keeps its flat tops.
# 3. EQ (p 0.6): RBJ biquads: high-pass (p 0.5) at 50-300 Hz, low-pass (p 0.4) at 3.5-7.5 kHz,
#    low and high shelves and up to 2 peaks of +-6 dB. In files with hum the high-pass stays at
#    40-70 Hz and nothing below 700 Hz is cut by more than 3 dB (a 300 Hz high-pass would take
#    50 Hz hum down by 31 dB).
# 4. gain: +-6 dB, never raising the peak above 0.99 (no new clipping).
# 5. codec round trip (p 0.5): MP3, AAC or Opus at 24-64 kbps through PyAV, re-aligned to the
#    original by cross-correlation (the encoders' priming delay would shift every label by up to
#    tens of ms), scaled down if the decoder overshoots full scale.
# The copy is rounded to 16 bits as the canonical file would be.

CANONICAL_RATE = 16000
_KNOWN = ("glitch", "dropout", "long_pause", "hum", "clipping")
HUM_NOTES_HZ = (100.0, 120.0, 150.0)
CODECS = (("mp3", "libmp3lame", "s16p"), ("aac", "aac", "fltp"), ("opus", "libopus", "s16"))


def _span_mask(n, spans_ms, rate, ramp_s=0.003):
    """1.0 outside the spans, 0.0 inside, with raised-cosine ramps of `ramp_s` outside each span."""
    mask = np.ones(n, dtype=np.float64)
    ramp = max(1, int(ramp_s * rate))
    fade = 0.5 - 0.5 * np.cos(np.pi * (np.arange(ramp) + 0.5) / ramp)  # 0 -> 1
    for start_ms, end_ms in spans_ms:
        a, b = max(0, int(start_ms * rate / 1000)), min(n, int(math.ceil(end_ms * rate / 1000)))
        if b <= a:
            continue
        mask[a:b] = 0.0
        lo = max(0, a - ramp)
        if a > lo:
            mask[lo:a] = np.minimum(mask[lo:a], fade[::-1][-(a - lo) :])
        hi = min(n, b + ramp)
        mask[b:hi] = np.minimum(mask[b:hi], fade[: hi - b])
    return mask


def _frame_rms(x, hop):
    n = len(x) // hop
    return np.sqrt(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1)) if n else np.zeros(1)


def _levels(x, rate):
    """(floor rms, speech rms) of a signal: 10th and 95th percentile of the 20 ms frame RMS, silent frames left out."""
    rms = _frame_rms(x, rate // 50)
    sounding = rms[rms > 1e-6]
    if not len(sounding):
        return 1e-4, 1e-2
    return float(np.percentile(sounding, 10)), float(max(np.percentile(sounding, 95), 1e-4))


def room_impulse_response(rng, rate, rt60, drr_db):
    """A direct path and an exponentially decaying Gaussian noise tail: energy falls 60 dB in `rt60`
    seconds (amplitude exp(-6.91 t / rt60)); the tail's energy is `drr_db` under the direct path's.
    The tail starts after a 2-10 ms pre-delay with a short 1 ms onset."""
    length = int(rate * min(1.5 * rt60, 1.2)) + 1
    t = np.arange(length) / rate
    predelay = rng.uniform(0.002, 0.010)
    tail = rng.standard_normal(length) * np.exp(-6.91 * t / rt60)
    tail *= np.clip((t - predelay) / 0.001, 0.0, 1.0)
    tail *= math.sqrt(10 ** (-drr_db / 10) / (np.sum(tail**2) + 1e-20))
    h = tail
    h[0] += 1.0
    return h


def coloured_noise(rng, n, exponent):
    """Gaussian noise with a power spectrum falling as 1 / f**exponent (0 white, 1 pink, 2 brown), unit RMS."""
    from scipy import fft

    size = fft.next_fast_len(max(n, 2), real=True)  # a length with small prime factors: 10-20x faster
    spectrum = fft.rfft(rng.standard_normal(size))
    f = np.fft.rfftfreq(size)
    f[0] = f[1]
    spectrum *= f ** (-exponent / 2)
    x = fft.irfft(spectrum, size)[:n]
    return x / (np.sqrt(np.mean(x**2)) + 1e-20)


def music_bed(rng, n, rate):
    """Sustained notes and chords with harmonics, attack/decay envelopes and a vibrato, unit RMS.

    Fundamentals: equal-tempered notes from 65 to 700 Hz, and (a third of the notes) a pitch
    within 3% of 100, 120 or 150 Hz, the frequencies where mains hum's harmonics sit. Every note
    has a 10-150 ms attack, an exponential or swelling decay and a 0.2-0.8% vibrato at 4-7 Hz."""
    out = np.zeros(n)
    t_pos = rng.uniform(0, 0.5)
    duration = n / rate
    while t_pos < duration:
        chord = rng.integers(1, 4)
        if rng.random() < 0.33:
            root = rng.choice(HUM_NOTES_HZ) * rng.uniform(0.97, 1.03)
        else:
            root = 440.0 * 2 ** (rng.integers(-33, 8) / 12)
        length = rng.uniform(0.3, 3.0)
        intervals = rng.choice([0, 3, 4, 7, 12], size=chord, replace=False)
        a = int(t_pos * rate)
        m = min(n - a, int(length * rate))
        if m > 16:
            t = np.arange(m) / rate
            attack = rng.uniform(0.01, 0.15)
            env = np.clip(t / attack, 0, 1)
            if rng.random() < 0.6:
                env *= np.exp(-t / rng.uniform(0.2, 1.5))  # struck or plucked
            else:
                env *= np.sin(np.pi * np.clip(t / (m / rate), 0, 1)) ** 0.5  # bowed or blown swell
            env *= np.clip((m / rate - t) / 0.02, 0, 1)  # no click at the end
            vibrato = 1 + rng.uniform(0.002, 0.008) * np.sin(2 * np.pi * rng.uniform(4, 7) * t + rng.uniform(0, 6.3))
            note = np.zeros(m)
            for interval in intervals:
                f0 = root * 2 ** (interval / 12)
                phase = 2 * np.pi * np.cumsum(f0 * vibrato) / rate
                rolloff = rng.uniform(0.4, 0.8)
                for h in range(1, 9):
                    if f0 * h > 0.45 * rate:
                        break
                    note += rolloff ** (h - 1) * np.sin(h * phase + rng.uniform(0, 6.3))
            out[a : a + m] += note * env
        t_pos += length * rng.uniform(0.4, 1.1) + rng.uniform(0, 0.6)
    return out / (np.sqrt(np.mean(out**2)) + 1e-20)


def _biquad(kind, freq, rate, gain_db=0.0, q=0.707):
    """One second-order section (b0, b1, b2, 1, a1, a2) from the RBJ audio EQ cookbook."""
    w0 = 2 * math.pi * freq / rate
    cos, alpha = math.cos(w0), math.sin(w0) / (2 * q)
    big_a = 10 ** (gain_db / 40)
    if kind == "highpass":
        b = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2]
        a = [1 + alpha, -2 * cos, 1 - alpha]
    elif kind == "lowpass":
        b = [(1 - cos) / 2, 1 - cos, (1 - cos) / 2]
        a = [1 + alpha, -2 * cos, 1 - alpha]
    elif kind == "peak":
        b = [1 + alpha * big_a, -2 * cos, 1 - alpha * big_a]
        a = [1 + alpha / big_a, -2 * cos, 1 - alpha / big_a]
    else:  # low / high shelf, shelf slope 1
        root = 2 * math.sqrt(big_a) * alpha
        sign = 1 if kind == "lowshelf" else -1
        b = [
            big_a * ((big_a + 1) - sign * (big_a - 1) * cos + root),
            sign * 2 * big_a * ((big_a - 1) - sign * (big_a + 1) * cos),
            big_a * ((big_a + 1) - sign * (big_a - 1) * cos - root),
        ]
        a = [
            (big_a + 1) + sign * (big_a - 1) * cos + root,
            -sign * 2 * ((big_a - 1) + sign * (big_a + 1) * cos),
            (big_a + 1) + sign * (big_a - 1) * cos - root,
        ]
    return np.array([b[0] / a[0], b[1] / a[0], b[2] / a[0], 1.0, a[1] / a[0], a[2] / a[0]])


def random_eq(rng, rate, has_hum):
    """Second-order sections of a random microphone / playback / transmission colouring (see above)."""
    low_cut_floor = -3.0 if has_hum else -6.0
    sections = []
    if rng.random() < 0.5:
        low, high = (40.0, 70.0) if has_hum else (50.0, 300.0)
        hp = math.exp(rng.uniform(math.log(low), math.log(high)))
        sections.append(_biquad("highpass", hp, rate))
    if rng.random() < 0.4:
        sections.append(_biquad("lowpass", math.exp(rng.uniform(math.log(3500), math.log(7500))), rate))
    if rng.random() < 0.5:
        sections.append(_biquad("lowshelf", rng.uniform(100, 400), rate, rng.uniform(low_cut_floor, 6)))
    if rng.random() < 0.5:
        sections.append(_biquad("highshelf", rng.uniform(2000, 5000), rate, rng.uniform(-6, 6)))
    for _ in range(rng.integers(0, 3)):
        freq = math.exp(rng.uniform(math.log(150), math.log(6000)))
        floor = low_cut_floor if freq < 700 else -6.0
        sections.append(_biquad("peak", freq, rate, rng.uniform(floor, 6), rng.uniform(0.5, 2.0)))
    return np.array(sections) if sections else None


def codec_round_trip(x, rate, codec, kbps):
    """`x` encoded with `codec` ("mp3", "aac", "opus") at `kbps` through PyAV and decoded, re-aligned to `x`."""
    import av

    name, encoder, sample_format = {c[0]: c for c in CODECS}[codec]
    container_format = {"mp3": "mp3", "aac": "adts", "opus": "ogg"}[codec]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container_format) as out:
        stream = out.add_stream(encoder, rate=rate)
        stream.bit_rate = kbps * 1000
        stream.layout = "mono"
        pts, block = 0, 4096
        for a in range(0, len(x), block):
            chunk = x[a : a + block]
            if sample_format.startswith("s16"):
                data = np.clip(np.rint(chunk * 32767), -32768, 32767).astype(np.int16)[None]
            else:
                data = chunk.astype(np.float32)[None]
            frame = av.AudioFrame.from_ndarray(data, format=sample_format, layout="mono")
            frame.sample_rate, frame.pts = rate, pts
            pts += len(chunk)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    buffer.seek(0)
    pieces = []
    with av.open(buffer, "r") as src:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        for frame in src.decode(audio=0):
            for r in resampler.resample(frame):
                pieces.append(r.to_ndarray().reshape(-1))
        for r in resampler.resample(None):
            pieces.append(r.to_ndarray().reshape(-1))
    decoded = np.concatenate(pieces).astype(np.float64) if pieces else np.zeros(0)
    return align_to(decoded, x, rate)


def codec_lag(decoded, original, rate, max_lag_s=0.1):
    """Samples by which `decoded` lags `original` (0..max_lag_s), by cross-correlation over the first 20 s."""
    n = min(len(original), 20 * rate)
    max_lag = int(max_lag_s * rate)
    a, b = original[:n], decoded[: n + max_lag]
    size = 1 << int(math.ceil(math.log2(len(a) + len(b))))
    corr = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)
    return int(np.argmax(corr[: max_lag + 1]))


def align_to(decoded, original, rate):
    lag = codec_lag(decoded, original, rate)
    out = np.zeros(len(original))
    usable = decoded[lag : lag + len(original)]
    out[: len(usable)] = usable
    return out


def _samples(span_ms, n, rate):
    return max(0, int(span_ms[0] * rate / 1000)), min(n, int(math.ceil(span_ms[1] * rate / 1000)))


HUM_MARGIN_DB = 6.0  # the added background stays this far under each hum's own level below 700 Hz


def _hum_safe_scale(x, background, hum_spans, rate):
    """Factor (<= 1) for the background so that, below 700 Hz, it stays HUM_MARGIN_DB under the weakest
    labelled hum. A hum's level is how much it raises the span's quiet frames (20th percentile of the
    20 ms frame power below 700 Hz) over the 1 s either side; a hum too weak to measure that way keeps
    the background under the quiet frames' level itself."""
    from scipy.signal import butter, sosfilt

    sos = butter(4, 700, "low", fs=rate, output="sos")
    low_x, low_bg = sosfilt(sos, x), sosfilt(sos, background)
    hop = rate // 50
    scale = 1.0
    for a, b in hum_spans:
        if b - a < 2 * hop:
            continue
        inside = _frame_rms(low_x[a:b], hop) ** 2
        around = np.concatenate([low_x[max(0, a - rate) : a], low_x[b : b + rate]])
        quiet_out = np.percentile(_frame_rms(around, hop) ** 2, 20) if len(around) >= hop else 0.0
        excess = np.percentile(inside, 20) - quiet_out
        allowed = math.sqrt(max(excess, 0.1 * np.percentile(inside, 20), 1e-14)) * 10 ** (-HUM_MARGIN_DB / 20)
        have = float(np.sqrt(np.median(_frame_rms(low_bg[a:b], hop) ** 2))) + 1e-20
        scale = min(scale, allowed / have)
    return float(min(scale, 1.0))


EFFECT_PROBABILITIES = {"reverb": 0.5, "noise": 0.6, "music": 0.35, "eq": 0.6, "codec": 0.5}


def augment_waveform(samples, events, type_names, rng, rate=CANONICAL_RATE, probabilities=None):
    """One augmented copy of `samples` (mono float at `rate`) and a dict of what was done to it.

    `events`: (type_index, start_ms, end_ms) labels of the file, `type_names` their names; see the
    comment above for the chain and its ranges. `probabilities` overrides EFFECT_PROBABILITIES (e.g.
    {"codec": 0} for an ablation: the random draws are the same, so the other effects are too)."""
    p = {**EFFECT_PROBABILITIES, **(probabilities or {})}
    x = np.asarray(samples, dtype=np.float64)
    n = len(x)
    names = [type_names[int(e[0])] if int(e[0]) < len(type_names) else "" for e in events]
    spans = [(float(e[1]), float(e[2])) for e in events]
    has_hum = "hum" in names
    cut = [s for s, k in zip(spans, names, strict=True) if k == "dropout" or k not in _KNOWN]
    no_feed = cut + [s for s, k in zip(spans, names, strict=True) if k == "glitch"]
    keep = _span_mask(n, cut, rate)  # where the room's sound (reverb, background) is heard
    feed = _span_mask(n, no_feed, rate)  # what rings in the room
    clipped = [_samples(s, n, rate) for s, k in zip(spans, names, strict=True) if k == "clipping"]
    limits = [(float(x[a:b].min()), float(x[a:b].max())) if b > a else (0.0, 0.0) for a, b in clipped]
    floor, speech = _levels(x, rate)
    done = {}

    if rng.random() < p["reverb"]:  # room reverb: the reverberant part, added to the direct sound
        rt60, drr = rng.uniform(0.1, 0.8), rng.uniform(0.0, 15.0)
        from scipy.signal import oaconvolve

        h = room_impulse_response(rng, rate, rt60, drr)
        wet = oaconvolve(x * feed, h[1:])[:n]
        x = x + np.concatenate([[0.0], wet[: n - 1]]) * keep
        done["reverb"] = {"rt60": round(rt60, 3), "drr_db": round(drr, 1)}

    background = np.zeros(n)
    if rng.random() < p["noise"]:  # ambient noise, 15-45 dB under the speech, white to pink-brown
        exponent = rng.uniform(0.0, 1.5)
        level = speech * 10 ** (-rng.uniform(15, 45) / 20)
        background += level * coloured_noise(rng, n, exponent)
        done["noise"] = {"exponent": round(exponent, 2), "db_re_speech": round(20 * math.log10(level / speech), 1)}
    if rng.random() < p["music"]:  # a music bed well under the speech
        db = rng.uniform(20, 35)
        background += speech * 10 ** (-db / 20) * music_bed(rng, n, rate)
        done["music"] = {"db_under_speech": round(db, 1)}
    if "noise" in done or "music" in done:
        if has_hum:
            hum = [_samples(s, n, rate) for s, k in zip(spans, names, strict=True) if k == "hum"]
            scale = _hum_safe_scale(x, background, hum, rate)
            background *= scale
            done["background_scale_for_hum"] = round(scale, 3)
        x = x + background * keep
    for (a, b), (low, high) in zip(clipped, limits, strict=True):  # the converter clips what the room added too
        x[a:b] = np.clip(x[a:b], low, high)

    if rng.random() < p["eq"]:
        from scipy.signal import sosfilt

        sos = random_eq(rng, rate, has_hum)
        if sos is not None:
            x = sosfilt(sos, x)
            done["eq"] = len(sos)

    peak = float(np.max(np.abs(x))) if n else 0.0
    gain_db = rng.uniform(-6, 6)
    if peak > 0:
        gain_db = min(gain_db, 20 * math.log10(0.99 / peak))
    x = x * 10 ** (gain_db / 20)
    done["gain_db"] = round(gain_db, 1)

    if rng.random() < p["codec"] and n > rate // 10:
        codec = CODECS[rng.integers(len(CODECS))][0]
        kbps = int(rng.choice([24, 32, 48, 64]))
        x = codec_round_trip(x, rate, codec, kbps)
        over = float(np.max(np.abs(x)))
        if over > 0.999:
            x *= 0.999 / over
        done["codec"] = f"{codec} {kbps}k"
    return quantize16(x), done


def augmented_copies(samples, events, type_names, k=2, seed=0, rate=CANONICAL_RATE, probabilities=None):
    """`k` augmented copies of a file's canonical waveform, deterministic for `seed`: [(copy, what was done)]."""
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0xA0])
    return [augment_waveform(samples, events, type_names, rng, rate, probabilities) for _ in range(k)]


def variant_features(samples, events, type_names, k=2, seed=0, config: FeatureConfig | None = None):
    """Features (float16, as the feature cache stores them) of `k` augmented copies of a canonical waveform."""
    extractor = extractor_for(config or FeatureConfig())
    copies = augmented_copies(samples, events, type_names, k, seed)
    return [extractor.from_array(copy).astype(np.float16) for copy, _ in copies]


# ---------------------------------------------------------------- event multiplication

PASTE_PAD_S = 0.02  # context either side of a pasted event (the crossfades happen inside it)
PASTE_FADE_S = 0.005
PASTE_CLEAR_S = 0.5  # a pasted piece keeps this far from any other event
PASTE_SKIP = ("long_pause",)  # a pause is defined by its surroundings: not moved


def paste_events(samples, events, donors, type_names, rng, count=None, rate=CANONICAL_RATE):
    """A copy of `samples` with labelled events of other files pasted into clean stretches of it, and
    its labels: (copy, events + the pasted ones).

    `donors`: [(samples, events)] of other files (same rate). An event is taken with PASTE_PAD_S of
    its own context on each side and crossfaded in over PASTE_FADE_S inside that context, into a
    stretch PASTE_CLEAR_S away from every other event whose level (RMS) is within 10 dB of the
    piece's context (a dropout lands in speech, not in a pause), scaled by at most +-6 dB toward
    that level and never above a 0.99 peak. `count` (default: half the file's events, 1 to 8)
    pieces are tried; a piece with no place after 30 draws is skipped."""
    x = np.array(samples, dtype=np.float64)
    n = len(x)
    pad, fade = int(PASTE_PAD_S * rate), max(1, int(PASTE_FADE_S * rate))
    pool = [
        (d, e)
        for d, (donor, donor_events) in enumerate(donors)
        for e in donor_events
        if int(e[0]) < len(type_names) and type_names[int(e[0])] not in PASTE_SKIP
    ]
    out_events = [tuple(int(v) for v in e[:3]) for e in events]
    if not pool or n < rate:
        return x.astype(np.float32), out_events
    busy = [(e[1] / 1000 - PASTE_CLEAR_S, e[2] / 1000 + PASTE_CLEAR_S) for e in out_events]
    wanted = count if count is not None else int(np.clip(round(len(events) / 2), 1, 8))
    ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(fade) + 0.5) / fade)
    for _ in range(wanted):
        d, (t, start_ms, end_ms) = pool[int(rng.integers(len(pool)))]
        donor = np.asarray(donors[d][0], dtype=np.float64)
        a, b = int(start_ms * rate / 1000) - pad, int(math.ceil(end_ms * rate / 1000)) + pad
        if a < 0 or b > len(donor) or b - a >= n:
            continue
        piece = donor[a:b].copy()
        context = np.sqrt(np.mean(np.concatenate([piece[:pad], piece[-pad:]]) ** 2)) + 1e-9
        length = b - a
        for _ in range(30):
            at = int(rng.integers(0, n - length))
            s0, s1 = at / rate, (at + length) / rate
            if any(s0 < hi and s1 > lo for lo, hi in busy):
                continue
            level = np.sqrt(np.mean(x[at : at + length] ** 2)) + 1e-9
            gap_db = 20 * math.log10(level / context)
            if abs(gap_db) > 10:
                continue
            gain = 10 ** (np.clip(gap_db, -6, 6) / 20)
            gain = min(gain, 0.99 / (np.max(np.abs(piece)) + 1e-9))
            weight = np.ones(length)
            weight[:fade], weight[-fade:] = ramp, ramp[::-1]
            x[at : at + length] = x[at : at + length] * (1 - weight) + piece * gain * weight
            label = (int(t), int(round((at + pad) * 1000 / rate)), int(round((at + length - pad) * 1000 / rate)))
            out_events.append(label)
            busy.append((s0 - PASTE_CLEAR_S, s1 + PASTE_CLEAR_S))
            break
    return x.astype(np.float32), sorted(out_events, key=lambda e: (e[1], e[0]))


def pasted_copies(samples, events, donors, type_names, k=2, seed=0, rate=CANONICAL_RATE):
    """`k` copies with events of `donors` pasted in (paste_events), each then through the channel chain of
    augment_waveform: [(copy, its events, what was done)], deterministic for `seed`."""
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0xB0])
    out = []
    for _ in range(k):
        pasted, pasted_events = paste_events(samples, events, donors, type_names, rng, rate=rate)
        copy, done = augment_waveform(pasted, pasted_events, type_names, rng, rate)
        done["pasted"] = len(pasted_events) - len(events)
        out.append((copy, pasted_events, done))
    return out
