"""Conditional GANs on the 8x8 digits: does G draw the class it is asked for, and varied ones?

Trains `cgan-digits` and `acgan-digits` (one CPU thread each, in parallel) for `--steps` steps,
then asks the sampling G (EMA) for 200 samples of each class c (`ganforge sample --class c` does
the same) and prints, per class:
- the share that ganforge's CNN domain classifier of the digits judges as c;
- the within-class diversity: mean per-pixel std of the 200 samples over that of the real digits
  of class c (about 0.05 for a G that ignores z and draws one image per label).
The classifier's own held-out accuracy per class on real digits is printed beside it.

    python benchmarks/conditional.py                 # 2,000 steps, about 80 s on 2 cores
    python benchmarks/conditional.py --steps 4000 --seed 1
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

import numpy as np
import torch
from fit_guard import fit_to_end

from ganforge.data import load_dataset
from ganforge.metrics.classifier import ClassifierSettings, holdout_split, load_or_train


def run_one(preset: str, steps: int, seed: int) -> dict:
    from ganforge.presets import preset_config
    from ganforge.runner import make_trainer
    from ganforge.sampling.generator import load_generator

    torch.set_num_threads(1)
    real = load_dataset("digits")
    clf = load_or_train(real)
    out = tempfile.mkdtemp()
    cfg = preset_config(
        preset,
        {
            "train.steps": steps,
            "train.seed": seed,
            "train.threads": 1,
            "train.device": "cpu",
            "train.diagnose": False,
            "train.sample_every": 10**9,
            "train.checkpoint_every": 10**9,
        },
    )
    fit_to_end(make_trainer(cfg, out, quiet=True))
    g = load_generator(out)
    acc, spread = [], []
    for c in range(real.spec.num_classes):
        x = g.sample(200, seed=c, y=c)
        acc.append(float((clf.predict(x) == c).float().mean()))
        spread.append(float(x.std(0).mean() / real.x[real.y == c].std(0).mean()))
    return {"preset": preset, "steps": steps, "seed": seed, "acc": acc, "spread": spread}


def real_accuracy_per_class() -> list[float]:
    """The classifier's held-out accuracy per class, on its own held-out split."""
    real = load_dataset("digits")
    hold, _ = holdout_split(len(real.x), ClassifierSettings())
    pred, y = load_or_train(real).predict(real.x[hold]), real.y[hold]
    return [float((pred[y == c] == c).float().mean()) for c in range(real.spec.num_classes)]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--one", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one:
        print(json.dumps(run_one(a.one, a.steps, a.seed)))
        return 0
    load_or_train(load_dataset("digits"))  # train and cache once before the workers start
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--one",
                name,
                "--steps",
                str(a.steps),
                "--seed",
                str(a.seed),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for name in ("cgan-digits", "acgan-digits")
    ]
    outs = [pr.communicate()[0] for pr in procs]
    for pr in procs:  # a child stopped by a signal (fit_guard) or failed: no row to read
        if pr.returncode:
            raise SystemExit(pr.returncode)
    rows = [json.loads(out.strip().splitlines()[-1]) for out in outs]
    real = real_accuracy_per_class()
    fmt = lambda v: " ".join(f"{x:.2f}" for x in v)
    print(f"classifier on held-out real digits, per class: {fmt(real)}")
    for r in rows:
        print(f"{r['preset']} ({r['steps']} steps, seed {r['seed']}):")
        print(f"  judged as asked, per class: {fmt(r['acc'])}  (mean {np.mean(r['acc']):.3f})")
        print(f"  within-class std / real:    {fmt(r['spread'])}  (min {min(r['spread']):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
