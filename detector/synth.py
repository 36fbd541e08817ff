"""Synthetic speech-like (or music-like) recordings with injected artifacts and exact labels.

`synthesize(seed, duration_s, ...)` lays out a timeline first (words of syllables with
natural gaps of ~50-300 ms between words and 250-700 ms between phrases, or notes and
phrases for music), renders it (source-filter vowels with pitch contours and formants,
fricative and plosive noise, a little room reverb, a low pink room-noise floor), then
injects artifacts in the order a recording chain would make them:

- `long_pause`: a phrase gap stretched to 1.0-3.5 s of room noise only (label: from the
  end of the last word to the start of the next; no other unlabelled quiet span in a
  recording reaches 1 s),
- `hum`: 50 or 60 Hz with harmonics (a soft hum or a rich buzz), 0.5-5 s, 8-35 dB above
  the noise floor,
- `clipping`: 60 ms-1 s of speech driven (gain ramped in over 10-40 ms) so its peaks
  reach 3-10x a hard clip level set 1.0-1.5x above the loudest sample of the rest of
  the file (as a fixed converter limit would be; label: first to last clipped sample),
- `dropout`: 20-300 ms inside speech set to digital silence (60%) or dropped by 35-60 dB,
- `glitch`: 2-20 ms clicks (damped 1.5-6 kHz ringing), single-sample spike trains, noise
  bursts or DC steps, peaking at 0.6-2x the speech peak level and at least 1.5-3x the
  signal around them, sometimes in one stereo channel only (then twice as strong).

Events of different kinds (hum aside) are at least 0.4 s apart, of the same kind 1 s;
hum never overlaps a dropout. `events_per_minute` sets the mean count of each kind
(Poisson).

Labels are computed from the sample indices actually modified, so they are exact at any
sample rate. The timeline and every choice of time, length and level come from one
random stream that does not depend on the sample rate or channels; waveform noise comes
from another. The same seed thus gives the same timeline and events (clipping's ends,
which follow the samples that actually clip, aside) at 8 kHz or 48 kHz, mono or stereo.
"""

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import signal as sps

ALL_KINDS = ("glitch", "dropout", "long_pause", "hum", "clipping")
STYLES = ("speech", "music")

# (F1, F2, F3) in Hz of a few vowels for an average adult voice.
VOWELS = (
    (280, 2250, 2900),
    (400, 2000, 2600),
    (750, 1250, 2500),
    (450, 850, 2500),
    (320, 800, 2300),
    (500, 1500, 2500),
    (600, 1700, 2450),
)
# Fricatives: (low Hz, high Hz, relative level).
FRICATIVES = ((4000, 7500, 0.22), (2000, 4500, 0.25), (1200, 7000, 0.08), (500, 3500, 0.07))
EVENT_GAP_S = 0.4  # minimum distance between two non-hum events of different kinds
SAME_KIND_GAP_S = 1.0  # ... and of the same kind (closer ones would read as one event)


@dataclass(frozen=True)
class Event:
    kind: str
    start_ms: float
    end_ms: float
    detail: str = field(default="", compare=False)


@dataclass
class Recording:
    samples: np.ndarray  # float32, (n,) mono or (n, channels)
    sample_rate: int
    events: list[Event]
    active_ms: list[tuple[float, float]]  # words (speech) or notes (music): the spans that are not gaps
    clean: np.ndarray | None = None  # with keep_clean=True: the same recording before any artifact but long pauses

    @property
    def duration_ms(self) -> float:
        return len(self.samples) * 1000.0 / self.sample_rate

    def labels(self, type_names=ALL_KINDS) -> list[tuple[int, int, int]]:
        """Events as (type_index, start_ms, end_ms) in whole ms (rounded outwards), for `type_names`."""
        index = {name: i for i, name in enumerate(type_names)}
        return [(index[e.kind], math.floor(e.start_ms), math.ceil(e.end_ms)) for e in self.events if e.kind in index]


