"""InfoGAN on the 8x8 digits: how often the categorical code names the digit class.

For each code scale s (G reads [s * onehot(c), u, noise], `loss.info_code_scale`) and each seed,
train `infogan-digits` (DCGAN nets, 2,000 steps: the setting of
tests/test_family.py), draw 1,000 samples, classify them with ganforge's CNN domain classifier,
and report the share of samples whose code matches the class after the best one-to-one matching
of codes to classes (Hungarian algorithm), and Q's accuracy at reading the code back.

    python benchmarks/infogan.py                      # scales 1 and 6, seeds 0-3, 2 at a time
    python benchmarks/infogan.py --scales 6 --seeds 8
    python benchmarks/infogan.py --scales 6 --seeds 8 --set model.d_hidden=512   # a trial
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from fit_guard import fit_to_end


def _setting() -> dict:
    return {
        "train.threads": 1,
        "train.device": "cpu",
        "train.diagnose": False,
        "train.sample_every": 10**6,
        "train.checkpoint_every": 10**6,
    }


def run_one(job: tuple[float, int, dict]) -> dict:
    """Train one (scale, seed) and score its code against the classifier's classes."""
    import torch

    from ganforge.data import load_dataset
    from ganforge.metrics import code_class_match
    from ganforge.metrics.classifier import load_or_train
    from ganforge.presets import preset_config
    from ganforge.runner import make_trainer
    from ganforge.training.stats import read_jsonl

    scale, seed, extra = job
    torch.set_num_threads(1)
    clf = load_or_train(load_dataset("digits"))
    cfg = preset_config(
        "infogan-digits",
        {**_setting(), **extra, "train.seed": seed, "loss.info_code_scale": scale},
    )
    with tempfile.TemporaryDirectory() as tmp:
        t = make_trainer(cfg, Path(tmp) / "run", quiet=True)
        fit_to_end(t)
        q_acc = read_jsonl(Path(tmp) / "run" / "log.jsonl")[-1]["G/info_acc"]
        g = t.sample_net().eval()
        z = torch.rand(1000, cfg.model.z_dim, generator=torch.Generator().manual_seed(0)) * 2 - 1
        with torch.no_grad():
            code, x = g.codes(z)[0].numpy(), g(z)
        pred = clf.predict(x.reshape(len(x), 1, 8, 8).float())
    return {
        "scale": scale,
        "seed": seed,
        "match": code_class_match(code, pred, 10),
        "q_acc": float(q_acc),
        "set": extra,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scales", default="1,6", help="comma-separated code scales")
    p.add_argument("--seeds", type=int, default=4)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--set", action="append", default=[], help="extra override key=value (trials)")
    args = p.parse_args(argv)
    from ganforge.config import parse_set_args
    from ganforge.errors import ConfigError
    from ganforge.presets import preset_config

    try:  # check the overrides once, here, not in every worker
        extra = parse_set_args(args.set)
        if {"train.seed", "loss.info_code_scale"} & set(extra):
            raise ConfigError("--set: use --seeds and --scales for the seed and the code scale")
        preset_config("infogan-digits", {**_setting(), **extra})
    except ConfigError as e:
        p.error(str(e))
    jobs = [(float(s), seed, extra) for s in args.scales.split(",") for seed in range(args.seeds)]
    with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as ex:
        rows = list(ex.map(run_one, jobs))
    for r in rows:
        print(json.dumps(r))
    print("\n| code scale | seeds | code-class match per seed | mean | Q reads the code |")
    print("|---|---|---|---|---|")
    for s in dict.fromkeys(r["scale"] for r in rows):
        rs = [r for r in rows if r["scale"] == s]
        per = " ".join(f"{r['match']:.3f}" for r in rs)
        mean = sum(r["match"] for r in rs) / len(rs)
        q = min(r["q_acc"] for r in rs)
        print(f"| {s:g} | {len(rs)} | {per} | {mean:.3f} | >= {q:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
