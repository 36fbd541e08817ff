"""Sanity checks of generated field recordings, and plots to look at them.

For each file: the labels against the definitions (lengths, spacing, dropouts inside
speech, no unlabelled gap between utterances of 1 s or more), then measurements on the
decoded audio (NaNs, levels, a dropout's level against the speech around it, hum's mains
harmonics against the same band just before it, a glitch's peak against its
surroundings, the share of a clipped span at its flat tops, a pause's level against the
speech). With --out the files, their labels (JSON and Audacity label tracks) and with
--plot a waveform and spectrogram per file with the labels drawn in are written there.

    .venv/bin/python bench/field_check.py --seed 7 --files 4 --out /tmp/field --plot
"""

import argparse
import io
import json
import sys
from pathlib import Path

import field_corpus
import numpy as np
import soundfile as sf

LIMITS_MS = {
    "glitch": (1, 31),
    "dropout": (20, 401),
    "long_pause": (1000, 4002),
    "hum": (500, 6001),
    "clipping": (40, 1501),
}
COLORS = {"glitch": "red", "dropout": "blue", "long_pause": "green", "hum": "orange", "clipping": "purple"}


def label_problems(file) -> list[str]:
    """What is wrong with a file's labels, judged from the labels and the speech spans alone."""
    problems = []
    events = sorted(file.events, key=lambda e: e[1])
    for kind, start, end in events:
        low, high = LIMITS_MS[kind]
        if not low <= end - start <= high:
            problems.append(f"{kind} {start}-{end} lasts {end - start} ms")
    for (k1, _, e1), (k2, s2, _) in zip(events, events[1:], strict=False):
        if s2 - e1 < (field_corpus.SPACING_S * 1000 - 2):
            problems.append(f"{k1} ending {e1} and {k2} starting {s2} are {s2 - e1} ms apart")
    speech = file.speech_ms
    for kind, start, end in events:
        if kind == "dropout" and not any(a <= start and end <= b for a, b in speech):
            problems.append(f"dropout {start}-{end} is not inside an utterance")
    pauses = {(s, e) for k, s, e in events if k == "long_pause"}
    bounds = [(0, speech[0][0])] + [(b, c) for (_, b), (c, _) in zip(speech, speech[1:], strict=False)]
    bounds.append((speech[-1][1], file.duration_ms))
    for a, b in bounds:
        labelled = any(abs(a - s) <= 1 and abs(b - e) <= 1 for s, e in pauses)
        if not labelled and b - a >= 1000:
            problems.append(f"unlabelled gap {a}-{b} ({b - a} ms)")
    return problems


def longest_unlabelled_gap_ms(file) -> int:
    pauses = [(s, e) for k, s, e in file.events if k == "long_pause"]
    speech = file.speech_ms
    gaps = [speech[0][0], file.duration_ms - speech[-1][1]]
    for (_, b), (c, _) in zip(speech, speech[1:], strict=False):
        if not any(abs(b - s) <= 1 and abs(c - e) <= 1 for s, e in pauses):
            gaps.append(c - b)
    return max(gaps)


def _db(value) -> float:
    return 20 * np.log10(max(float(value), 1e-12))


def _rms(x) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if len(x) else 0.0


def mains_peakiness_db(x, rate) -> float:
    """How much the spectrum peaks at multiples of 50 or 60 Hz (the larger) over the bins 8-20 Hz beside them, dB."""
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    best = -np.inf
    for f0 in (50.0, 60.0):
        on, off = 0.0, 0.0
        for k in range(1, 41):
            f = k * f0
            if f > min(2000.0, 0.45 * rate):
                break
            near = np.abs(freqs - f)
            on += spectrum[near <= 1.5].sum()
            beside = (near >= 8) & (near <= 20)
            off += spectrum[beside].mean() * max(1, int((near <= 1.5).sum()))
        best = max(best, 10 * np.log10(max(on, 1e-30) / max(off, 1e-30)))
    return float(best)


