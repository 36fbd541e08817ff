"""Cross-corpus detection benchmark, in process (no Django, no servers): train on one corpus family,
test on the other.

For each training family (synth: detector/synth.py through training/demo_data; field:
bench/field_corpus.py), training size in minutes and seed, a detector is trained as the
server trains it (`train_detector(files, types, TrainConfig(seed=seed))`, default config)
on that family's files for the seed, then run with its calibrated decoding on fixed
held-out test sets of every family (a test seed no training seed uses; 60 s files):
train synth -> test field and train field -> test synth are the cross-corpus results,
same-family ones are for reference. "field-mp3" is the field test set re-encoded as MP3
(64 kbps): the delta against "field" is what an MP3 upload costs. Files reach the models
exactly as the server's pipeline makes them (bench/corpora.py: decode_to_canonical, float16
features). Corpora and features are cached (~/.cache/relay-bench), so a rerun only trains.

    .venv/bin/python bench/detection.py cross --quick        # smoke run: 5 min, 1 seed, 3 epochs
    .venv/bin/python bench/detection.py cross                # 10/15/30/60 min x seeds 1,2,3
    .venv/bin/python bench/cross_corpus.py --sizes 15,30 --seeds 1 --families field

Prints progress lines, then Markdown tables (macro F1 mean and min-max over seeds, each
type's mean F1, the weakest type, training seconds per hour of labelled audio, the MP3
delta, field recall per artifact style), and writes everything as JSON (--out) and the tables as
Markdown next to it.
"""

import argparse
import dataclasses
import json
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import corpora
import numpy as np
from corpora import KINDS

