"""The "field" evaluation corpus: labelled recordings made independently of detector/synth.py.

Speech comes from Debian's speech synthesizers (espeak-ng in nine languages and dozens of
voice variants, flite's voices, festival's text2wave) reading varied text (bench/field_text.py),
joined into continuous speech with natural gaps. A channel drawn per recording adds a room
(noise-tail impulse response, RT60 0.1-0.8 s), background noise (pink, brown, hiss, ventilation,
white), sometimes a murmur of 5-10 talkers or a music bed, microphone EQ, slow gain rides, sometimes a telephone
band, a level (the speech's loud samples at -30..-1 dBFS) and a lossy codec round trip (MP3, AAC, Opus through PyAV) at
8-48 kHz, mono or stereo. The product's five artifact types are injected where a real chain
makes them:

    speech + room + background -> mic EQ -> gain rides -> [hum, clipping: at the converter]
    -> telephone band -> [dropouts, glitches: in transmission] -> level -> codec
    -> [some dropouts and glitches in the decoded stream]

Each label comes from the sample indices its injector changed (clipping: the first to the
last clipped sample; long_pause: the end of one utterance's speech to the start of the
next), so labels are exact at every sample rate. Unlabelled gaps between utterances are
0.1-0.8 s; silences inside an utterance are shortened to at most 0.6 s. Events are at least
0.4 s apart (0.8 s for two of one kind), 0.3 s from the ends; each kind comes at 2-6 a minute.

Synthesized utterances are cached under ~/.cache/relay-bench/tts (RELAY_BENCH_CACHE moves it).
Needs: apt-get install -y espeak-ng flite festival sox

    .venv/bin/python bench/field_check.py --seed 7 --files 4 --out /tmp/field --plot
"""

import hashlib
import io
import json
import math
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
from field_text import SENTENCES, VOCABULARY
from scipy import signal as sps

KINDS = ("glitch", "dropout", "long_pause", "hum", "clipping")
RATES = (8000, 11025, 16000, 22050, 32000, 44100, 48000)
CACHE_DIR = Path(os.environ.get("RELAY_BENCH_CACHE") or Path.home() / ".cache" / "relay-bench")

SPACING_S = 0.4  # between two events
SAME_KIND_SPACING_S = 0.8  # between two events of one kind
EDGE_S = 0.3  # no event this close to a file's start or end
GAP_S = (0.1, 0.7)  # most gaps between utterances; a few reach LONGEST_GAP_S
LONGEST_GAP_S = 0.8
PAUSE_S = (1.0, 4.0)  # long_pause length
INNER_SILENCE_S = 0.6  # silences inside an utterance are shortened to this
ACTIVE_DB = -40.0  # a 5 ms frame is speech within this of the utterance's loud (95th percentile) frames
ENVELOPE_S = 0.01  # frames of the speech envelope used to place events inside speech
EVENTS_PER_MINUTE = (2.0, 6.0)  # per kind, drawn per recording
SPEECH_RMS = 0.1  # working level of the dry speech (before the recording's final level)
MAX_DRIVE = 16.0  # clipping: the most a span's gain is driven up

LANGUAGES = {
    "en": ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc"),
    "de": ("de",),
    "fr": ("fr-fr", "fr-be"),
    "es": ("es", "es-419"),
    "it": ("it",),
    "pt": ("pt", "pt-br"),
    "nl": ("nl",),
    "pl": ("pl",),
    "sv": ("sv",),
}
ESPEAK_VARIANTS = (
    *(f"m{i}" for i in range(1, 9)),
    *(f"f{i}" for i in range(1, 6)),
    "klatt",
    "klatt2",
    "klatt3",
    "klatt4",
    "Alex",
    "Annie",
    "Andy",
    "Denis",
    "Lee",
    "Michael",
    "john",
    "steph",
    "linda",
    "paul",
    "robert",
    "victor",
    "grandma",
    "grandpa",
    "edward",
    "max",
    "adam",
    "anika",
    "belinda",
    "benjamin",
    "caleb",
    "david",
    "whisperf",
)
FLITE_VOICES = {"kal": (90, 140), "kal16": (90, 140), "awb": (90, 150), "rms": (80, 130), "slt": (150, 230)}


# ---------------------------------------------------------------- speech synthesis


@dataclass(frozen=True)
class Voice:
    engine: str  # espeak-ng, flite or festival
    args: tuple  # the engine's settings (part of the cache key)


def random_voice(rng, language) -> Voice:
    """A voice for `language`: espeak-ng for every language, flite and festival for English too."""
    engines = ("espeak-ng", "flite", "festival") if language == "en" else ("espeak-ng",)
    engine = engines[rng.choice(len(engines), p=(0.5, 0.35, 0.15))] if len(engines) > 1 else engines[0]
    if engine == "espeak-ng":
        return espeak_voice(rng, language)
    if engine == "flite":
        name = str(rng.choice(sorted(FLITE_VOICES)))
        stretch = round(rng.uniform(0.85, 1.25) * 20) / 20
        f0 = int(10 * round(rng.uniform(*FLITE_VOICES[name]) / 10))
        return Voice(engine, (name, stretch, f0))
    stretch = round(rng.uniform(0.85, 1.2) * 20) / 20
    cents = int(50 * round(rng.uniform(-300, 300) / 50))
    return Voice(engine, (stretch, cents))


def espeak_voice(rng, language) -> Voice:
    """An espeak-ng voice: a regional variant of `language`, a voice variant, speed and pitch."""
    name = f"{rng.choice(LANGUAGES[language])}+{rng.choice(ESPEAK_VARIANTS)}"
    wpm = int(10 * round(rng.uniform(125, 205) / 10))
    pitch = int(5 * round(rng.uniform(20, 80) / 5))
    return Voice("espeak-ng", ("-v", name, "-s", str(wpm), "-p", str(pitch), "-a", "70"))


