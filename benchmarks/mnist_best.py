"""The best unconditional MNIST preset at 300 CPU-seconds, and what each part of it earned.

Each row is a preset with overrides, trained on one CPU thread on the MNIST test split (the
data on hand) for the steps that 300 CPU-s buy on a quiet machine (see ROWS; the CPU-s column
is what each run used, more when the machine was busy), then scored by
`ganforge eval` on 10,000 samples of the sampling G (EMA when kept) against the 10,000 real
digits, in ganforge's MNIST classifier features: FD, precision/recall (k=3), classes with
>= 1% of the samples, KL of the class histogram to the real one. No labels reach any row's
training: `self_cond` clusters the pixels, InfoGAN learns its own codes.

    python benchmarks/mnist_best.py --seeds 1 --rows dcgan,dcgan-ema,selfcond,selfcond-w5,\
        selfcond20-w5:3,selfcond20-lr4:3,selfcond20-spectral,selfcond50-w5,infogan-ema,\
        selfcond20-lr6:1-1,selfcond20-lr4-decay:1-1,selfcond20-spectral-lr4:1-1,\
        selfcond20-lr4-emaramp:1-1  # the table in docs/mnist-best.md
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from translation_common import MNIST, ROOT, command_line, machine_note, mean_sd
from translation_common import train as _train

DATA = {"data.data_dir": str(MNIST), "data.split": "test", "data.download": False,
        "train.diagnose": False, "train.sample_every": 10**6, "train.checkpoint_every": 10**6}
# Steps: what 300 CPU-s buy on this machine when it is quiet. The quiet measurement gave
# dcgan-mnist 4,860 steps in 300 s; the others are scaled by their CPU-s per step relative to
# dcgan-mnist, measured side by side in a first sweep (self-conditioning with minibatch
# discrimination x1.37, InfoGAN's Q head and codes x1.81); in the table's runs, made side by
# side, the self-conditioned rows' 3,550 steps used the CPU of dcgan-mnist's 4,860.


def _selfcond(clusters: int, weight: float, **extra) -> dict:
    """dcgan-mnist self-conditioned on `clusters` k-means clusters (G/cluster term `weight`),
    with minibatch discrimination and EMA 0.999, at the 3,550 steps of 300 quiet CPU-s."""
    return {"train.steps": 3550, "train.ema": 0.999, "model.minibatch_disc": True,
            "model.self_cond": clusters, "loss.self_cond_weight": weight, **extra}


# name: (preset, overrides, what it adds)
ROWS: dict[str, tuple[str, dict, str]] = {
    "dcgan": ("dcgan-mnist", {"train.steps": 4860}, "`dcgan-mnist` as it is"),
    "dcgan-ema": ("dcgan-mnist", {"train.steps": 4860, "train.ema": 0.999},
                  "`dcgan-mnist` + EMA 0.999 of G (sampled from the average)"),
    "selfcond": ("dcgan-mnist", _selfcond(10, 1.0),
                 ("+ EMA 0.999, minibatch discrimination, self-conditioning on 10 k-means "
                  "clusters of the pixels (G/cluster term 1)")),
    "selfcond-w5": ("dcgan-mnist", _selfcond(10, 5.0),
                    "self-conditioning with the G/cluster term at 5, not 1"),
    "selfcond20-w5": ("dcgan-mnist", _selfcond(20, 5.0), "20 clusters, G/cluster term 5"),
    "selfcond50-w5": ("dcgan-mnist", _selfcond(50, 5.0), "50 clusters, G/cluster term 5"),
    "selfcond20-spectral": ("dcgan-mnist",
                            _selfcond(20, 5.0, **{"model.self_cond_method": "spectral"}),
                            "20 clusters, term 5, spectral clusters (kNN graph), not k-means"),
    "selfcond20-lr4": ("dcgan-mnist", _selfcond(20, 5.0, **{"g_opt.lr": 4e-4, "d_opt.lr": 4e-4}),
                       "20 clusters, term 5, lr 4e-4, not 2e-4: the preset `mnist-best`"),
    "selfcond20-lr6": ("dcgan-mnist", _selfcond(20, 5.0, **{"g_opt.lr": 6e-4, "d_opt.lr": 6e-4}),
                       "20 clusters, term 5, lr 6e-4"),
    "selfcond20-lr4-decay": ("dcgan-mnist",
                             _selfcond(20, 5.0, **{"g_opt.lr": 4e-4, "d_opt.lr": 4e-4,
                                                   "train.lr_schedule": "linear",
                                                   "train.lr_final": 0.1}),
                             "20 clusters, term 5, lr 4e-4 falling linearly to 4e-5"),
    "selfcond20-spectral-lr4": ("dcgan-mnist",
                                _selfcond(20, 5.0, **{"model.self_cond_method": "spectral",
                                                      "g_opt.lr": 4e-4, "d_opt.lr": 4e-4}),
                                "20 spectral clusters, term 5, lr 4e-4"),
    "selfcond20-lr4-emaramp": ("dcgan-mnist",
                               _selfcond(20, 5.0, **{"g_opt.lr": 4e-4, "d_opt.lr": 4e-4,
                                                     "train.ema": 0.99, "train.ema_final": 0.9995,
                                                     "train.lr_schedule": "linear",
                                                     "train.lr_final": 1.0}),
                               ("20 clusters, term 5, lr 4e-4 (constant), the EMA half-life "
                                "ramping from 69 to 1,386 steps")),
    "selfcond20-lr4-w2": ("dcgan-mnist", _selfcond(20, 2.0, **{"g_opt.lr": 4e-4, "d_opt.lr": 4e-4}),
                          "20 clusters, G/cluster term 2 (not 5), lr 4e-4"),
    "selfcond20-lr4-r1": ("dcgan-mnist",
                          _selfcond(20, 5.0, **{"g_opt.lr": 4e-4, "d_opt.lr": 4e-4,
                                                "loss.r1_gamma": 0.1, "loss.r1_every": 16,
                                                "train.steps": 3450}),
                          ("20 clusters, term 5, lr 4e-4, lazy R1 (gamma 0.1 every 16 steps), "
                           "3,450 steps: R1 makes a step 1.13x dearer (measured), so this row "
                           "spends ~10% more than 300 quiet CPU-s (equal CPU: ~3,140 steps)")),
    "infogan-ema": ("infogan-mnist", {"train.steps": 2680, "train.ema": 0.999},
                    "`infogan-mnist` + EMA 0.999"),
}


def evaluate(run: Path) -> dict:
    """`ganforge eval` of a run, 10,000 vs 10,000 in classifier features (cached in the run)."""
    out = run / "eval10k.json"
    if not out.is_file():
        cmd = [sys.executable, "-m", "ganforge", "eval", str(run), "--n", "10000",
               "--metrics", "fd,pr,modes", "--extractor", "classifier", "--data-dir",
               str(MNIST), "--split", "test", "--out", str(out), "--quiet", "--device", "cpu"]
        r = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if r.returncode != 0:
            raise SystemExit(f"eval {run}: exit {r.returncode}\n{r.stderr[-2000:]}")
    return json.loads(out.read_text())["scores"]


def run_row(name: str, seed: int, work: Path) -> dict:
    preset, overrides, _ = ROWS[name]
    out = work / f"{name}-s{seed}"
    cpu = _train(preset, out, {**DATA, **overrides, "train.seed": seed})
    steps = overrides.get("train.steps")
    sc = evaluate(out)
    row = {"row": name, "seed": seed, "cpu_s": cpu, "steps": steps, **sc}
    print(json.dumps(row), flush=True)
    return row


def table(rows: list[dict]) -> str:
    lines = [("| row | what | seeds | CPU-s | FD | precision | recall | classes | class KL "
              "| seeds meeting all targets |"), "|---|---|---|---|---|---|---|---|---|---|"]
    for name in dict.fromkeys(r["row"] for r in rows):
        rs = [r for r in rows if r["row"] == name]
        ok = sum(r["fd"] <= 10 and r["classes"] == 10 and r["kl"] <= 0.01 for r in rs)
        cells = [mean_sd([r[k] for r in rs], d) for k, d in
                 (("cpu_s", 0), ("fd", 1), ("precision", 2), ("recall", 2), ("classes", 1),
                  ("kl", 3))]
        seeds = [r["seed"] for r in rs]
        n = str(len(rs)) if seeds == list(range(len(rs))) else \
            f"{len(rs)} (seed {', '.join(map(str, seeds))})"
        lines.append(f"| {name} | {ROWS[name][2]} | {n} | " + " | ".join(cells)
                     + f" | {ok} of {len(rs)} |")
    return "\n".join(lines) + "\n"


READING = """
## Reading