QUICK = {"sizes": "5", "seeds": "1", "epochs": 3, "test_minutes": 4.0}
DEFAULTS = {"sizes": "10,15,30,60", "seeds": "1,2,3", "epochs": None, "test_minutes": 20.0}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default="synth,field", help="families to train on and test on")
    parser.add_argument("--sizes", default=None, help="training minutes, comma-separated (10,15,30,60)")
    parser.add_argument("--seeds", default=None, help="data and training seeds, comma-separated (1,2,3)")
    parser.add_argument("--epochs", type=int, default=None, help="default: TrainConfig's (20)")
    parser.add_argument("--test-minutes", type=float, default=None, help="held-out minutes per family (20)")
    parser.add_argument("--test-seed", type=int, default=1000)
    parser.add_argument("--seconds-per-file", type=float, default=60.0)
    parser.add_argument("--mp3-kbps", type=int, default=64, help="0: no MP3 check")
    parser.add_argument(
        "--variants", type=int, default=0, help="waveform-level augmented copies per training file (detector.augment)"
    )
    parser.add_argument(
        "--paste",
        action="store_true",
        help="with --variants: the copies also get events of the other training files pasted in",
    )
    parser.add_argument(
        "--without", default="", help="with --variants: effects left out of the copies (e.g. codec,music)"
    )
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument(
        "--start-from",
        choices=("scratch", "prior"),
        default="scratch",
        help="scratch (default): the tenant's audio only. The shipped prior was trained on both families' "
        "generators, so its rows here are not cross-corpus results; see --prior-from",
    )
    parser.add_argument(
        "--prior-from",
        default="",
        help="FAMILY=ARTIFACT,...: runs training on FAMILY start from that detector "
        "(e.g. field=/tmp/synth-prior.pt, made by bench/pretrain.py --families synth)",
    )
    parser.add_argument(
        "--feature-version", type=int, default=None, help="detector feature version (default: the default)"
    )
    parser.add_argument("--cache-dir", default=None, help="default ~/.cache/relay-bench (or RELAY_BENCH_CACHE)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "cross_corpus.json")
    parser.add_argument("--quick", action="store_true", help="smoke run: 5 minutes, 1 seed, 3 epochs, 4 test minutes")
    args = parser.parse_args(argv)
    preset = QUICK if args.quick else DEFAULTS
    for name, value in preset.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.families = [f.strip() for f in args.families.split(",") if f.strip()]
    args.without = tuple(e.strip() for e in args.without.split(",") if e.strip())
    args.prior_from = dict(pair.split("=", 1) for pair in args.prior_from.split(",") if pair.strip())
    args.sizes = [float(s) for s in str(args.sizes).split(",")]
    args.seeds = [int(s) for s in str(args.seeds).split(",")]
    if args.test_seed in args.seeds:
        parser.error("the test seed must differ from the training seeds")
    return args


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def n_files(minutes, seconds_per_file):
    return max(2, round(minutes * 60 / seconds_per_file))


# ---------------------------------------------------------------- data


def test_sets(args) -> dict:
    """{name: [(CorpusFile, float16 features)]}: each family's held-out files, and the field ones as MP3."""
    sets = {}
    count = n_files(args.test_minutes, args.seconds_per_file)
    for family in args.families:
        files = corpora.corpus(family, args.test_seed, count, args.seconds_per_file, "test", args.cache_dir, log)
        sets[family] = files
        if family == "field" and args.mp3_kbps:
            sets["field-mp3"] = [corpora.as_mp3(f, args.mp3_kbps) for f in files]
    out = {}
    for name, files in sets.items():
        out[name] = [(f, corpora.canonical_features(f, args.cache_dir)[0]) for f in files]
        facts = corpora.describe(files)
        log(f"test set {name}: {facts['files']} files, {facts['minutes']:.1f} min, events {facts['events']}")
    return out


def training_files(family, seed, minutes, args):
    files = corpora.corpus(
        family, seed, n_files(minutes, args.seconds_per_file), args.seconds_per_file, "train", args.cache_dir, log
    )
    variants = 0 if args.paste else args.variants
    return files, [corpora.server_view(f, args.cache_dir, variants, args.without) for f in files]


# ---------------------------------------------------------------- evaluation


def evaluate(detector, test_files) -> dict:
    """Event metrics of the detector's calibrated decoding on a test set, and recall per labelled style."""
    from detector.metrics import event_metrics, match_events

    references, detections = {}, {}
    found_by_detail = defaultdict(lambda: [0, 0])  # "kind stage/style" -> [found, total]
    for file, features in test_files:
        found = [(KINDS.index(t), s, e) for t, s, e, _ in detector.detect(features)]
        refs = [(KINDS.index(k), s, e) for k, s, e in file.events]
        references[file.key], detections[file.key] = refs, found
        for t, kind in enumerate(KINDS):
            mine = [i for i, r in enumerate(refs) if r[0] == t]
            pairs = match_events([refs[i][1:] for i in mine], [d[1:] for d in found if d[0] == t])
            matched = {mine[r] for r, _ in pairs}
            for i in mine:
                detail = file.details[i] if i < len(file.details) else ""
                counts = found_by_detail[f"{kind} {detail}".strip()]
                counts[0] += i in matched
                counts[1] += 1
    metrics = event_metrics(references, detections, list(KINDS))
    metrics["found_by_detail"] = {k: v for k, v in sorted(found_by_detail.items())}
    return metrics


def train_and_test(family, seed, minutes, args, tests) -> dict:
    from detector.artifact import Detector
    from detector.train import TrainConfig, split_files, train_detector

    files, train = training_files(family, seed, minutes, args)
    audio_minutes = sum(f.duration_ms for f in files) / 60000
    config = TrainConfig(seed=seed, start_from=args.start_from)
    if args.epochs is not None:
        config = dataclasses.replace(config, epochs=args.epochs)
    copy_seconds = 0.0
    if args.paste and args.variants:  # donors: the training split's files only (no validation events leak)
        train_idx, _ = split_files(train, len(KINDS), config.validation_split, config.seed)
        donors = [files[i] for i in train_idx]
        for i in train_idx:
            copies, seconds = corpora.pasted_variant_features(files[i], donors, args.variants, args.cache_dir)
            train[i].variants = copies
            copy_seconds += seconds
    log(f"training on {family} seed {seed}: {len(files)} files, {audio_minutes:.1f} min, {config.epochs} epochs ...")
    prior = args.prior_from.get(family)
    init = Detector.from_bytes(Path(prior).read_bytes()) if prior else None
    result = train_detector(train, list(KINDS), config, feature_config=corpora.FEATURES, init=init)
    # The copies' cost (decode, effects, features) counts toward the training budget; cached, so the
    # seconds recorded when they were made.
    if args.variants and not args.paste:
        made = [corpora.variant_features(f, args.variants, args.cache_dir, args.without) for f in files]
        copy_seconds = sum(seconds for _, seconds in made)
    run = {
        "train_family": family,
        "seed": seed,
        "size_minutes": minutes,
        "audio_minutes": audio_minutes,
        "training_seconds": result.seconds,
        "variants": args.variants,
        "copy_seconds": copy_seconds,
        "seconds_per_hour": (result.seconds + copy_seconds) / (audio_minutes / 60),
        "started_from": result.detector.info["started_from"],
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        "validation_macro_f1": result.metrics["macro_f1"],
        "decoding": result.detector.decoding.to_dict(),
        "tests": {name: evaluate(result.detector, test) for name, test in tests.items()},
    }
    scores = ", ".join(f"{name} {m['macro_f1']:.3f}" for name, m in run["tests"].items())
    log(
        f"  trained in {result.seconds:.0f} s + copies {copy_seconds:.0f} s ({run['seconds_per_hour']:.0f} s/h, "
        f"{result.epochs_run} epochs, "
        f"best {result.best_epoch}, validation {result.metrics['macro_f1']:.3f}); test macro F1: {scores}"
    )
    return run


# ---------------------------------------------------------------- summaries


def summarize(runs) -> list[dict]:
    """One row per (train family, test set, size): macro F1 over seeds, per-type mean F1, weakest type."""
    groups = defaultdict(list)
    for run in runs:
        for test in run["tests"]:
            groups[(run["train_family"], test, run["size_minutes"])].append(run)
    rows = []
    for (train, test, size), members in groups.items():
        macros = [m["tests"][test]["macro_f1"] or 0.0 for m in members]
        per_type = {}
        for kind in KINDS:
            values = [m["tests"][test]["per_type"][kind]["f1"] for m in members]
            values = [v for v in values if v is not None]
            per_type[kind] = float(np.mean(values)) if values else None
        defined = {k: v for k, v in per_type.items() if v is not None}
        rows.append(
            {
                "train": train,
                "test": test,
                "size_minutes": size,
                "seeds": [m["seed"] for m in members],
                "macro_f1_mean": float(np.mean(macros)),
                "macro_f1_min": float(np.min(macros)),
                "macro_f1_max": float(np.max(macros)),
                "macro_f1_std": float(np.std(macros)),
                "per_type_f1_mean": per_type,
                "weakest": min(defined, key=defined.get) if defined else None,
                "seconds_per_hour_mean": float(np.mean([m["seconds_per_hour"] for m in members])),
            }
        )
    return rows


def direction_order(row):
    test = row["test"].removesuffix("-mp3")
    kind = 0 if test != row["train"] else 1  # cross-corpus first, then same-family
    return (kind, row["train"], row["test"], row["size_minutes"])


def f1_table(rows) -> str:
    head = "| train → test | train min | macro F1 mean | min–max | " + " | ".join(KINDS)
    lines = [head + " | weakest | train s / h audio |", "|" + "---|" * (len(KINDS) + 6)]
    for r in sorted((r for r in rows if not r["test"].endswith("-mp3")), key=direction_order):
        types = " | ".join(
            "—" if r["per_type_f1_mean"][k] is None else f"{r['per_type_f1_mean'][k]:.2f}" for k in KINDS
        )
        lines.append(
            f"| {r['train']} → {r['test']} | {r['size_minutes']:g} | {r['macro_f1_mean']:.3f} | "
            f"{r['macro_f1_min']:.3f}–{r['macro_f1_max']:.3f} | {types} | {r['weakest']} | "
            f"{r['seconds_per_hour_mean']:.0f} |"
        )
    return "\n".join(lines)


def mp3_rows(runs) -> list[dict]:
    groups = defaultdict(list)
    for run in runs:
        if "field-mp3" in run["tests"]:
            groups[(run["train_family"], run["size_minutes"])].append(run)
    rows = []
    for (train, size), members in sorted(groups.items()):
        original = [m["tests"]["field"]["macro_f1"] or 0.0 for m in members]
        mp3 = [m["tests"]["field-mp3"]["macro_f1"] or 0.0 for m in members]
        deltas = [b - a for a, b in zip(original, mp3, strict=True)]
        rows.append(
            {
                "train": train,
                "size_minutes": size,
                "field_macro_f1_mean": float(np.mean(original)),
                "field_mp3_macro_f1_mean": float(np.mean(mp3)),
                "delta_mean": float(np.mean(deltas)),
                "delta_min": float(np.min(deltas)),
                "delta_max": float(np.max(deltas)),
            }
        )
    return rows


def mp3_table(rows, kbps) -> str:
    lines = [
        f"| train | train min | field macro F1 | field as MP3 {kbps} kbps | Δ mean | Δ min..max |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['train']} | {r['size_minutes']:g} | {r['field_macro_f1_mean']:.3f} | "
            f"{r['field_mp3_macro_f1_mean']:.3f} | {r['delta_mean']:+.3f} | "
            f"{r['delta_min']:+.3f}..{r['delta_max']:+.3f} |"
        )
    return "\n".join(lines)


def detail_table(runs, size) -> str:
    """Recall on the field test set per artifact style (stage/style), by training family, at one size."""
    totals = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for run in runs:
        if run["size_minutes"] == size and "field" in run["tests"]:
            for detail, (found, total) in run["tests"]["field"]["found_by_detail"].items():
                totals[detail][run["train_family"]][0] += found
                totals[detail][run["train_family"]][1] += total
    families = sorted({f for per in totals.values() for f in per})
    lines = ["| field event style | " + " | ".join(f"recall, trained on {f}" for f in families) + " |"]
    lines.append("|---|" + "---|" * len(families))
    for detail in sorted(totals):
        cells = []
        for family in families:
            found, total = totals[detail][family]
            cells.append(f"{found / total:.2f} ({total})" if total else "—")
        lines.append(f"| {detail} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def precision_recall_table(runs, size) -> str:
    lines = ["| train → test | " + " | ".join(f"{k} P / R" for k in KINDS) + " |", "|---|" + "---|" * len(KINDS)]
    pairs = sorted({(r["train_family"], t) for r in runs for t in r["tests"] if not t.endswith("-mp3")})
    for train, test in pairs:
        members = [r for r in runs if r["train_family"] == train and r["size_minutes"] == size]
        if not members:
            continue
        cells = []
        for kind in KINDS:
            p = [m["tests"][test]["per_type"][kind]["precision"] for m in members]
            r = [m["tests"][test]["per_type"][kind]["recall"] for m in members]
            p, r = [v for v in p if v is not None], [v for v in r if v is not None]
            cells.append(f"{np.mean(p):.2f} / {np.mean(r):.2f}" if p and r else "—")
        lines.append(f"| {train} → {test} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _start(args) -> str:
    given = ", ".join(f"{family}: {Path(path).name}" for family, path in args.prior_from.items())
    return f"{args.start_from}{' (' + given + ')' if given else ''}"


def report(runs, args, began) -> str:
    rows = summarize(runs)
    largest = max(r["size_minutes"] for r in runs)
    parts = [
        f"Cross-corpus event F1 (held-out {args.test_minutes:g} min per family, test seed {args.test_seed}; "
        f"seeds {args.seeds}; epochs {args.epochs or 'default (20)'}; {args.threads} torch threads; "
        f"{args.variants} augmented copies per training file{' with pasted events' if args.paste else ''}"
        f"{' without ' + ', '.join(args.without) if args.without else ''}; "
        f"starting from {_start(args)}; "
        f"{(time.perf_counter() - began) / 60:.1f} min wall time)",
        "",
        f1_table(rows),
    ]
    mp3 = mp3_rows(runs)
    if mp3:
        parts += ["", "MP3 check (the field test set encoded as MP3):", "", mp3_table(mp3, args.mp3_kbps)]
    parts += [
        "",
        f"Precision / recall per type at {largest:g} min (mean over seeds):",
        "",
        precision_recall_table(runs, largest),
    ]
    if any("field" in r["tests"] for r in runs):
        parts += [
            "",
            f"Field test set: recall per artifact style at {largest:g} min (all seeds pooled):",
            "",
            detail_table(runs, largest),
        ]
    return "\n".join(parts)


def code_version() -> dict:
    """The commit the benchmark ran on, and whether detector/ or the generators had uncommitted changes."""
    import subprocess

    def git(*command):
        done = subprocess.run(["git", *command], cwd=corpora.BASE_DIR, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else None

    watched = ["detector", "training/demo_data.py", "bench/field_corpus.py", "bench/field_text.py", "bench/corpora.py"]
    return {"commit": git("rev-parse", "HEAD"), "uncommitted": git("status", "--short", "--", *watched)}


def save(path: Path, args, runs, began, finished=False, version=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "finished": finished,
        "code": version,
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_seconds": time.perf_counter() - began,
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "summary": summarize(runs) if runs else [],
        "mp3": mp3_rows(runs),
        "runs": runs,
    }
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(payload, indent=1))
    partial.replace(path)


def main(argv=None):
    args = parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    if args.feature_version is not None:
        from detector.features import FeatureConfig

        corpora.use_features(FeatureConfig(version=args.feature_version))
    began = time.perf_counter()
    version = code_version()
    log(
        f"cross-corpus benchmark: families {args.families}, sizes {args.sizes} min, seeds {args.seeds}, "
        f"test {args.test_minutes:g} min (seed {args.test_seed}), {args.threads} threads"
    )
    tests = test_sets(args)
    largest = max(args.sizes)
    for family in args.families:  # generate and featurize the largest training corpora up front
        for seed in args.seeds:
            training_files(family, seed, largest, args)
    log(f"corpora ready in {(time.perf_counter() - began) / 60:.1f} min")
    runs = []
    total = len(args.sizes) * len(args.seeds) * len(args.families)
    for size in sorted(args.sizes):
        for seed in args.seeds:
            for family in args.families:
                log(f"run {len(runs) + 1}/{total}: train {family}, {size:g} min, seed {seed}")
                runs.append(train_and_test(family, seed, size, args, tests))
                save(args.out, args, runs, began, version=version)
    save(args.out, args, runs, began, finished=True, version=version)
    text = report(runs, args, began)
    args.out.with_suffix(".md").write_text(f"Code: {version['commit']} {version['uncommitted'] or ''}\n\n{text}\n")
    print("\n" + text + "\n", flush=True)
    log(f"done in {(time.perf_counter() - began) / 60:.1f} min; results in {args.out}")
    import harness

    harness.report("cross_corpus", [f1_figure(row) for row in summarize(runs)])
    return 0


CROSS_GOALS = {15: 0.85, 30: 0.90}  # macro F1 of the cross directions, by training minutes


def f1_figure(row):
    """Macro F1 (mean over seeds) of one train -> test direction at one size; goals for the cross ones."""
    import harness

    cross = row["train"] != row["test"] and row["test"] in ("synth", "field")
    goal = CROSS_GOALS.get(row["size_minutes"]) if cross else None
    mean = round(row["macro_f1_mean"], 3)
    return harness.figure(
        f"macro F1, train {row['train']} -> test {row['test']}, {row['size_minutes']:g} min",
        f"{mean:.3f} (min {row['macro_f1_min']:.3f}, max {row['macro_f1_max']:.3f}, {len(row['seeds'])} seeds)",
        mean,
        f">= {goal:.2f}" if goal else "",
        mean >= goal if goal else None,
    )


if __name__ == "__main__":
    sys.exit(main())