def measure(file) -> dict:
    """Measurements on the decoded audio, per event kind: lists of numbers (see the module docstring)."""
    samples, rate = sf.read(io.BytesIO(file.data), dtype="float64", always_2d=True)
    x = samples.mean(axis=1)
    ms = lambda v: int(v * rate / 1000)  # noqa: E731
    speech = np.zeros(len(x), dtype=bool)
    for a, b in file.speech_ms:
        speech[ms(a) : ms(b)] = True
    out = {
        "finite": bool(np.isfinite(samples).all()),
        "duration_ok": abs(len(samples) * 1000 / rate - file.duration_ms) < 1,
        "peak_dbfs": _db(np.abs(samples).max()),
        "speech_rms_dbfs": _db(_rms(x[speech])),
    }
    found = {kind: [] for kind in LIMITS_MS}
    lossless = not file.channel["codec"] and not file.channel["telephone"]
    hum = np.zeros(len(x), dtype=bool)
    for kind, start, end in file.events:
        if kind == "hum":
            hum[max(0, ms(start) - ms(100)) : ms(end) + ms(100)] = True
    for kind, start, end in file.events:
        a, b = ms(start), ms(end)
        before, after = x[max(0, a - ms(150)) : a], x[b : b + ms(150)]
        if kind == "dropout":
            found[kind].append(_db(_rms(x[a:b])) - _db(_rms(np.concatenate([before, after]))))
        elif kind == "glitch":
            around = np.concatenate([x[max(0, a - ms(40)) : a], x[b : b + ms(40)]])
            found[kind].append(_db(np.abs(x[a:b]).max()) - _db(np.abs(around).max()))
        elif kind == "hum":  # against same-length stretches of the file that hold no hum
            length = b - a
            others = [o for o in range(0, len(x) - length, length) if not hum[o : o + length].any()]
            if others:
                baseline = np.median([mains_peakiness_db(x[o : o + length], rate) for o in others[:8]])
                found[kind].append(mains_peakiness_db(x[a:b], rate) - baseline)
        elif kind == "clipping":
            if lossless:  # codecs and filters ring over the flat tops
                seg = samples[a:b]
                flat = (seg >= 0.995 * seg.max(axis=0)) | (seg <= 0.995 * seg.min(axis=0))
                found[kind].append(float(np.mean(flat)))
        else:
            found[kind].append(_db(_rms(x[a:b])) - out["speech_rms_dbfs"])
    out["events"] = found
    return out


def plot(file, path):
    """Waveform and spectrogram of the downmix with the labels drawn in."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples, rate = sf.read(io.BytesIO(file.data), dtype="float64", always_2d=True)
    x = samples.mean(axis=1)
    t = np.arange(len(x)) / rate
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(22, 7), sharex=True)
    top.plot(t, x, linewidth=0.3, color="black")
    for a, b in file.speech_ms:
        top.axvspan(a / 1000, b / 1000, ymin=0.0, ymax=0.03, color="gray")
    for kind, start, end in file.events:
        for axis in (top, bottom):
            axis.axvspan(start / 1000, max(end, start + 60) / 1000, color=COLORS[kind], alpha=0.3)
        top.text(start / 1000, 0.95 * np.abs(x).max(), kind[:4], color=COLORS[kind], fontsize=7)
    bottom.specgram(x, NFFT=512, Fs=rate, noverlap=256, cmap="magma", vmin=-150)
    bottom.set_ylim(0, min(rate / 2, 8000))
    c = file.channel
    top.set_title(
        f"{file.filename}: {rate} Hz x{c['channels']}, {c['codec']} {c['kbps']}, lang {c['language']}, "
        f"telephone {c['telephone']}, room {c['room']}, noise {c['noise']} snr {c['snr_db']:.0f}, "
        f"babble {c['babble_db']}, music {c['music_db']}, peak {c['peak_dbfs']:.1f} dBFS",
        fontsize=8,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def write(file, folder: Path):
    (folder / file.filename).write_bytes(file.data)
    labels = {"events": file.events, "channel": file.channel, "speech_ms": file.speech_ms}
    (folder / f"{file.filename}.json").write_text(json.dumps(labels, indent=1))
    track = "".join(f"{s / 1000:.3f}\t{e / 1000:.3f}\t{k}\n" for k, s, e in file.events)
    (folder / f"{file.filename}.txt").write_text(track)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--plot", action="store_true")
    args = parser.parse_args(argv)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    summary = {kind: [] for kind in LIMITS_MS}
    bad = 0
    for file in field_corpus.generate(args.seed, args.files, args.seconds, first=args.first):
        problems = label_problems(file)
        facts = measure(file)
        bad += bool(problems) or not facts["finite"] or not facts["duration_ok"]
        counts = {kind: sum(e[0] == kind for e in file.events) for kind in LIMITS_MS}
        print(
            f"{file.filename}: {file.duration_ms / 1000:.1f} s, {file.sample_rate} Hz, peak {facts['peak_dbfs']:.1f} "
            f"dBFS, speech {facts['speech_rms_dbfs']:.1f} dBFS rms, finite {facts['finite']}, "
            f"longest unlabelled gap {longest_unlabelled_gap_ms(file)} ms, events {counts}"
        )
        for problem in problems:
            print(f"    PROBLEM {problem}")
        for kind, values in facts["events"].items():
            summary[kind] += values
        if args.out:
            write(file, args.out)
            if args.plot:
                plot(file, args.out / f"{file.filename}.png")
    what = {
        "dropout": "dB vs the 150 ms around",
        "glitch": "peak dB vs the 40 ms around",
        "hum": "mains comb peakiness dB vs hum-free stretches",
        "clipping": "share of samples on a flat top (files without codec)",
        "long_pause": "dB vs speech rms",
    }
    for kind, values in summary.items():
        if values:
            q = np.percentile(values, [0, 10, 50, 90, 100])
            print(
                f"{kind:<11} n={len(values):<4} {what[kind]}: min {q[0]:.2f} p10 {q[1]:.2f} median {q[2]:.2f} "
                f"p90 {q[3]:.2f} max {q[4]:.2f}"
            )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