class Speech:
    """Utterances from the synthesizers, cached on disk as FLAC by engine, settings and text."""

    def __init__(self, cache_dir=None):
        self.dir = Path(cache_dir or CACHE_DIR) / "tts"
        self.dir.mkdir(parents=True, exist_ok=True)

    def say(self, voice: Voice, text: str) -> tuple[np.ndarray, int]:
        """Mono float32 samples and their rate."""
        key = hashlib.sha1(json.dumps([voice.engine, list(voice.args), text]).encode()).hexdigest()[:24]
        path = self.dir / f"{key}.flac"
        if not path.exists():
            samples, rate = self._synthesize(voice, text)
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            sf.write(partial, samples, rate, format="FLAC", subtype="PCM_16")
            os.replace(partial, path)
        samples, rate = sf.read(path, dtype="float32")
        return samples, rate

    def _synthesize(self, voice, text):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out.wav"
            if voice.engine == "espeak-ng":
                _run(["espeak-ng", *voice.args, "-w", str(out), text])
            elif voice.engine == "flite":
                name, stretch, f0 = voice.args
                flags = ["--setf", f"duration_stretch={stretch}", "--setf", f"int_f0_target_mean={f0}"]
                _run(["flite", "-voice", name, *flags, "-t", text, "-o", str(out)])
            else:
                stretch, cents = voice.args
                raw = Path(tmp) / "raw.wav"
                _run(["text2wave", "-eval", f"(Parameter.set 'Duration_Stretch {stretch})", "-o", str(raw)], text)
                _run(["sox", str(raw), str(out), "pitch", str(cents)] if cents else ["cp", str(raw), str(out)])
            samples, rate = sf.read(out, dtype="float32", always_2d=True)
        return samples.mean(axis=1), rate


def _run(command, stdin=None):
    if shutil.which(command[0]) is None:
        raise RuntimeError(f"{command[0]} is missing: apt-get install -y espeak-ng flite festival sox")
    subprocess.run(command, input=stdin, text=True, check=True, capture_output=True, timeout=120)


