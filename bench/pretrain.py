"""Build the prior that tenant training starts from (detector/priors/relay-prior-2.pt).

Generates (or reads from the benchmark cache) `--minutes` of each family's corpus at a seed
no benchmark trains or tests on, makes `--variants` waveform-level augmented copies of each
file (detector.augment: rooms, noise and music, EQ, codecs), and trains one detector on
all of it with the default config from scratch; writes the artifact with its name and
recipe in `info`. Deterministic for a machine and thread count (the shipped file: 1 thread).
The copies matter: a synth-only prior made with 2 copies scored 0.54 on the field test set
instead of 0.45, and fine-tuned on field audio it beat training from scratch
(bench/results/detector_experiments.md, session 9).

    .venv/bin/python bench/pretrain.py                        # both families, 180 min each: ~35 min
    .venv/bin/python bench/pretrain.py --families field --out /tmp/field-prior.pt

A prior built from one family only is how bench/cross_corpus.py --prior-from measures
what starting from a prior gives a tenant whose recordings come from elsewhere.
"""

import argparse
import sys
import time
from pathlib import Path

import corpora
from corpora import KINDS

from detector.prior import PRIOR_PATH

PRIOR_SEED = 7000  # bench/cross_corpus.py trains on seeds 1-5 and tests on 1000


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default="synth,field")
    parser.add_argument("--minutes", type=float, default=180.0, help="per family")
    parser.add_argument("--seed", type=int, default=PRIOR_SEED)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--variants", type=int, default=2, help="waveform-level augmented copies per file (detector.augment)"
    )
    parser.add_argument("--name", default=PRIOR_PATH.stem)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--out", type=Path, default=PRIOR_PATH)
    args = parser.parse_args(argv)
    import torch

    from detector.train import TrainConfig, train_detector

    torch.set_num_threads(args.threads)
    began = time.perf_counter()
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    files = []
    for family in families:
        made = corpora.corpus(family, args.seed, round(args.minutes), 60.0, "train", args.cache_dir, print)
        files += [corpora.server_view(f, args.cache_dir, args.variants) for f in made]
    minutes = sum(len(f.features) for f in files) * corpora.FEATURES.frame_ms / 60000
    print(f"training on {len(files)} files, {minutes:.0f} min of {', '.join(families)} ...", flush=True)
    config = TrainConfig(seed=args.seed, start_from="scratch")
    result = train_detector(files, list(KINDS), config, feature_config=corpora.FEATURES)
    detector = result.detector
    detector.info.update(
        name=args.name,
        families=families,
        minutes_per_family=args.minutes,
        corpus_seed=args.seed,
        augmented_copies=args.variants,
        validation_macro_f1=round(result.metrics["macro_f1"], 4),
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(detector.to_bytes())
    print(
        f"{args.out}: validation macro F1 {result.metrics['macro_f1']:.3f}, {result.epochs_run} epochs, "
        f"trained in {result.seconds:.0f} s ({(time.perf_counter() - began) / 60:.1f} min in all)",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