- **Target missed, narrowly.** `mnist-best` (the `selfcond20-lr4` row) reaches FD 9.9, 12.2
  and 11.2 (seeds 0-2) where the target is <= 10, keeps all 10 classes in every seed, and has
  class KL 0.005, 0.014 and 0.009 where the target is <= 0.01: **1 of 3 seeds meets the whole
  target** (seed 0); the mean FD misses by 1.1. It is 7 times better than `dcgan-mnist` at the
  same CPU (FD 80.6, KL 0.141), and better than the conditional presets of the issue's table
  (cgan-mnist 15.2, infogan-mnist 13.8), without labels.
- **What earned what** (seed 0 unless said): self-conditioning on 10 k-means clusters with
  minibatch discrimination and EMA: FD 80.6 -> 15.5, but class KL 0.037; the G/cluster term
  at 5 instead of 1 on 10 clusters: 18.6, KL 0.040 (no gain); 20 clusters with the term at 5:
  15.1 +- 2.7 over 3 seeds, KL 0.011 (balance and sharpness up: precision 0.77); lr 4e-4
  instead of 2e-4 on top: 11.1 +- 1.1 over 3 seeds, KL 0.009; 50 clusters: FD 13.3, precision
  0.89 but recall 0.27 (each cluster too narrow); spectral clusters instead of k-means: 15.1,
  KL 0.002 (better balance, no better FD). InfoGAN with EMA at its equal-CPU 2,680 steps: FD
  16.4, KL 0.010, the best recall (0.85).