@dataclass
class _Unit:
    kind: str  # vowel, nasal, fricative, plosive, note
    start: float  # seconds
    dur: float
    params: dict


def synthesize(
    seed,
    duration_s,
    sample_rate=16000,
    channels=1,
    kinds=ALL_KINDS,
    style="speech",
    events_per_minute=4.0,
    keep_clean=False,
) -> Recording:
    """A recording of `duration_s` seconds with about `events_per_minute` events of each kind."""
    if not 8000 <= sample_rate <= 48000:
        raise ValueError("sample_rate must be 8000-48000 Hz")
    if channels not in (1, 2):
        raise ValueError("channels must be 1 or 2")
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}")
    unknown = set(kinds) - set(ALL_KINDS)
    if unknown:
        raise ValueError(f"unknown kinds {sorted(unknown)}")
    if duration_s < 2:
        raise ValueError("duration_s must be at least 2 s")

    plan_rng = np.random.default_rng([seed, 0])
    wave_rng = np.random.default_rng([seed, 1, sample_rate, channels])
    minutes = duration_s / 60.0

    def count(kind):
        return int(plan_rng.poisson(events_per_minute * minutes)) if kind in kinds else 0

    n_pauses = count("long_pause")
    if style == "speech":
        units, words, pauses = _speech_plan(plan_rng, duration_s, n_pauses)
    else:
        units, words, pauses = _music_plan(plan_rng, duration_s, n_pauses)
    voiced = [u for u in units if u.kind in ("vowel", "note")]

    occupied = [(a, b, "long_pause") for a, b in pauses]
    clip_plan = _place_clipping(plan_rng, count("clipping"), voiced, occupied)
    dropout_plan = _place_dropouts(plan_rng, count("dropout"), voiced, occupied)
    glitch_plan = _place_glitches(plan_rng, count("glitch"), words, duration_s, occupied)
    hum_plan = _place_hum(plan_rng, count("hum"), duration_s, dropout_plan)
    scene = _scene_params(plan_rng, channels)

    sr = sample_rate
    n = int(round(duration_s * sr))
    dry = np.zeros(n)
    for unit in units:
        _render_unit(dry, unit, sr, wave_rng)
    active = np.zeros(n, dtype=bool)
    for a, b in words:
        active[int(round(a * sr)) : int(round(b * sr))] = True
    dry = _reverb(dry, sr, scene, wave_rng)
    speech_rms = np.sqrt(np.mean(dry[active] ** 2)) if active.any() else 1.0
    dry *= scene["level"] / max(speech_rms, 1e-9)
    noise_rms = scene["level"] * 10 ** (-scene["snr_db"] / 20)
    y = np.stack([dry * g for g in scene["channel_gains"]], axis=1)
    for c in range(channels):
        y[:, c] += _room_noise(n, sr, noise_rms, scene, wave_rng)
    clean = y.copy() if keep_clean else None
    peak = float(np.percentile(np.abs(y[active]), 99.9)) if active.any() else scene["level"] * 3

    events = [Event("long_pause", *_ms(a, b, sr), "ambient") for a, b in pauses]
    for start, length, params in hum_plan:
        events.append(_add_hum(y, sr, start, length, params, noise_rms, scene["level"], wave_rng))
    loudest = float(np.max(np.abs(y)))  # clip levels sit above anything else in the file
    for start, end, params in clip_plan:
        event = _add_clipping(y, sr, start, end, params, loudest)
        if event:
            events.append(event)
    for start, length, params in dropout_plan:
        events.append(_add_dropout(y, sr, start, length, params))
    for start, length, params in glitch_plan:
        events.append(_add_glitch(y, sr, start, length, params, peak, wave_rng))

    y = np.clip(y, -1.0, 1.0).astype(np.float32)
    if channels == 1:
        y = y[:, 0]
        clean = clean[:, 0] if clean is not None else None
    events.sort(key=lambda e: (e.start_ms, e.kind))
    active_ms = [_ms(a, b, sr) for a, b in words]
    return Recording(y, sr, events, active_ms, None if clean is None else clean.astype(np.float32))


