"""What a Stacked MNIST run's mode KL is made of: each channel's digit shares and how sure the
classifier is of them.

The protocol (benchmarks/modes.py) classifies each of the three channels of 26,000 samples with
ganforge's cached MNIST domain classifier and scores the KL of the 1,000-mode histogram to uniform.
This splits it: per channel, the digit shares (x 10, so 1.00 is a uniform share), their KL to
uniform, and the classifier's mean top probability, over all samples and per predicted digit
(real channels: about 0.98). When the channels' KLs add up to most of the joint KL, the modes are
uneven because each channel's digits are.

    python benchmarks/stacked_channels.py RUN_DIR [RUN_DIR ...] [--no-ema] [--train-bn]
    python benchmarks/stacked_channels.py --real            # the same numbers for real data
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch


def channel_report(x: torch.Tensor, clf) -> dict:
    """x [N, 3, 28, 28] in [-1, 1] -> the joint stats and, per channel, digit shares, their KL to
    uniform, and the classifier's mean top probability over all samples and per predicted digit."""
    from ganforge.metrics import class_histogram_stats
    from ganforge.metrics.modes import stacked_mode_stats

    digits, channels = [], []
    with torch.no_grad():
        for c in range(3):
            p = torch.cat([clf.net(b)[1].softmax(1) for b in x[:, c : c + 1].split(1000)])
            top, d = p.max(1)
            digits.append(d)
            st = class_histogram_stats(d, 10)
            per_digit = [float(top[d == k].mean()) if (d == k).any() else float("nan")
                         for k in range(10)]
            channels.append({"shares": np.array(st["histogram"]) * 10, "kl": st["kl"],
                             "confidence": float(top.mean()), "per_digit": per_digit})
    joint = stacked_mode_stats(100 * digits[0] + 10 * digits[1] + digits[2])
    return {"modes": joint["modes"], "kl": joint["kl"], "channels": channels}


def _print(name: str, rep: dict) -> None:
    total = sum(c["kl"] for c in rep["channels"])
    print(f"{name}: {rep['modes']} modes, KL {rep['kl']:.4f}; channels' KLs add up to {total:.4f}")
    for i, c in enumerate(rep["channels"]):
        shares = " ".join(f"{s:.2f}" for s in c["shares"])
        conf = " ".join(f"{s:.2f}" for s in c["per_digit"])
        print(f"  channel {i}: digit shares x10 [{shares}]  KL {c['kl']:.4f}  "
              f"confidence {c['confidence']:.3f}\n             confidence per digit  [{conf}]")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="*", help="run folders of stacked-mnist-* presets")
    p.add_argument("--real", action="store_true", help="score 26,000 real stacked digits instead")
    p.add_argument("--no-ema", action="store_true", help="G's raw weights instead of the EMA")
    p.add_argument("--train-bn", action="store_true", help="sample with BatchNorm in train mode")
    shared = Path(__file__).resolve().parents[2] / "shared/data/mnist"
    p.add_argument("--data-dir", default=str(shared))
    p.add_argument("--seed", type=int, default=None,
                   help="latents drawn from seed 20,000 + this (default: each run's train.seed)")
    args = p.parse_args(argv)
    if not args.runs and not args.real:
        p.error("give a run folder or --real")

    from ganforge.data.stacked import STACKED_EVAL_SAMPLES
    from ganforge.errors import GanforgeError
    from ganforge.metrics.classifier import load_or_train
    from ganforge.presets import preset_config
    from ganforge.sampling.generator import load_generator
    from ganforge.training.checkpoint import find_checkpoint, load_state
    from ganforge.training.trainer import load_data

    try:
        seeds = {}  # each run's latents as benchmarks/modes.py drew them: seeded by its train.seed
        for run in args.runs:
            cfg = load_state(find_checkpoint(run))["config"]
            if cfg["data"]["dataset"] != "stacked-mnist":
                raise GanforgeError(f"{run}: a {cfg['data']['dataset']} run, not Stacked MNIST")
            seeds[run] = cfg["train"]["seed"] if args.seed is None else args.seed
        data = load_data(preset_config("stacked-mnist-dcgan", {"data.data_dir": args.data_dir}))
        clf = load_or_train(data.base)
        if args.real:
            gen = torch.Generator().manual_seed(20_000 + (args.seed or 0))
            real = data.sample(STACKED_EVAL_SAMPLES, gen).x.float()
            _print("real data", channel_report(real, clf))
        for run in args.runs:
            g = load_generator(run, ema=not args.no_ema)
            g.net.train(args.train_bn)
            gen = torch.Generator().manual_seed(20_000 + seeds[run])
            with torch.no_grad():
                x = torch.cat([g(g.prior(1000, gen)) for _ in range(STACKED_EVAL_SAMPLES // 1000)])
            _print(run, channel_report(x, clf))
    except GanforgeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