- **Tuning on top of `mnist-best` did not close the gap.** On seed 1, the preset's worst (FD
  12.2, KL 0.014): lr 6e-4 gave FD 11.3 but KL 0.018; lr 4e-4 falling linearly to 4e-5, 16.9;
  the EMA half-life ramping from 69 to 1,386 steps, 14.8; spectral clusters, 14.9 with KL
  0.003. Single-seed differences of 2-3 FD are what any change to the trajectory does here
  (the three seeds of one config span 9.9-12.2), so none of these is a better preset.
- **`dcgan-mnist` is left as it is.** An EMA of G (0.999) does not help it at this budget: FD
  85.7 against 80.6, class KL 0.149 against 0.141 (seed 0). Its gap is class balance (partial
  collapse), which averaging weights does not fix; what fixes it (self-conditioning, minibatch
  discrimination) would change what the preset is, and is `mnist-best`.
- **On Stacked MNIST** (docs/modes.md): `mnist-best`'s additions to self-conditioning (lr
  4e-4, EMA 0.999) on top of `stacked-mnist-best` lower its KL at 300 CPU-s from 0.109 to
  0.092 (seeds 0-2, lower on each, all 1,000 modes); the 0.05 target is not reached at 300 s.
- **Not tried for lack of CPU time**: the RpGAN baseline at this budget (rpgan-mnist's
  r3gan nets take ~0.3 s a step here, ~1,000 steps in 300 s), and batch-size changes on top
  of self-conditioning.
- The CPU-s column is what each run used on a machine shared with 3-4 other jobs (about 1.4
  times its quiet cost); the steps are the quiet-machine budget, see the script's ROWS.
"""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", default=",".join(ROWS),
                   help="names, each may end in :SEEDS (seeds 0..SEEDS-1) or :FIRST-LAST")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--work", default="/tmp/ganforge-bench-mnist-best2")
    p.add_argument("--out", default=str(ROOT / "docs" / "mnist-best.md"))
    a = p.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    jobs = []
    for spec in a.rows.split(","):  # name, name:seeds or name:first-last
        n, _, k = spec.partition(":")
        if n not in ROWS:
            raise SystemExit(f"unknown row {n!r}; rows: {', '.join(ROWS)}")
        first, _, last = k.partition("-")
        seeds = range(int(first), int(last) + 1) if last else range(int(k) if k else a.seeds)
        jobs += [(n, s) for s in seeds]
    with ThreadPoolExecutor(a.workers) as pool:
        rows = list(pool.map(lambda j: run_row(j[0], j[1], work), jobs))
    md = table(rows)
    print(md)
    if a.out:
        Path(a.out).write_text(
            "# The best unconditional MNIST preset at 300 CPU-seconds\n\n"
            f"Produced by `{command_line()}`. {machine_note()}\n\n" + (__doc__ or "") + "\n"
            + md + READING)
    return 0


if __name__ == "__main__":
    sys.exit(main())