def _ms(a, b, sr):
    """Seconds -> exact ms of the sample boundaries they round to."""
    return round(a * sr) * 1000.0 / sr, round(b * sr) * 1000.0 / sr


# --- timelines -------------------------------------------------------------------------


def _pause_probability(remaining, t, end, pause_time_left, mean_phrase_s):
    room = end - t - pause_time_left
    return 1.0 if room <= 0 else min(1.0, remaining * mean_phrase_s / room)


def _layout(rng, duration_s, n_pauses, make_item, phrase_items, item_gap, phrase_gap, mean_phrase_s):
    """Shared timeline walk: items (words or notes) in phrases, phrase gaps sometimes made long pauses."""
    end = duration_s - 0.15
    pause_lengths = list(rng.uniform(1.0, 3.5, size=n_pauses))
    t = rng.uniform(0.1, 0.4)
    units, items, pauses = [], [], []
    in_phrase, phrase_len, first = 0, phrase_items(), True
    while True:
        if not first:
            if in_phrase >= phrase_len:
                in_phrase, phrase_len = 0, phrase_items()
                gap, is_pause = phrase_gap(), False
                if pause_lengths and t + pause_lengths[0] + 0.8 <= end:
                    p = _pause_probability(len(pause_lengths), t, end, sum(pause_lengths), mean_phrase_s)
                    if rng.random() < p:
                        gap, is_pause = pause_lengths.pop(0), True
                        pauses.append((t, t + gap))
            else:
                gap, is_pause = item_gap(), False
            if end - t < 1.0 and not is_pause:  # no unlabelled quiet of ~1 s at the end
                gap = min(gap, 0.2)
            t += gap
        made = make_item(t, end - t)
        if made is None:
            if pauses and pauses[-1][1] == t:  # a pause must be followed by sound
                pauses.pop()
            break
        item_units, length = made
        units += item_units
        items.append((t, t + length))
        t += length
        in_phrase += 1
        first = False
    return units, items, pauses


def _speech_plan(rng, duration_s, n_pauses):
    speaker = {
        "f0": rng.uniform(85, 230),
        "formant_scale": rng.uniform(0.9, 1.2),
        "rate": rng.uniform(0.85, 1.2),
    }
    state = {"phrase_pos": 0}

    def word_gap():
        return rng.uniform(0.02, 0.05) if rng.random() < 0.1 else rng.uniform(0.05, 0.3)

    def make_word(t0, room):
        if room < 0.06:
            return None
        n_syll = rng.choice([1, 2, 3], p=[0.45, 0.35, 0.2])
        units, t = [], t0
        for s in range(n_syll):
            stressed = rng.random() < 0.4
            level = 10 ** (rng.uniform(-4, 2) / 20) * (1.3 if stressed else 1.0)
            onset = rng.choice(["none", "fricative", "plosive", "nasal"], p=[0.3, 0.3, 0.25, 0.15])
            if onset == "plosive" and (s > 0 or t > t0):
                t += rng.uniform(0.015, 0.05) / speaker["rate"]  # closure inside the word
            if onset != "none":
                u = _consonant(rng, onset, t, speaker, level)
                units.append(u)
                t += u.dur
            state["phrase_pos"] += 1
            units.append(_vowel(rng, t, speaker, level, stressed, state["phrase_pos"]))
            t += units[-1].dur
            coda = rng.choice(["none", "fricative", "nasal", "plosive"], p=[0.55, 0.2, 0.15, 0.1])
            if coda != "none":
                if coda == "plosive":
                    t += rng.uniform(0.015, 0.04)
                u = _consonant(rng, coda, t, speaker, level)
                units.append(u)
                t += u.dur
        length = t - t0
        if length > room:  # shorten to the room left: a single vowel
            units = [_vowel(rng, t0, speaker, 1.0, False, state["phrase_pos"])]
            units[0].dur = min(units[0].dur, room)
            length = units[0].dur
        return units, length

    def phrase_items():
        state["phrase_pos"] = 0
        return int(rng.integers(3, 11))

    return _layout(rng, duration_s, n_pauses, make_word, phrase_items, word_gap, lambda: rng.uniform(0.25, 0.7), 3.5)