def frame_rms(x: np.ndarray, hop: int) -> np.ndarray:
    """RMS of consecutive `hop`-sample frames of a mono signal (the last one zero-padded)."""
    frames = -(-len(x) // hop)
    padded = np.zeros(frames * hop)
    padded[: len(x)] = x
    return np.sqrt(np.mean(padded.reshape(frames, hop) ** 2, axis=1))


def tidy(samples: np.ndarray, rate: int) -> np.ndarray:
    """Trim to the first..last speech frame and shorten inner silences to INNER_SILENCE_S."""
    hop = max(1, round(rate * 0.005))
    rms = frame_rms(samples, hop)
    if not np.any(rms > 0):
        return samples[:0]
    active = rms > np.percentile(rms[rms > 0], 95) * 10 ** (ACTIVE_DB / 20)
    frames = np.flatnonzero(active)
    keep = np.zeros(len(rms), dtype=bool)
    keep[frames[0] : frames[-1] + 1] = True
    longest = round(INNER_SILENCE_S / 0.005)
    for start, end in _runs(~active[frames[0] : frames[-1] + 1]):
        if end - start > longest:  # drop the middle of a long silence
            cut = frames[0] + start + longest // 2
            keep[cut : cut + (end - start) - longest] = False
    mask = np.repeat(keep, hop)[: len(samples)]
    return samples[mask]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of the runs of True in a boolean array."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def pick_text(rng, language, short=False) -> str:
    """A sentence, two consecutive sentences, or a few words; `short`: two to four words."""
    if short or rng.random() < 0.1:
        words = rng.choice(VOCABULARY[language], size=rng.integers(2, 5) if short else rng.integers(3, 11))
        return " ".join(words).capitalize() + "."
    items = SENTENCES[language]
    first = int(rng.integers(len(items)))
    count = 2 if rng.random() < 0.25 and first + 1 < len(items) else 1
    return " ".join(items[first : first + count])


# ---------------------------------------------------------------- timeline of speech


@dataclass
class Timeline:
    speech: np.ndarray  # dry speech, mono float64 at `rate`
    rate: int
    spans: list[tuple[int, int]]  # each utterance's speech, [start, end) samples
    pauses: list[tuple[int, int]]  # the long pauses, [end of speech, start of the next)
    envelope: np.ndarray  # ENVELOPE_S-frame RMS of `speech`
    loud: float = 0.0  # the 99th percentile of `envelope` over the utterances

    def speech_mask(self) -> np.ndarray:
        mask = np.zeros(len(self.speech), dtype=bool)
        for a, b in self.spans:
            mask[a:b] = True
        return mask


def _utterance(rng, speech, voice, text, rate, level):
    """The utterance trimmed, at `rate`, its speech frames at RMS `level`; None if the synthesizer clipped it
    (its flat tops would be clipping nobody labelled) or it holds no speech."""
    samples, source_rate = speech.say(voice, text)
    if np.abs(samples).max() >= 0.999:
        return None
    samples = tidy(samples, source_rate)
    if not len(samples):
        return None
    samples = soxr.resample(samples.astype(np.float64), source_rate, rate, quality="HQ")
    rms = frame_rms(samples, max(1, round(rate * 0.005)))
    loud = rms[rms > np.percentile(rms, 95) * 10 ** (ACTIVE_DB / 20)]
    return samples * (level / max(float(np.sqrt(np.mean(loud**2))), 1e-9))


def _gap_s(rng) -> float:
    if rng.random() < 0.92:
        return GAP_S[0] + (GAP_S[1] - GAP_S[0]) * rng.beta(1.5, 2.5)
    return rng.uniform(GAP_S[1], LONGEST_GAP_S)


def build_timeline(rng, speech: Speech, language, rate, seconds, n_pauses) -> Timeline:
    """Utterances of 1-3 speakers with natural gaps and `n_pauses` long pauses, about `seconds` long."""
    speakers = [random_voice(rng, language) for _ in range(rng.choice((1, 2, 3), p=(0.45, 0.4, 0.15)))]
    levels = [SPEECH_RMS * 10 ** (rng.uniform(-4, 4) / 20) for _ in speakers]
    pause_s = [PAUSE_S[0] + (PAUSE_S[1] - PAUSE_S[0]) * rng.beta(1.3, 2.2) for _ in range(n_pauses)]
    lead = rng.uniform(0.15, 0.6)
    target = seconds - lead - 0.3 - sum(pause_s)
    pieces, gaps, used, who = [], [], 0.0, 0
    while used < target:
        if len(speakers) > 1 and rng.random() < 0.45:
            who = (who + int(rng.integers(1, len(speakers)))) % len(speakers)
        level = levels[who] * 10 ** (rng.uniform(-2, 2) / 20)
        piece = None
        for short in (False, True, True):
            piece = _utterance(rng, speech, speakers[who], pick_text(rng, language, short), rate, level)
            if piece is not None and used + len(piece) / rate <= target + 1.5:
                break
            piece = None
        if piece is None:
            break
        pieces.append(piece)
        gaps.append(_gap_s(rng))
        used += len(piece) / rate + gaps[-1]
    gaps = gaps[:-1]
    joints = rng.permutation(len(gaps))[: len(pause_s)]
    for joint, length in zip(joints, pause_s, strict=False):
        gaps[joint] = length
    tail = float(np.clip(seconds - lead - sum(len(p) / rate for p in pieces) - sum(gaps), 0.15, 0.8))
    return _assemble(pieces, gaps, set(joints[: len(pause_s)].tolist()), lead, tail, rate)


def _assemble(pieces, gaps, pause_joints, lead, tail, rate) -> Timeline:
    spans, pauses = [], []
    position = round(lead * rate)
    for i, piece in enumerate(pieces):
        spans.append((position, position + len(piece)))
        position += len(piece)
        if i < len(gaps):
            gap = round(gaps[i] * rate)
            if i in pause_joints:
                pauses.append((position, position + gap))
            position += gap
    speech = np.zeros(position + round(tail * rate))
    for (a, b), piece in zip(spans, pieces, strict=True):
        speech[a:b] = piece
    hop = round(rate * ENVELOPE_S)
    envelope = frame_rms(speech, hop)
    loud = float(np.percentile(np.concatenate([envelope[a // hop : b // hop] for a, b in spans]), 99))
    return Timeline(speech, rate, spans, pauses, envelope, loud)


# ---------------------------------------------------------------- the scene: room, background, EQ


def colored_noise(rng, n, exponent) -> np.ndarray:
    """Unit-RMS noise whose power falls as 1/f**exponent (0 white, 1 pink, 2 brown)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spectrum), dtype=np.float64)
    f[0] = 1.0
    noise = np.fft.irfft(spectrum / f ** (exponent / 2), n)
    noise -= noise.mean()
    return noise / max(float(np.std(noise)), 1e-12)


def background_noise(rng, n, rate, kind) -> np.ndarray:
    """Unit-RMS room noise of a kind: pink, brown, hiss, ventilation or white."""
    if kind == "pink":
        noise = colored_noise(rng, n, 1.0)
    elif kind == "brown":
        noise = colored_noise(rng, n, 2.0) + 0.05 * colored_noise(rng, n, 1.0)
    elif kind == "hiss":
        cutoff = min(rng.uniform(2000, 6000), 0.4 * rate)
        noise = sps.sosfilt(sps.butter(2, cutoff, "highpass", fs=rate, output="sos"), rng.standard_normal(n))
        noise += 0.3 * colored_noise(rng, n, 1.0)
    elif kind == "ventilation":
        cutoff = rng.uniform(150, 600)
        noise = sps.sosfilt(sps.butter(3, cutoff, "lowpass", fs=rate, output="sos"), rng.standard_normal(n))
        t = np.arange(n) / rate
        noise *= 1 + 0.3 * np.sin(2 * np.pi * rng.uniform(0.05, 0.5) * t + rng.uniform(0, 2 * np.pi))
        noise += 0.2 * colored_noise(rng, n, 1.0) * np.std(noise)
    else:
        noise = rng.standard_normal(n)
    return noise / max(float(np.std(noise)), 1e-12)


def babble(rng, speech: Speech, n, rate) -> np.ndarray:
    """Unit-RMS crowd murmur: 5-10 espeak-ng talkers in any language, talking over each other."""
    total = np.zeros(n)
    for _ in range(int(rng.integers(5, 11))):
        language = str(rng.choice(sorted(LANGUAGES)))
        voice = espeak_voice(rng, language)
        position = -int(rng.integers(0, 3 * rate))
        while position < n:
            piece = _utterance(rng, speech, voice, pick_text(rng, language), rate, 1.0)
            if piece is None:
                position += rate // 4
                continue
            a, b = max(position, 0), min(position + len(piece), n)
            if b > a:
                total[a:b] += piece[a - position : b - position]
            position += len(piece) + round(rng.uniform(0.05, 0.4) * rate)
    return total / max(float(np.std(total)), 1e-12)


def music_bed(rng, n, rate) -> np.ndarray:
    """Unit-RMS music: a chord progression of harmonic tones with envelopes, sometimes drums."""
    tempo = rng.uniform(70, 130)
    beat = round(rate * 60 / tempo)
    bar = 4 * beat
    root = int(rng.integers(45, 58))  # MIDI
    progressions = ((0, 7, 9, 5), (0, 5, 7, 0), (2, 7, 0, 0), (0, 8, 3, 10), (0, 9, 5, 7))
    steps = progressions[rng.integers(len(progressions))]
    out = np.zeros(n + bar)
    decay = rng.uniform(0.3, 2.0)
    for start in range(0, n, bar):
        chord_root = root + steps[(start // bar) % len(steps)]
        for interval in (0, 4 if rng.random() < 0.6 else 3, 7, *((10,) if rng.random() < 0.3 else ())):
            out[start : start + bar] += _tone(rng, 440 * 2 ** ((chord_root + interval - 69) / 12), bar, rate, decay)
        out[start : start + bar] += 0.8 * _tone(rng, 440 * 2 ** ((chord_root - 12 - 69) / 12), bar, rate, decay)
    if rng.random() < 0.5:
        out[:n] += _drums(rng, n, rate, beat) * np.std(out) * rng.uniform(0.5, 1.5)
    out = out[:n]
    return out / max(float(np.std(out)), 1e-12)


def _tone(rng, freq, n, rate, decay_s) -> np.ndarray:
    t = np.arange(n) / rate
    partials = [k for k in range(1, 7) if k * freq < 0.45 * rate and k * freq > 70]
    wave = sum(k ** -rng.uniform(1.0, 2.0) * np.sin(2 * np.pi * k * freq * t + rng.uniform(0, 6.3)) for k in partials)
    attack = np.minimum(1.0, t / rng.uniform(0.01, 0.08))
    return wave * attack * np.exp(-t / decay_s) if len(partials) else np.zeros(n)


def _drums(rng, n, rate, beat) -> np.ndarray:
    """A soft kick on beats 1 and 3 and a noise pulse on every beat."""
    out = np.zeros(n + beat)
    t = np.arange(round(0.12 * rate)) / rate
    kick = np.sin(2 * np.pi * (55 * t + 500 * 0.03 * (1 - np.exp(-t / 0.03)))) * np.exp(-t / 0.05)
    kick *= np.minimum(1.0, t / 0.003)
    hat_n = round(0.04 * rate)
    ht = np.arange(hat_n) / rate
    hat_env = np.minimum(1.0, ht / 0.004) * np.exp(-ht / 0.012)
    hp = sps.butter(2, min(5000, 0.4 * rate), "highpass", fs=rate, output="sos")
    for i, start in enumerate(range(0, n, beat)):
        if i % 2 == 0:
            out[start : start + len(kick)] += kick
        out[start : start + hat_n] += 0.3 * sps.sosfilt(hp, rng.standard_normal(hat_n)) * hat_env
    return out[:n]


def room_response(rng, rate, rt60, drr_db) -> np.ndarray:
    """Direct sound, a few early reflections and an exponentially decaying noise tail (RT60 s)."""
    n = round(rate * min(1.2 * rt60, 1.0)) + 1
    t = np.arange(n) / rate
    tail = rng.standard_normal(n) * np.exp(-6.908 * t / rt60)
    tail = sps.lfilter([1 - (a := rng.uniform(0.2, 0.7))], [1, -a], tail)
    tail[: round(rate * rng.uniform(0.003, 0.015))] = 0.0
    for _ in range(int(rng.integers(2, 7))):
        tail[int(rng.integers(1, max(2, round(rate * 0.04))))] += rng.choice((-1, 1)) * rng.uniform(0.1, 0.5)
    tail *= math.sqrt(10 ** (-drr_db / 10) / max(float(np.sum(tail**2)), 1e-12))
    tail[0] += 1.0
    return tail


def shelf(kind, freq, gain_db, rate) -> np.ndarray:
    """A low or high shelf (RBJ cookbook, slope 1) as second-order sections."""
    amp = 10 ** (gain_db / 40)
    w = 2 * np.pi * freq / rate
    alpha = np.sin(w) / 2 * np.sqrt(2)
    cos, root = np.cos(w), 2 * np.sqrt(amp) * alpha
    s = 1 if kind == "low" else -1  # the high shelf is the low one with cos's sign flipped
    b0 = amp * ((amp + 1) - s * (amp - 1) * cos + root)
    b1 = 2 * s * amp * ((amp - 1) - s * (amp + 1) * cos)
    b2 = amp * ((amp + 1) - s * (amp - 1) * cos - root)
    a0 = (amp + 1) + s * (amp - 1) * cos + root
    a1 = -2 * s * ((amp - 1) + s * (amp + 1) * cos)
    a2 = (amp + 1) + s * (amp - 1) * cos - root
    return np.array([[b0, b1, b2, a0, a1, a2]]) / a0


def gain_ride(rng, n, rate, depth_db) -> np.ndarray:
    """A slowly varying gain (sum of 3 slow sinusoids), within +-depth_db."""
    t = np.arange(n) / rate
    curve = sum(np.sin(2 * np.pi * rng.uniform(0.02, 0.25) * t + rng.uniform(0, 6.3)) for _ in range(3))
    return 10 ** (depth_db * curve / 3 / 20)


# ---------------------------------------------------------------- the channel drawn per recording


def draw_channel(rng) -> dict:
    """Everything about one recording's sound path, as plain JSON-able values."""
    rate = int(rng.choice(RATES))
    codec = [None, "mp3", "aac", "opus"][rng.choice(4, p=(0.3, 0.3, 0.2, 0.2))]
    kbps = None
    if codec == "mp3":
        kbps = int(rng.choice([k for k in (32, 40, 48, 56, 64, 80, 96, 112, 128) if rate > 12000 or k <= 64]))
    elif codec == "aac":
        kbps = int(8 * rng.integers(4, 13))
    elif codec == "opus":
        kbps = int(8 * rng.integers(2, 9))
    nyquist = rate / 2

    def maybe(p, make):
        return make() if rng.random() < p else None

    return {
        "rate": rate,
        "channels": 2 if rng.random() < 0.35 else 1,
        "format": "flac" if rng.random() < 0.5 else "wav",
        "language": "en" if rng.random() < 0.6 else str(rng.choice(sorted(set(LANGUAGES) - {"en"}))),
        "codec": codec,
        "kbps": kbps,
        "telephone": bool(rng.random() < (0.5 if rate == 8000 else 0.1)),
        "room": maybe(0.6, lambda: {"rt60": float(rng.uniform(0.1, 0.8)), "drr_db": float(rng.uniform(0, 12))}),
        "noise": str(rng.choice(["pink", "brown", "hiss", "ventilation", "white"])),
        "snr_db": float(rng.uniform(15, 50)),
        "babble_db": maybe(0.2, lambda: float(rng.uniform(20, 30))),
        "music_db": maybe(0.2, lambda: float(rng.uniform(16, 30))),
        "low_shelf": maybe(0.5, lambda: [float(rng.uniform(80, 300)), float(rng.uniform(-9, 9))]),
        "high_shelf": maybe(
            0.5, lambda: [float(min(rng.uniform(2500, 6000), 0.8 * nyquist)), float(rng.uniform(-9, 6))]
        ),
        "ride_db": maybe(0.5, lambda: float(rng.uniform(1, 6))),
        "peak_dbfs": float(rng.uniform(-12, -1) if rng.random() < 0.7 else rng.uniform(-30, -12)),
    }


def mix_scene(rng, timeline: Timeline, channel: dict, speech: Speech) -> np.ndarray:
    """(samples, channels): speech in its room over the background, mic EQ and gain rides applied."""
    n, rate = len(timeline.speech), timeline.rate
    voice = timeline.speech
    room = channel["room"]
    if room:
        response = room_response(rng, rate, room["rt60"], room["drr_db"])
        voice = sps.fftconvolve(voice, response)[:n]
    floor = SPEECH_RMS * 10 ** (-channel["snr_db"] / 20)
    out = np.empty((n, channel["channels"]))
    shared = background_noise(rng, n, rate, channel["noise"])
    extras = np.zeros(n)
    if channel["babble_db"] is not None:
        extras += babble(rng, speech, n, rate) * SPEECH_RMS * 10 ** (-channel["babble_db"] / 20)
    if channel["music_db"] is not None:
        extras += music_bed(rng, n, rate) * SPEECH_RMS * 10 ** (-channel["music_db"] / 20)
    for c in range(channel["channels"]):
        own = background_noise(rng, n, rate, channel["noise"]) if channel["channels"] > 1 else 0.0
        pan = rng.uniform(0.75, 1.0) if channel["channels"] > 1 else 1.0
        out[:, c] = pan * voice + extras + floor * (0.7 * shared + 0.7 * own if channel["channels"] > 1 else shared)
    for kind in ("low", "high"):
        setting = channel[f"{kind}_shelf"]
        if setting:
            out = sps.sosfilt(shelf(kind, setting[0], setting[1], rate), out, axis=0)
    if channel["ride_db"]:
        out *= gain_ride(rng, n, rate, channel["ride_db"])[:, None]
    return out


def telephone(x: np.ndarray, rate: int) -> np.ndarray:
    """The 300-3400 Hz band of a telephone line."""
    return sps.sosfilt(sps.butter(4, [300, 3400], "bandpass", fs=rate, output="sos"), x, axis=0)


# ---------------------------------------------------------------- placing events


@dataclass
class Planned:
    kind: str
    start: int  # samples
    end: int
    stage: str  # "converter", "transmission" or "decoded" (after the codec)
    style: str = ""
    wave: np.ndarray | None = field(default=None, repr=False)  # a glitch's waveform (peak 1)


class Schedule:
    """Occupied spans; a new event keeps SPACING_S from any other and SAME_KIND_SPACING_S from its kind."""

    def __init__(self, n, rate):
        self.n, self.rate, self.taken = n, rate, []

    def fits(self, start, end, kind) -> bool:
        edge = round(EDGE_S * self.rate)
        if start < edge or end > self.n - edge:
            return False
        for a, b, other in self.taken:
            need = (SAME_KIND_SPACING_S if other == kind else SPACING_S) * self.rate
            if start < b + need and a < end + need:
                return False
        return True

    def add(self, start, end, kind):
        self.taken.append((start, end, kind))


def _log_uniform(rng, low, high) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def plan_events(rng, timeline: Timeline, rates_per_minute: dict) -> list[Planned]:
    """Where each event goes: long pauses are in the timeline; then the kinds that need speech, hum, glitches."""
    rate, n = timeline.rate, len(timeline.speech)
    minutes = n / rate / 60
    schedule = Schedule(n, rate)
    planned = [Planned("long_pause", a, b, "timeline") for a, b in timeline.pauses]
    for a, b in timeline.pauses:
        schedule.add(a, b, "long_pause")
    placers = (
        ("clipping", _place_clipping),
        ("dropout", _place_dropout),
        ("hum", _place_hum),
        ("glitch", _place_glitch),
    )
    for kind, place in placers:
        for _ in range(rng.poisson(rates_per_minute[kind] * minutes)):
            for _ in range(100):
                event = place(rng, timeline)
                if event is not None and schedule.fits(event.start, event.end, kind):
                    schedule.add(event.start, event.end, kind)
                    planned.append(event)
                    break
    return planned


def _place_hum(rng, timeline):
    length = round(_log_uniform(rng, 0.5, 6.0) * timeline.rate)
    start = int(rng.integers(0, max(1, len(timeline.speech) - length)))
    return Planned("hum", start, start + length, "converter")


def _inside_speech(rng, timeline, length, edge_share, loud_share=0.0):
    """A [start, end) inside one utterance whose edge frames (and its loudest frame) are loud enough.

    `edge_share` is of the utterance's typical frame level (a dropout's edges must be mid-speech);
    `loud_share` of the recording's loud speech frames (99th percentile): a clipping span must hold
    loud speech, or no plausible drive would reach the converter's limit.
    """
    spans = [s for s in timeline.spans if s[1] - s[0] > length + 2 * round(0.02 * timeline.rate)]
    if not spans:
        return None
    a, b = spans[rng.integers(len(spans))]
    hop = round(ENVELOPE_S * timeline.rate)
    start = int(rng.integers(a + 2 * hop, b - 2 * hop - length + 1))
    env = timeline.envelope
    utterance = env[a // hop : b // hop]
    typical = float(np.median(utterance[utterance > 0.05 * utterance.max()]))
    edges = (env[start // hop], env[(start + length - 1) // hop])
    body = float(np.max(env[start // hop : (start + length) // hop + 1]))
    if min(edges) < edge_share * typical or body < loud_share * timeline.loud:
        return None
    return start, start + length


def _place_clipping(rng, timeline):
    length = round(_log_uniform(rng, 0.05, 1.5) * timeline.rate)
    span = _inside_speech(rng, timeline, length, 0.2, loud_share=0.35)
    return Planned("clipping", *span, "converter", str(rng.choice(["hard", "soft", "asymmetric"]))) if span else None


def _place_dropout(rng, timeline):
    length = round(_log_uniform(rng, 0.02, 0.4) * timeline.rate)
    span = _inside_speech(rng, timeline, length, 0.3)
    if span is None:
        return None
    stage = "decoded" if rng.random() < 0.3 else "transmission"
    styles = ("mute", "hold") if stage == "decoded" else ("mute", "attenuate", "hold")
    return Planned("dropout", *span, stage, str(rng.choice(styles)))


GLITCH_STYLES = ("click", "pop", "spikes", "crackle", "burst", "jump")


def _place_glitch(rng, timeline):
    stage = "decoded" if rng.random() < 0.25 else "transmission"
    styles = ("click", "spikes", "crackle", "jump") if stage == "decoded" else GLITCH_STYLES
    style = str(rng.choice(styles))
    wave = glitch_wave(rng, style, timeline.rate)
    if rng.random() < 0.65 and timeline.spans:
        a, b = timeline.spans[rng.integers(len(timeline.spans))]
        start = int(rng.integers(a, max(a + 1, b - len(wave))))
    else:
        start = int(rng.integers(0, len(timeline.speech) - len(wave)))
    return Planned("glitch", start, start + len(wave), stage, style, wave)


# ---------------------------------------------------------------- injecting events


def glitch_wave(rng, style, rate) -> np.ndarray:
    """An additive disturbance of at most 30 ms with peak 1, trimmed to its non-negligible samples."""
    ms = {"click": (1, 8), "pop": (5, 30), "spikes": (0.05, 3), "crackle": (5, 30), "burst": (2, 30), "jump": (2, 15)}
    n = max(1, round(rng.uniform(*ms[style]) * rate / 1000))
    t = np.arange(n) / rate
    span = t[-1] + 1 / rate
    sign = rng.choice((-1.0, 1.0))
    if style == "click":  # a sample jump ringing at a few kHz
        freq = rng.uniform(1500, min(7000, 0.4 * rate))
        wave = np.sin(2 * np.pi * freq * t + rng.uniform(0, 6.3)) * np.exp(-3 * t / span)
        wave[0] += sign
    elif style == "pop":  # a low thump with a sharp front
        wave = sign * np.sin(np.pi * t / span) * np.exp(-2 * t / span)
        wave[: min(n, 2)] += sign * 0.8
    elif style in ("spikes", "crackle"):  # single-sample spikes; crackle: many, like bit errors
        count = int(rng.integers(1, 5)) if style == "spikes" else max(2, round(n * rng.uniform(0.03, 0.2)))
        wave = np.zeros(n)
        where = rng.choice(n, size=min(count, n), replace=False)
        wave[where] = rng.choice((-1.0, 1.0), size=len(where)) * rng.uniform(0.4, 1.0, size=len(where))
    elif style == "burst":  # a short burst of noise
        wave = rng.standard_normal(n)
    else:  # jump: the waveform steps away and drifts back
        wave = sign * np.exp(-3 * t / span)
        tail = max(1, n // 5)
        wave[-tail:] *= np.linspace(1, 0, tail)
    keep = np.flatnonzero(np.abs(wave) > 0.02 * np.abs(wave).max())
    wave = wave[keep[0] : keep[-1] + 1]
    return wave / np.abs(wave).max()


def add_glitch(rng, x, event: Planned, rate, reference_peak) -> tuple[int, int]:
    """Add the glitch clearly above the signal around it (and >= -14 dB re the speech peaks); label: its samples."""
    pad = round(0.03 * rate)
    around = float(np.abs(x[max(0, event.start - pad) : event.end + pad]).max())
    sparse = event.style in ("spikes", "crackle")  # single samples lose most of their peak in any filter
    peak = max(around * rng.uniform(1.5, 4.0 if sparse else 3.0), reference_peak * rng.uniform(0.2, 0.5))
    one_channel = x.shape[1] > 1 and rng.random() < 0.25  # then louder, as the downmix halves it
    channels = [int(rng.integers(x.shape[1]))] if one_channel else range(x.shape[1])
    for c in channels:
        x[event.start : event.end, c] += event.wave * peak * (2.4 if one_channel else 1.0)
    return event.start, event.end


def add_dropout(rng, x, event: Planned, rate) -> tuple[int, int]:
    """Lose the signal over [start, end): digital silence, 30-60 dB down, or the last 10-20 ms repeated, fading."""
    a, b = event.start, event.end
    if event.style == "mute":
        x[a:b] = 0.0
    elif event.style == "attenuate":
        x[a:b] *= 10 ** (-rng.uniform(30, 60) / 20)
    else:
        frame_n = min(a, round(rng.uniform(0.010, 0.020) * rate))
        tiled = np.tile(x[a - frame_n : a], (-(-(b - a) // frame_n), 1))[: b - a]
        fade = 10 ** (-rng.uniform(20, 50) / 20 * np.linspace(0, 1, b - a))
        x[a:b] = tiled * fade[:, None]
    return a, b


def add_clipping(rng, x, event: Planned, rate, limits) -> tuple[int, int] | None:
    """Drive [start, end) up until its peaks are 1.5-6x the converter's fixed limits (at most MAX_DRIVE times)
    and limit it there; label: the first to the last limited sample."""
    a, b = event.start, event.end
    positive, negative = limits
    if event.style == "asymmetric":  # one polarity limits much later than the other
        positive, negative = (
            (positive * rng.uniform(1.5, 2.5), negative)
            if rng.random() < 0.5
            else (
                positive,
                negative * rng.uniform(1.5, 2.5),
            )
        )
    headroom = min(positive / max(float(x[a:b].max()), 1e-9), negative / max(float(-x[a:b].min()), 1e-9))
    gain = min(MAX_DRIVE, _log_uniform(rng, 1.5, 6.0) * headroom)  # the first polarity to clip goes 1.5-6x over
    ramp = max(1, min((b - a) // 6, round(rng.uniform(0.003, 0.025) * rate)))
    envelope = np.ones(b - a)
    envelope[:ramp] = np.linspace(0, 1, ramp)
    envelope[-ramp:] = np.minimum(envelope[-ramp:], np.linspace(1, 0, ramp))
    driven = x[a:b] * (1 + (gain - 1) * envelope)[:, None]
    knee = rng.uniform(0.55, 0.85) if event.style == "soft" else 1.0
    limited, clipped = _limit(driven, positive, negative, knee)
    hits = np.flatnonzero(clipped.any(axis=1))
    if len(hits) == 0 or hits[-1] + 1 - hits[0] < 0.04 * rate:
        return None
    x[a:b] = limited
    return a + int(hits[0]), a + int(hits[-1]) + 1


def _limit(u, positive, negative, knee):
    """Hard (knee 1) or soft limiting at +positive / -negative; also which samples it changed."""
    out = u.copy()
    for level, sign in ((positive, 1.0), (negative, -1.0)):
        v = sign * u
        over = v > knee * level
        if knee >= 1.0:
            out[over] = sign * level
        else:
            room = (1 - knee) * level
            out[over] = sign * (knee * level + room * np.tanh((v[over] - knee * level) / room))
    return out, (u > knee * positive) | (u < -knee * negative)


def hum_wave(rng, n, rate, buzzy=False) -> tuple[np.ndarray, str]:
    """Mains hum or buzz, unit RMS: 50 or 60 Hz with harmonics, a slow wobble sometimes, faded in and out.

    `buzzy`: only the kinds with strong harmonics (what a telephone band, from 300 Hz, lets through).
    """
    f0 = (50.0 if rng.random() < 0.5 else 60.0) * (1 + rng.uniform(-0.003, 0.003))
    t = np.arange(n) / rate
    phase = 2 * np.pi * f0 * t + 0.02 * np.sin(2 * np.pi * rng.uniform(0.1, 1) * t)
    style = str(
        rng.choice(["buzz", "rectified"]) if buzzy else rng.choice(["sine", "buzz", "rectified"], p=(0.4, 0.35, 0.25))
    )
    top = int(0.45 * rate / f0)
    if style == "sine":
        drop = rng.uniform(4, 15)
        count = min(int(rng.integers(1, 6)), top)
        wave = sum(10 ** (-drop * (k - 1) / 20) * np.sin(k * phase + rng.uniform(0, 6.3)) for k in range(1, count + 1))
    elif style == "buzz":
        slope = rng.uniform(0.7, 1.5)
        wave = sum(k**-slope * np.sin(k * phase + rng.uniform(0, 6.3)) for k in range(1, min(40, top) + 1))
    else:  # full-wave rectified: a buzz at twice the mains frequency
        wave = np.abs(np.sin(phase))
        wave = sps.sosfilt(sps.butter(1, min(rng.uniform(400, 3000), 0.4 * rate), fs=rate, output="sos"), wave)
        wave -= wave.mean()
    if rng.random() < 0.5:
        wave = wave * (1 + rng.uniform(0.1, 0.4) * np.sin(2 * np.pi * rng.uniform(0.2, 3) * t + rng.uniform(0, 6.3)))
    wave = wave / max(float(np.std(wave)), 1e-12)
    for reverse in (False, True):
        m = min(n // 2, max(1, round(rng.uniform(0.003, 0.1) * rate)))
        ramp = np.ones(n)
        ramp[:m] = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, m))
        wave = wave * (ramp[::-1] if reverse else ramp)
    return wave, style


def add_hum(rng, x, event: Planned, rate, floor_rms, speech_rms, heard, buzzy) -> tuple[int, int]:
    """Add hum 8-35 dB above the floor and at least 3 dB under the speech, as heard through `heard`
    (the channel after it; its raw level is at most twice the speech's)."""
    wave, event.style = hum_wave(rng, event.end - event.start, rate, buzzy)
    heard_rms = float(np.std(heard(wave[:, None])))
    floor = max(floor_rms, speech_rms * 10 ** (-45 / 20))
    target = min(floor * 10 ** (rng.uniform(8, 35) / 20), speech_rms * 10 ** (-3 / 20))
    x[event.start : event.end] += (wave * min(target / max(heard_rms, 1e-12), 2 * speech_rms))[:, None]
    return event.start, event.end


# ---------------------------------------------------------------- codecs

CODECS = {"mp3": ("libmp3lame", "mp3"), "aac": ("aac", "adts"), "opus": ("libopus", "ogg")}
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)


def encode_lossy(samples: np.ndarray, rate: int, codec: str, kbps: int) -> bytes:
    """(frames, channels) float samples -> the bytes of an MP3, AAC (ADTS) or Ogg Opus file, through PyAV."""
    import av

    name, container_format = CODECS[codec]
    layout = "stereo" if samples.shape[1] == 2 else "mono"
    coded_rate = 48000 if codec == "opus" and rate not in OPUS_RATES else rate
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container_format) as container:
        stream = container.add_stream(name, rate=coded_rate, layout=layout)
        stream.bit_rate = kbps * 1000
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout=layout, rate=coded_rate)
        interleaved = np.ascontiguousarray(np.clip(samples, -1, 1), dtype=np.float32)
        step = rate  # one second per frame
        for first in range(0, len(interleaved) + 1, step):
            chunk = interleaved[first : first + step]
            frames = resampler.resample(_frame(chunk, rate, layout, first)) if len(chunk) else resampler.resample(None)
            for frame in frames:
                container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def _frame(chunk, rate, layout, first):
    import av

    frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="flt", layout=layout)
    frame.sample_rate = rate
    frame.pts = first
    return frame


def decode_lossy(data: bytes, rate: int, channels: int) -> np.ndarray:
    """Bytes of a lossy file -> (frames, channels) float64 at `rate`."""
    import av

    layout = "stereo" if channels == 2 else "mono"
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
    parts = []
    with av.open(io.BytesIO(data)) as container:
        for frame in container.decode(container.streams.audio[0]):
            frame.pts = None
            parts += [f.to_ndarray() for f in resampler.resample(frame)]
    parts += [f.to_ndarray() for f in resampler.resample(None)]
    return np.concatenate(parts, axis=1).T.astype(np.float64)


def align(decoded: np.ndarray, original: np.ndarray, rate: int, max_lag_s=0.2) -> np.ndarray:
    """`decoded` shifted by the codec's delay (found by cross-correlation) and cut to `original`'s length."""
    ref, out = original.mean(axis=1), decoded.mean(axis=1)
    length = min(len(ref), 10 * rate)
    start = (len(ref) - length) // 2
    lag_max = round(max_lag_s * rate)
    padded = np.zeros(length + 2 * lag_max)
    lo = start - lag_max
    piece = out[max(lo, 0) : start + length + lag_max]
    padded[max(0, -lo) : max(0, -lo) + len(piece)] = piece
    lag = int(np.argmax(sps.correlate(padded, ref[start : start + length], mode="valid", method="fft"))) - lag_max
    aligned = np.zeros_like(original)
    src = decoded[max(lag, 0) : max(lag, 0) + len(original) - max(-lag, 0)]
    aligned[max(-lag, 0) : max(-lag, 0) + len(src)] = src
    return aligned


def codec_round_trip(x, rate, codec, kbps) -> np.ndarray:
    return align(decode_lossy(encode_lossy(x, rate, codec, kbps), rate, x.shape[1]), x, rate)


# ---------------------------------------------------------------- one recording


@dataclass
class Recording:
    samples: np.ndarray  # (frames, channels) float32 within [-1, 1]
    rate: int
    events: list[tuple[str, int, int, str]]  # (kind, start, end, "stage/style") in samples
    channel: dict
    speech: list[tuple[int, int]]  # utterance spans in samples


def render(seed: int, index: int, seconds: float, speech: Speech) -> Recording:
    """Recording `index` of the family for `seed`: the same every time."""
    rng = np.random.default_rng([seed, index, 0x6669656C64])
    channel = draw_channel(rng)
    rate = channel["rate"]
    rates = {kind: float(rng.uniform(*EVENTS_PER_MINUTE)) for kind in KINDS}
    timeline = build_timeline(
        rng, speech, channel["language"], rate, seconds, rng.poisson(rates["long_pause"] * seconds / 60)
    )
    x = mix_scene(rng, timeline, channel, speech)
    planned = plan_events(rng, timeline, rates)
    mask = timeline.speech_mask()
    heard = (lambda s: telephone(s, rate)) if channel["telephone"] else (lambda s: s)
    events = [("long_pause", p.start, p.end, "timeline/gap") for p in planned if p.kind == "long_pause"]
    events += _converter(rng, x, planned, rate, mask, heard, channel["telephone"])
    x = heard(x)
    events += _transmission(rng, x, planned, rate, mask, "transmission")
    x = _set_level(x, channel["peak_dbfs"], mask, events)
    if channel["codec"]:
        x = codec_round_trip(x, rate, channel["codec"], channel["kbps"])
        x *= min(1.0, 0.98 / max(float(np.abs(x).max()), 1e-9))
    events += _transmission(rng, x, planned, rate, mask, "decoded")
    samples = np.clip(x, -1.0, 1.0).astype(np.float32)
    if not np.isfinite(samples).all():
        raise RuntimeError(f"field recording {seed}/{index} is not finite")
    return Recording(samples, rate, sorted(events, key=lambda e: e[1]), channel, timeline.spans)


def _converter(rng, x, planned, rate, mask, heard, buzzy):
    """Hum at the preamp, then clipping at the converter's fixed limits."""
    events = []
    listened = heard(x)
    floor_rms = float(np.sqrt(np.mean(listened[~mask] ** 2))) if (~mask).any() else 0.0
    speech_rms = float(np.sqrt(np.mean(listened[mask] ** 2)))
    for event in (p for p in planned if p.kind == "hum"):
        span = add_hum(rng, x, event, rate, floor_rms, speech_rms, heard, buzzy)
        events.append(("hum", *span, f"converter/{event.style}"))
    limits = (float(x.max()) * rng.uniform(1.0, 1.25), float(-x.min()) * rng.uniform(1.0, 1.25))
    for event in (p for p in planned if p.kind == "clipping"):
        span = add_clipping(rng, x, event, rate, limits)
        if span:
            events.append(("clipping", *span, f"converter/{event.style}"))
    return events


def _transmission(rng, x, planned, rate, mask, stage):
    """Dropouts and glitches of one stage: in transmission (before the codec) or in the decoded stream."""
    events = []
    reference_peak = float(np.percentile(np.abs(x[mask]), 99.9))
    for event in (p for p in planned if p.stage == stage):
        if event.kind == "dropout":
            events.append(("dropout", *add_dropout(rng, x, event, rate), f"{stage}/{event.style}"))
        elif event.kind == "glitch":
            events.append(("glitch", *add_glitch(rng, x, event, rate, reference_peak), f"{stage}/{event.style}"))
    return events


def _set_level(x, peak_dbfs, speech_mask, events):
    """Scale so the speech's loud samples (99.9th percentile, outside events) sit at `peak_dbfs`, with every
    sample under -0.2 dBFS."""
    keep = speech_mask.copy()
    for _, a, b, _ in events:
        keep[a:b] = False
    peak = float(np.percentile(np.abs(x[keep]), 99.9))
    scale = min(10 ** (peak_dbfs / 20) / max(peak, 1e-9), 0.98 / max(float(np.abs(x).max()), 1e-9))
    return x * scale


# ---------------------------------------------------------------- files


@dataclass
class FieldFile:
    """The shape of training.demo_data.DemoFile, plus the channel and the speech spans (for checks)."""

    filename: str
    data: bytes
    content_type: str
    sample_rate: int
    duration_ms: int
    events: list  # (kind, start_ms, end_ms)
    channel: dict = field(default_factory=dict)
    speech_ms: list = field(default_factory=list)  # each utterance's speech, (start_ms, end_ms)
    details: list = field(default_factory=list)  # per event: "stage/style", e.g. "decoded/hold"


def to_ms(start, end, rate, duration_ms) -> tuple[int, int]:
    """A [start, end) sample span in whole ms, rounded outwards."""
    return int(math.floor(start * 1000 / rate)), min(duration_ms, int(math.ceil(end * 1000 / rate)))


def encode_lossless(samples: np.ndarray, rate: int, fmt: str) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format=fmt.upper(), subtype="PCM_16")
    return buffer.getvalue()


def make_file(seed: int, index: int, seconds, speech: Speech | None = None) -> FieldFile:
    """File `index` for `seed`; `seconds` is a length or a (low, high) range to draw it from."""
    if isinstance(seconds, tuple | list):
        seconds = float(np.random.default_rng([seed, index, 1]).uniform(*seconds))
    recording = render(seed, index, float(seconds), speech or Speech())
    rate, fmt = recording.rate, recording.channel["format"]
    duration_ms = round(len(recording.samples) * 1000 / rate)
    return FieldFile(
        filename=f"field-{seed}-{index:03d}.{fmt}",
        data=encode_lossless(recording.samples, rate, fmt),
        content_type=f"audio/{fmt}",
        sample_rate=rate,
        duration_ms=duration_ms,
        events=[(kind, *to_ms(a, b, rate, duration_ms)) for kind, a, b, _ in recording.events],
        channel=recording.channel,
        speech_ms=[to_ms(a, b, rate, duration_ms) for a, b in recording.speech],
        details=[detail for *_, detail in recording.events],
    )


def generate(seed: int, files: int, seconds_per_file=60.0, cache_dir=None, first: int = 0):
    """Files `first`..`first + files - 1` of the family for `seed` (each depends only on seed and index)."""
    speech = Speech(cache_dir)
    for index in range(first, first + files):
        yield make_file(seed, index, seconds_per_file, speech)
