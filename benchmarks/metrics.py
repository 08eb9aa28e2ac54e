"""Evaluation benchmark: scoring speed, real-vs-real floors, and the scores of trained presets.

    python benchmarks/metrics.py --data-dir ../shared/data/mnist [--runs RUN ...] [--threads 1]

1. speed: seconds to score 10,000 MNIST samples (all metrics, classifier features, real features
   already cached vs cold), after the classifier is trained and cached;
2. floors: every metric on two disjoint halves of the MNIST test split (5,000 vs 5,000) and of
   ring8 (fresh draws): what a perfect generator would score under this protocol;
3. presets: `ganforge eval` numbers for each run folder given with --runs (e.g. seed-mlp-mnist and
   dcgan-mnist-paper trained for fixed step budgets; docs/metrics.md lists the commands).

Prints Markdown tables (the ones in docs/metrics.md) and writes them as JSON to --out.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings

import torch

from ganforge.data import load_dataset
from ganforge.metrics.cache import clear_memory_cache
from ganforge.metrics.classifier import ClassifierExtractor, ClassifierSettings, load_or_train
from ganforge.metrics.evaluate import evaluate

KEYS = (
    "fd",
    "kid",
    "precision",
    "recall",
    "density",
    "coverage",
    "is",
    "classes",
    "modes",
    "kl",
    "reverse_kl",
)


def _row(name: str, scores: dict) -> str:
    return (
        f"| {name} | " + " | ".join(f"{scores[k]:.4g}" if k in scores else "" for k in KEYS) + " |"
    )


def _header() -> str:
    return "| | " + " | ".join(KEYS) + " |\n" + "|---" * (len(KEYS) + 1) + "|"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", required=True, help="folder with the MNIST IDX files")
    ap.add_argument("--runs", nargs="*", default=[], help="run folders to score")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--out", default="runs/bench-metrics.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    results: dict = {"threads": args.threads, "torch": torch.__version__}

    mnist = load_dataset("mnist", data_dir=args.data_dir, split="test", download=False)
    t0 = time.perf_counter()
    clf = load_or_train(mnist, ClassifierSettings(), cache_dir=args.cache_dir)
    results["classifier"] = {
        "accuracy": clf.accuracy,
        "seconds_to_load_or_train": round(time.perf_counter() - t0, 2),
    }
    ext = ClassifierExtractor(clf)

    # 1. speed: 10,000 samples scored (all metrics), cold and with the real side cached
    fake = mnist.x.flip(-1)  # 10,000 image-shaped samples that are not the real ones
    speed = {}
    for label in ("cold", "real features cached"):
        if label == "cold":
            clear_memory_cache()
        t = time.perf_counter()
        evaluate(fake, real_dataset=mnist, n_real=10_000, extractor=ext, disk_cache=False)
        speed[label] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    ext.extract(mnist.x)
    speed["feature pass only (10,000)"] = round(time.perf_counter() - t, 2)
    results["speed_seconds"] = speed

    # 2. floors: disjoint halves of the real data
    perm = torch.randperm(len(mnist.x), generator=torch.Generator().manual_seed(0))
    a, b = perm[:5000], perm[5000:]  # a = mnist.real_sample(5000, seed=0): the same permutation
    floors = {}
    r = evaluate(mnist.x[b], real_dataset=mnist, n_real=5000, extractor=ext, disk_cache=False)
    floors["mnist: 5,000 test digits vs 5,000 others (classifier)"] = r.scores
    # the classifier-free comparison on the same halves uses raw pixels
    r = evaluate(mnist.x[a], real=mnist.x[b], extractor="raw", metrics="fd,kid,pr,dc")
    floors["mnist: two halves, raw pixels"] = r.scores
    ring = load_dataset("ring8")
    r = evaluate(
        ring.sample(5000, torch.Generator().manual_seed(1)).x,
        real_dataset=ring,
        n_real=5000,
        disk_cache=False,
    )
    floors["ring8: 5,000 vs 5,000 fresh draws"] = r.scores
    results["floors"] = floors

    # 3. trained runs
    runs = {}
    for run in args.runs:
        from ganforge.sampling.generator import load_generator
        from ganforge.training.checkpoint import find_checkpoint

        g = load_generator(find_checkpoint(run))
        r = evaluate(
            g, real_dataset=mnist, n=10_000, n_real=10_000, extractor=ext, disk_cache=False
        )
        runs[f"{run} (step {g.step})"] = r.scores
    results["runs"] = runs

    print(f"classifier held-out accuracy {clf.accuracy:.4f}")
    print("\nseconds to score 10,000 MNIST samples:", json.dumps(speed))
    print("\n" + _header())
    for name, s in {**floors, **runs}.items():
        print(_row(name, s))
    from pathlib import Path

    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