def _vowel(rng, t, speaker, level, stressed, phrase_pos):
    dur = rng.uniform(0.07, 0.16) * (1.4 if stressed else 1.0) / speaker["rate"]
    a = np.array(VOWELS[rng.integers(len(VOWELS))], float) * speaker["formant_scale"]
    a *= rng.uniform(0.95, 1.05, size=3)
    b = (
        a * rng.uniform(0.9, 1.1, size=3)
        if rng.random() < 0.7
        else np.array(VOWELS[rng.integers(len(VOWELS))], float) * speaker["formant_scale"]
    )
    declination = 1.12 - 0.03 * min(phrase_pos, 10)
    f0a = speaker["f0"] * declination * (1 + rng.normal(0, 0.06)) * (1.08 if stressed else 1.0)
    f0b = f0a * (1 + rng.normal(0, 0.08))
    return _Unit(
        "vowel", t, dur, {"f0": (f0a, f0b), "formants": (a, b), "level": level, "breath": rng.uniform(0.01, 0.05)}
    )


def _consonant(rng, kind, t, speaker, level):
    if kind == "fricative":
        low, high, rel = FRICATIVES[rng.integers(len(FRICATIVES))]
        return _Unit(
            "fricative",
            t,
            rng.uniform(0.04, 0.13) / speaker["rate"],
            {"band": (low, high), "level": level * rel * rng.uniform(0.6, 1.4)},
        )
    if kind == "plosive":
        return _Unit(
            "plosive",
            t,
            rng.uniform(0.02, 0.055),
            {
                "burst": rng.uniform(0.004, 0.012),
                "cut": rng.uniform(800, 3000),
                "level": level * rng.uniform(0.15, 0.45),
            },
        )
    return _Unit(
        "nasal",
        t,
        rng.uniform(0.04, 0.09) / speaker["rate"],
        {
            "f0": (speaker["f0"],) * 2,
            "formants": ((250, 1100, 2500),) * 2,
            "level": level * rng.uniform(0.2, 0.4),
            "breath": 0.0,
        },
    )


def _music_plan(rng, duration_s, n_pauses):
    tempo = rng.uniform(0.8, 1.3)
    instrument = rng.choice(["piano", "organ", "strings"])
    root = int(rng.integers(45, 60))
    scale = np.array([0, 2, 4, 5, 7, 9, 11, 12, 14, 16])

    def make_note(t0, room):
        if room < 0.08:
            return None
        dur = min(room, rng.uniform(0.12, 0.6) / tempo)
        degrees = rng.choice(len(scale), size=int(rng.integers(1, 4)), replace=False)
        pitches = [root + scale[d] + 12 * int(rng.integers(0, 2)) for d in degrees]
        freqs = [440.0 * 2 ** ((p - 69) / 12) for p in pitches]
        unit = _Unit(
            "note",
            t0,
            dur,
            {
                "freqs": freqs,
                "instrument": str(instrument),
                "level": 10 ** (rng.uniform(-5, 1) / 20),
                "decay": rng.uniform(0.2, 0.9),
            },
        )
        return [unit], dur

    def note_gap():
        return rng.uniform(0.0, 0.03) if rng.random() < 0.5 else rng.uniform(0.03, 0.2)

    return _layout(
        rng,
        duration_s,
        n_pauses,
        make_note,
        lambda: int(rng.integers(4, 13)),
        note_gap,
        lambda: rng.uniform(0.25, 0.7),
        3.0,
    )


