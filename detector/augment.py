"""Feature-level augmentation, computed through the log features so the result stays plausible.

Training only has features (no audio), so augmentation works on them:

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
"""

import numpy as np
import torch

from detector.features import FeatureConfig, mel_filterbank

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