def _scene_params(rng, channels):
    return {
        "level": 10 ** (rng.uniform(-32, -18) / 20),  # speech RMS, full scale = 1
        "snr_db": rng.uniform(32, 55),
        "rt60": rng.uniform(0.1, 0.35),
        "wet_db": rng.uniform(-22, -10) if rng.random() < 0.7 else None,
        "rumble_db": rng.uniform(-6, 3) if rng.random() < 0.3 else None,
        "channel_gains": [1.0] if channels == 1 else [1.0, 10 ** (rng.uniform(-1.5, 1.5) / 20)],
    }


# --- placing events ----------------------------------------------------------------------


def _free(a, b, occupied, kind=None):
    """No occupied (lo, hi, kind) span within EVENT_GAP_S (SAME_KIND_GAP_S for the same kind) of [a, b]."""
    for lo, hi, other in occupied:
        gap = SAME_KIND_GAP_S if other == kind else EVENT_GAP_S
        if b + gap > lo and a - gap < hi:
            return False
    return True


def _place_clipping(rng, n, voiced, occupied):
    out = []
    for _ in range(n):
        for _try in range(50):
            first = voiced[rng.integers(len(voiced))] if voiced else None
            if first is None:
                break
            start = first.start + rng.uniform(0.1, 0.6) * first.dur
            target = math.exp(rng.uniform(math.log(0.06), math.log(1.0)))
            ends = [u for u in voiced if u.start <= start + target and u.start + u.dur > start]
            last = ends[-1]
            end = min(last.start + last.dur * rng.uniform(0.5, 0.9), start + target)
            if end - start < 0.06 or end - start > 1.0 or not _free(start, end, occupied, "clipping"):
                continue
            out.append(
                (
                    start,
                    end,
                    {"drive": rng.uniform(3.0, 10.0), "clip": rng.uniform(1.0, 1.5), "ramp": rng.uniform(0.01, 0.04)},
                )
            )
            occupied.append((start, end, "clipping"))
            break
    return out


def _place_dropouts(rng, n, voiced, occupied):
    out = []
    for _ in range(n):
        for _try in range(50):
            if not voiced:
                break
            unit = voiced[rng.integers(len(voiced))]
            length = math.exp(rng.uniform(math.log(0.02), math.log(0.3)))
            start = unit.start + rng.uniform(0.0, 0.7) * unit.dur
            if not _free(start, start + length, occupied, "dropout"):
                continue
            silent = rng.random() < 0.6
            out.append(
                (
                    start,
                    length,
                    {"variant": "digital_silence" if silent else "level_drop", "drop_db": rng.uniform(35, 60)},
                )
            )
            occupied.append((start, start + length, "dropout"))
            break
    return out


def _place_glitches(rng, n, words, duration_s, occupied):
    out = []
    for _ in range(n):
        for _try in range(50):
            length = rng.uniform(0.002, 0.02)
            if words and rng.random() < 0.7:
                a, b = words[rng.integers(len(words))]
                start = rng.uniform(a, max(a, b - length))
            else:
                start = rng.uniform(0.05, duration_s - 0.05 - length)
            if not _free(start, start + length, occupied, "glitch"):
                continue
            variant = rng.choice(["click", "spikes", "burst", "dc_step"], p=[0.3, 0.25, 0.25, 0.2])
            out.append(
                (
                    start,
                    length,
                    {
                        "variant": str(variant),
                        "amp": rng.uniform(0.6, 2.0),
                        "over_local": rng.uniform(1.5, 3.0),
                        "one_channel": rng.random() < 0.3,
                        "freq": rng.uniform(1500, 6000),
                        "sign": 1.0 if rng.random() < 0.5 else -1.0,
                    },
                )
            )
            occupied.append((start, start + length, "glitch"))
            break
    return out


def _place_hum(rng, n, duration_s, dropouts):
    out, taken = [], [(s - 0.1, s + length + 0.1, "dropout") for s, length, _ in dropouts]
    for _ in range(n):
        for _try in range(50):
            length = rng.uniform(0.5, 5.0)
            if length > duration_s - 0.2:
                continue
            start = rng.uniform(0.05, duration_s - 0.05 - length)
            if not _free(start, start + length, taken, "hum"):
                continue
            buzz = rng.random() < 0.5
            out.append(
                (
                    start,
                    length,
                    {
                        "f0": 50.0 if rng.random() < 0.5 else 60.0,
                        "buzz": buzz,
                        "above_floor_db": rng.uniform(8, 35),
                        "rolloff": rng.uniform(0.15, 0.5) if not buzz else rng.uniform(0.5, 1.2),
                        "ramp": rng.uniform(0.005, 0.03),
                    },
                )
            )
            taken.append((start, start + length, "hum"))
            break
    return out


# --- rendering ---------------------------------------------------------------------------


def _envelope(n, sr, attack_s, release_s):
    env = np.ones(n)
    a = min(n // 2, max(1, int(attack_s * sr)))
    r = min(n - a, max(1, int(release_s * sr)))
    env[:a] = 0.5 - 0.5 * np.cos(np.pi * (np.arange(a) + 0.5) / a)
    env[n - r :] = 0.5 + 0.5 * np.cos(np.pi * (np.arange(r) + 0.5) / r)
    return env


def _formant_gain(freqs, formants):
    gain = np.ones_like(freqs)
    for i, f in enumerate(formants):
        bw = 60.0 + 40.0 * i
        gain /= np.sqrt((1 - (freqs / f) ** 2) ** 2 + (freqs * bw / f**2) ** 2)
    return gain


def _harmonic(n, sr, f0a, f0b, formants_a, formants_b, rng):
    u = np.linspace(0.0, 1.0, n)
    f0 = (f0a + (f0b - f0a) * (3 * u**2 - 2 * u**3)) * (1 + 0.004 * np.cumsum(rng.normal(0, 1, n)) / np.sqrt(sr))
    phase = 2 * np.pi * np.cumsum(f0) / sr + rng.uniform(0, 2 * np.pi)
    top = min(5000.0, 0.45 * sr)
    k = np.arange(1, max(2, int(top / max(f0a, f0b))) + 1)
    mean_f0 = 0.5 * (f0a + f0b)
    source = 1.0 / k
    amp_a = source * _formant_gain(k * mean_f0, formants_a)
    amp_b = source * _formant_gain(k * mean_f0, formants_b)
    waves = np.sin(np.outer(phase, k))
    out = (1 - u) * (waves @ amp_a) + u * (waves @ amp_b)
    return out / (np.sqrt(np.mean(out**2)) + 1e-12)


def _band_noise(n, sr, low, high, rng, order=4):
    noise = rng.standard_normal(n)
    nyq = 0.5 * sr
    high = min(high, 0.45 * sr)
    low = min(low, 0.6 * high)
    sos = sps.butter(order, [low / nyq, high / nyq], btype="band", output="sos")
    out = sps.sosfilt(sos, noise)
    return out / (np.sqrt(np.mean(out**2)) + 1e-12)


def _render_unit(buf, unit, sr, rng):
    start = int(round(unit.start * sr))
    n = min(int(round(unit.dur * sr)), len(buf) - start)
    if n <= 8:
        return
    p = unit.params
    if unit.kind in ("vowel", "nasal"):
        wave = _harmonic(n, sr, *p["f0"], *p["formants"], rng)
        if p["breath"]:
            wave += p["breath"] * 3 * _band_noise(n, sr, 300, 4000, rng, order=2)
        wave *= _envelope(n, sr, rng.uniform(0.01, 0.03), rng.uniform(0.015, 0.05)) * p["level"]
    elif unit.kind == "fricative":
        wave = _band_noise(n, sr, *p["band"], rng) * p["level"]
        wave *= _envelope(n, sr, rng.uniform(0.01, 0.025), rng.uniform(0.01, 0.025))
    elif unit.kind == "plosive":
        t = np.arange(n) / sr
        burst = _band_noise(n, sr, p["cut"], 7000, rng) * np.exp(-t / p["burst"]) * 2.5
        aspiration = _band_noise(n, sr, 1000, 5000, rng) * 0.25 * _envelope(n, sr, 0.003, 0.01)
        wave = (burst + aspiration) * p["level"] * _envelope(n, sr, 0.0005, 0.005)
    else:  # note
        wave = _note(n, sr, p, rng)
    buf[start : start + n] += wave


def _note(n, sr, p, rng):
    t = np.arange(n) / sr
    out = np.zeros(n)
    for f in p["freqs"]:
        k = np.arange(1, max(2, int(min(6000.0, 0.45 * sr) / f)) + 1)
        if p["instrument"] == "piano":
            amps, env = k**-1.5, np.exp(-t / p["decay"])
            phase = 2 * np.pi * f * t
        elif p["instrument"] == "organ":
            amps, env = np.where(k <= 6, 1.0 / k, 0.0), np.ones(n)
            phase = 2 * np.pi * f * t
        else:
            amps, env = 1.0 / k, np.ones(n)
            phase = 2 * np.pi * f * t + 0.3 * np.sin(2 * np.pi * 5.5 * t)
        out += (np.sin(np.outer(phase + rng.uniform(0, 2 * np.pi), k)) @ amps) * env
    out /= np.sqrt(np.mean(out**2)) + 1e-12
    return out * p["level"] * _envelope(n, sr, 0.005 if p["instrument"] == "piano" else 0.03, 0.03)


def _reverb(dry, sr, scene, rng):
    if scene["wet_db"] is None:
        return dry
    n = int(scene["rt60"] * sr)
    t = np.arange(n) / sr
    ir = rng.standard_normal(n) * np.exp(-6.9 * t / scene["rt60"])
    ir *= 10 ** (scene["wet_db"] / 20) / np.sqrt(np.sum(ir**2))
    ir[0] += 1.0
    return sps.fftconvolve(dry, ir)[: len(dry)]


_PINK_B = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
_PINK_A = [1.0, -2.494956002, 2.017265875, -0.522189400]


def _room_noise(n, sr, rms, scene, rng):
    pink = sps.lfilter(_PINK_B, _PINK_A, rng.standard_normal(n + 2000))[2000:]
    noise = pink / (np.sqrt(np.mean(pink**2)) + 1e-12)
    if scene["rumble_db"] is not None:
        sos = sps.butter(2, 120.0 / (0.5 * sr), output="sos")
        rumble = sps.sosfilt(sos, rng.standard_normal(n + 4000))[4000:]
        noise += rumble / (np.sqrt(np.mean(rumble**2)) + 1e-12) * 10 ** (scene["rumble_db"] / 20)
        noise /= np.sqrt(np.mean(noise**2)) + 1e-12
    return noise * rms


def _span(sr, start, length, n):
    a = int(round(start * sr))
    b = min(n, max(a + 1, int(round((start + length) * sr))))
    return a, b


def _add_hum(y, sr, start, length, p, noise_rms, speech_rms, rng):
    a, b = _span(sr, start, length, len(y))
    t = np.arange(b - a) / sr
    f0 = p["f0"] * (1 + 0.002 * np.sin(2 * np.pi * rng.uniform(0.05, 0.3) * t + rng.uniform(0, 6.3)))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    top = min(0.45 * sr, 3000.0 if p["buzz"] else 600.0)
    k = np.arange(1, int(top / p["f0"]) + 1)
    if p["buzz"]:
        amps = k ** -p["rolloff"] * np.where(k % 2 == 1, 1.0, 0.35)
    else:
        amps = p["rolloff"] ** (k - 1)
    wave = np.sin(np.outer(phase, k) + rng.uniform(0, 2 * np.pi, size=len(k))) @ amps
    level = min(noise_rms * 10 ** (p["above_floor_db"] / 20), speech_rms * 10 ** (-4 / 20))
    wave *= level / (np.sqrt(np.mean(wave**2)) + 1e-12) * _envelope(b - a, sr, p["ramp"], p["ramp"])
    y[a:b] += wave[:, None]
    over_floor = 20 * math.log10(level / noise_rms)
    detail = f"{'buzz' if p['buzz'] else 'hum'} {p['f0']:.0f} Hz, {over_floor:.0f} dB over floor"
    return Event("hum", a * 1000.0 / sr, b * 1000.0 / sr, detail)


def _add_clipping(y, sr, start, end, p, loudest):
    ramp = p["ramp"]
    a, b = _span(sr, start - ramp, end - start + 2 * ramp, len(y))
    inner_a, inner_b = _span(sr, start, end - start, len(y))
    gain = np.ones(b - a)
    ra, rb = inner_a - a, b - inner_b
    local_peak = float(np.max(np.abs(y[inner_a:inner_b]))) + 1e-9
    level = min(0.98, p["clip"] * loudest)
    drive = max(1.0, p["drive"] * level / local_peak)
    gain[:] = drive
    if ra:
        gain[:ra] = 1 + (drive - 1) * (0.5 - 0.5 * np.cos(np.pi * (np.arange(ra) + 0.5) / ra))
    if rb:
        gain[-rb:] = 1 + (drive - 1) * (0.5 + 0.5 * np.cos(np.pi * (np.arange(rb) + 0.5) / rb))
    driven = y[a:b] * gain[:, None]
    clipped = np.abs(driven) >= level
    y[a:b] = np.clip(driven, -level, level)
    hit = np.flatnonzero(clipped.any(axis=1))
    if not len(hit):
        return None
    first, last = a + hit[0], a + hit[-1] + 1
    detail = f"clip at {level:.2f}, drive {drive:.1f}x, {clipped.any(axis=1).mean():.0%} of samples clipped"
    return Event("clipping", float(first) * 1000.0 / sr, float(last) * 1000.0 / sr, detail)


def _add_dropout(y, sr, start, length, p):
    a, b = _span(sr, start, length, len(y))
    if p["variant"] == "digital_silence":
        y[a:b] = 0.0
        detail = "digital silence"
    else:
        y[a:b] *= 10 ** (-p["drop_db"] / 20)
        detail = f"level drop {p['drop_db']:.0f} dB"
    return Event("dropout", a * 1000.0 / sr, b * 1000.0 / sr, detail)


def _add_glitch(y, sr, start, length, p, peak, rng):
    a, b = _span(sr, start, length, len(y))
    n = b - a
    near = y[max(0, a - sr // 100) : b + sr // 100]
    amp = min(0.95, max(p["amp"] * peak, p["over_local"] * float(np.max(np.abs(near)))))
    chans = [int(rng.integers(y.shape[1]))] if (p["one_channel"] and y.shape[1] > 1) else list(range(y.shape[1]))
    if len(chans) < y.shape[1]:
        amp = min(0.95, 2 * amp)
    variant = p["variant"]
    if variant == "click":
        t = np.arange(n) / sr
        tau = max(length / 4, 1.0 / sr)
        wave = p["sign"] * amp * np.exp(-t / tau) * np.cos(2 * np.pi * p["freq"] * t)
        wave[-1] = p["sign"] * amp * 0.3  # the click's tail is cut at the label's end
    elif variant == "spikes":
        wave = np.zeros(n)
        count = int(rng.integers(2, 5)) if n > 2 else n
        where = np.unique(np.concatenate([[0, n - 1], rng.integers(0, n, size=max(0, count - 2))]))
        wave[where] = amp * rng.choice([-1.0, 1.0], size=len(where))
    elif variant == "burst":
        wave = amp * np.clip(rng.standard_normal(n) / 2.0, -1.0, 1.0)
        wave[0] = amp * p["sign"]
        wave[-1] = -amp * p["sign"]
    else:  # dc_step
        wave = np.full(n, p["sign"] * amp * 0.7)
    for c in chans:
        y[a:b, c] = np.clip(y[a:b, c] + wave, -0.99, 0.99)
    return Event("glitch", a * 1000.0 / sr, b * 1000.0 / sr, f"{variant}, {amp:.2f} peak")
