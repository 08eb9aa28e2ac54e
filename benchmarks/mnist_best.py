"""The best unconditional MNIST preset at 300 CPU-seconds, and what each part of it earned.

Each row is a preset with overrides, trained on one CPU thread on the MNIST test split (the
data on hand) for the steps that 300 CPU-s buy on a quiet machine (see ROWS; the CPU-s column
is what each run used, more when the machine was busy), then scored by
`ganforge eval` on 10,000 samples of the sampling G (EMA when kept) against the 10,000 real
digits, in ganforge's MNIST classifier features: FD, precision/recall (k=3), classes with
>= 1% of the samples, KL of the class histogram to the real one. No labels reach any row's
training: `self_cond` clusters the pixels, InfoGAN learns its own codes.

    python benchmarks/mnist_best.py --seeds 1 --rows dcgan:3,dcgan-ema,dcgan-r1,dcgan-lr4-r1:3,\
        selfcond,selfcond-w5,\
        selfcond20-w5:3,selfcond20-lr4:3,selfcond20-spectral,selfcond50-w5,infogan-ema,\
        selfcond20-lr6:1-1,selfcond20-lr4-decay:1-1,selfcond20-spectral-lr4:1-1,\
        selfcond20-lr4-emaramp:1-1,selfcond20-lr4-w2:3,selfcond20-lr4-r1:3,\
        selfcond20-lr4-r1-eq:3,selfcond20-lr4-r1-w10:3,selfcond20-spectral-lr4-r1:3,\
        selfcond20-spectral-lr4-r1-w2:3,selfcond20-spectral-lr4-r1-w1:3  # docs/mnist-best.md
    python benchmarks/mnist_best.py --cost dcgan,selfcond20-lr4,selfcond20-spectral-lr4-r1-w1 \
        --cost-rounds 10  # CPU per step, interleaved, and the steps in the paper DCGAN's 300 s
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from step_cost import REFERENCE, budget_table, interleaved_costs, reference_overrides
from translation_common import MNIST, ROOT, command_line, machine_note, mean_sd
from translation_common import train as _train

DATA = reference_overrides(str(MNIST))  # MNIST's test split, offline, no pictures, one thread
# Steps: what 300 CPU-s buy on this machine when it is quiet. The quiet measurement gave
# dcgan-mnist (now dcgan-mnist-paper) 4,860 steps in 300 s; the others are scaled by their CPU-s
# per step relative to it, measured side by side in a first sweep (self-conditioning with minibatch
# discrimination x1.37, InfoGAN's Q head and codes x1.81); in the table's runs, made side by
# side, the self-conditioned rows' 3,550 steps used the CPU of its 4,860.


def _selfcond(clusters: int, weight: float, **extra) -> dict:
    """dcgan-mnist-paper self-conditioned on `clusters` k-means clusters (G/cluster term `weight`),
    with minibatch discrimination and EMA 0.999, at the 3,550 steps of 300 quiet CPU-s."""
    return {"train.steps": 3550, "train.ema": 0.999, "model.minibatch_disc": True,
            "model.self_cond": clusters, "loss.self_cond_weight": weight, **extra}


def _r1(weight: float, *, spectral: bool = False) -> dict:
    """20 clusters (k-means or spectral), lr 4e-4 and lazy R1 (gamma 0.1 every 16 steps) at
    3,140 steps: the 300 quiet CPU-s of the k-means recipe's 3,550 at R1's 1.13x per step."""
    method = {"model.self_cond_method": "spectral"} if spectral else {}
    return _selfcond(20, weight, **{**method, "g_opt.lr": 4e-4, "d_opt.lr": 4e-4,
                                    "loss.r1_gamma": 0.1, "loss.r1_every": 16,
                                    "train.steps": 3140})


# name: (preset, overrides, what it adds)
ROWS: dict[str, tuple[str, dict, str]] = {
    "dcgan": (REFERENCE[0], {"train.steps": REFERENCE[1]},
              "`dcgan-mnist-paper`: the paper's settings (`dcgan-mnist` until 2026-11-30)"),
    "dcgan-ema": (REFERENCE[0], {"train.steps": REFERENCE[1], "train.ema": 0.999},
                  "the paper's settings + EMA 0.999 of G (sampled from the average)"),
    # the DCGAN's nets and loss kept, trained better; R1's 1.13x per step (measured on the
    # self-conditioned recipe) leaves ~4,300 of the 4,860 steps
    "dcgan-r1": ("dcgan-mnist-paper",
                 {"train.steps": 4300, "loss.r1_gamma": 0.1, "loss.r1_every": 16},
                 "the paper's settings + lazy R1 (gamma 0.1 every 16 steps), 4,300 steps"),
    "dcgan-lr4-r1": ("dcgan-mnist", {"train.steps": 4300},
                     ("+ lazy R1 and lr 4e-4 (not 2e-4), 4,300 steps: the preset "
                      "`dcgan-mnist` since 2026-11-30")),
    "selfcond": ("dcgan-mnist-paper", _selfcond(10, 1.0),
                 ("+ EMA 0.999, minibatch discrimination, self-conditioning on 10 k-means "
                  "clusters of the pixels (G/cluster term 1)")),
    "selfcond-w5": ("dcgan-mnist-paper", _selfcond(10, 5.0),
                    "self-conditioning with the G/cluster term at 5, not 1"),
    "selfcond20-w5": ("dcgan-mnist-paper", _selfcond(20, 5.0), "20 clusters, G/cluster term 5"),
    "selfcond50-w5": ("dcgan-mnist-paper", _selfcond(50, 5.0), "50 clusters, G/cluster term 5"),
    "selfcond20-spectral": ("dcgan-mnist-paper",
                            _selfcond(20, 5.0, **{"model.self_cond_method": "spectral"}),
                            "20 clusters, term 5, spectral clusters (kNN graph), not k-means"),
    "selfcond20-lr4": ("dcgan-mnist-paper", _selfcond(20, 5.0, **{"g_opt.lr": 4e-4, "d_opt.lr": 4e-4}),
                       "20 clusters, term 5, lr 4e-4, not 2e-4: `mnist-best` until 2026-11-30"),
    "selfcond20-lr6": ("dcgan-mnist-paper", _selfcond(20, 5.0, **{"g_opt.lr": 6e-4, "d_opt.lr": 6e-4}),
                       "20 clusters, term 5, lr 6e-4"),
    "selfcond20-lr4-decay": ("dcgan-mnist-paper",
                             _selfcond(20, 5.0, **{"g_opt.lr": 4e-4, "d_opt.lr": 4e-4,
                                                   "train.lr_schedule": "linear",
                                                   "train.lr_final": 0.1}),
                             "20 clusters, term 5, lr 4e-4 falling linearly to 4e-5"),
    "selfcond20-spectral-lr4": ("dcgan-mnist-paper",
                                _selfcond(20, 5.0, **{"model.self_cond_method": "spectral",
                                                      "g_opt.lr": 4e-4, "d_opt.lr": 4e-4}),
                                "20 spectral clusters, term 5, lr 4e-4"),
    "selfcond20-lr4-emaramp": ("dcgan-mnist-paper",
                               _selfcond(20, 5.0, **{"g_opt.lr": 4e-4, "d_opt.lr": 4e-4,
                                                     "train.ema": 0.99, "train.ema_final": 0.9995,
                                                     "train.lr_schedule": "linear",
                                                     "train.lr_final": 1.0}),
                               ("20 clusters, term 5, lr 4e-4 (constant), the EMA half-life "
                                "ramping from 69 to 1,386 steps")),
    "selfcond20-lr4-w2": ("dcgan-mnist-paper", _selfcond(20, 2.0, **{"g_opt.lr": 4e-4, "d_opt.lr": 4e-4}),
                          "20 clusters, G/cluster term 2 (not 5), lr 4e-4"),
    "selfcond20-lr4-r1": ("dcgan-mnist-paper",
                          _selfcond(20, 5.0, **{"g_opt.lr": 4e-4, "d_opt.lr": 4e-4,
                                                "loss.r1_gamma": 0.1, "loss.r1_every": 16,
                                                "train.steps": 3450}),
                          ("20 clusters, term 5, lr 4e-4, lazy R1 (gamma 0.1 every 16 steps), "
                           "3,450 steps: R1 makes a step 1.13x dearer (measured), so this row "
                           "spends ~10% more than 300 quiet CPU-s (equal CPU: ~3,140 steps)")),
    "selfcond20-lr4-r1-eq": ("dcgan-mnist-paper", _r1(5.0), ("the same lazy R1 at 3,140 steps, the "
                                                        "300 quiet CPU-s of the preset's 3,550 "
                                                        "divided by R1's 1.13x")),
    "selfcond20-spectral-lr4-r1": ("dcgan-mnist-paper", _r1(5.0, spectral=True),
                                   ("20 spectral clusters (for balance), term 5, lr 4e-4, lazy "
                                    "R1 (for FD), 3,140 steps")),
    "selfcond20-lr4-r1-w10": ("dcgan-mnist-paper", _r1(10.0),
                              "k-means clusters, lazy R1, G/cluster term 10 (not 5), 3,140 steps"),
    "selfcond20-spectral-lr4-r1-w2": ("dcgan-mnist-paper", _r1(2.0, spectral=True),
                                      ("spectral clusters, lazy R1, G/cluster term 2 (not 5), "
                                       "3,140 steps")),
    "selfcond20-spectral-lr4-r1-w1": ("dcgan-mnist-paper", _r1(1.0, spectral=True),
                                      ("spectral clusters, lazy R1, G/cluster term 1, "
                                       "3,140 steps: the preset `mnist-best`")),
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

- **Target met in 3 of 3 seeds** by `mnist-best` (the `selfcond20-spectral-lr4-r1-w1` row):
  FD 7.0, 9.5 and 7.6 (target <= 10), all 10 classes, class KL 0.0013, 0.0024 and 0.0022
  (target <= 0.01), in 3,140 steps on one thread. The budget is the issue's: 300 quiet CPU-s
  bought the paper's DCGAN (`dcgan-mnist-paper`, the issue's `dcgan-mnist`) 4,860 steps.
  Measured interleaved in one process (`--cost
  dcgan,selfcond20-lr4,selfcond20-spectral-lr4-r1-w1`), a step of the preset costs 1.34x one
  of the paper's DCGAN (0.127 against 0.094 CPU-s, 10 s of set-up for the clusters), so the
  budget holds 3,536 of its steps; the k-means recipe's is 1.24x (3,860; it took 3,550). On
  this day's slower, shared machine the runs' own CPU-s (the column) were higher for every
  row alike. It is 10 times better than
  the paper's DCGAN at the same CPU (FD 86.8, KL 0.145 over seeds 0-2), and better than the
  conditional presets of the issue's table (cgan-mnist 15.2, infogan-mnist 13.8), without
  labels.
- **The last three parts, each over 3 seeds** (2026-11-30): lazy R1 (gamma 0.1 every 16
  steps) lowers FD on every seed (k-means recipe at equal CPU, 3,140 steps: 7.2, 7.0, 9.3
  against 9.9, 12.2, 11.2) but leaves class KL at 0.006-0.012 (1 of 3 seeds); spectral
  clusters instead of k-means bring KL to 0.001-0.003 on every seed, but with the G/cluster
  term at 5 FD rises again (7.8, 10.2, 11.1: 1 of 3); lowering the term to 2 (5.3, 10.8, 6.3:
  2 of 3) and then 1 keeps the spectral balance and gives back the FD (3 of 3). With k-means
  clusters, a stronger term (10) does not fix the balance (KL 0.008-0.013). The preset was
  picked after these tries on the same seeds 0-2, and seed 1's FD 9.5 is near the line: a
  new seed may land on either side of it.
- **`mnist-best` until 2026-11-30** (the `selfcond20-lr4` row, k-means clusters, term 5, no
  R1): FD 9.9, 12.2, 11.2, KL 0.005, 0.014, 0.009: 1 of 3 seeds.
- **What earned what** (seed 0 unless said): self-conditioning on 10 k-means clusters with
  minibatch discrimination and EMA: FD 80.6 -> 15.5, but class KL 0.037; the G/cluster term
  at 5 instead of 1 on 10 clusters: 18.6, KL 0.040 (no gain); 20 clusters with the term at 5:
  15.1 +- 2.7 over 3 seeds, KL 0.011 (balance and sharpness up: precision 0.77); lr 4e-4
  instead of 2e-4 on top: 11.1 +- 1.1 over 3 seeds, KL 0.009; 50 clusters: FD 13.3, precision
  0.89 but recall 0.27 (each cluster too narrow); spectral clusters instead of k-means: 15.1,
  KL 0.002 (better balance, no better FD). InfoGAN with EMA at its equal-CPU 2,680 steps: FD
  16.4, KL 0.010, the best recall (0.85).
- **Tuning the k-means recipe without R1 did not close the gap.** On seed 1, its worst (FD
  12.2, KL 0.014): lr 6e-4 gave FD 11.3 but KL 0.018; lr 4e-4 falling linearly to 4e-5, 16.9;
  the EMA half-life ramping from 69 to 1,386 steps, 14.8; spectral clusters, 14.9 with KL
  0.003. Single-seed differences of 2-3 FD are what any change to the trajectory does here
  (the three seeds of one config span 9.9-12.2), so none of these was a better preset.
- **`dcgan-mnist` is now the DCGAN trained better** (2026-11-30): the same nets and loss, lr
  4e-4 (not the paper's 2e-4) and lazy R1 (gamma 0.1 every 16 steps). At equal CPU (4,300
  steps against 4,860; the runs' own CPU-s 428-442 against 420-482), over seeds 0-2: FD 34.5,
  35.4, 47.8 against 80.6, 87.5, 92.3, class KL 0.032, 0.033, 0.051 against 0.141, 0.157,
  0.138; recall up (0.83 against 0.72 on average), precision level (0.47 against 0.46). R1
  alone (seed 0) gives FD 48.9, KL 0.049: most of the gain. The paper's settings stay as
  `dcgan-mnist-paper`, the base of every DCGAN row here and of the family, small-data and
  speed benchmarks. An EMA of G (0.999) does not help the paper's DCGAN at this budget: FD
  85.7 against 80.6, class KL 0.149 against 0.141 (seed 0). What fixes the rest of the class
  balance (self-conditioning, minibatch discrimination) would change what the preset is, and
  is `mnist-best`.
- **The `digits` default takes the same two changes** (2026-11-30): lr 4e-4 and lazy R1, 3,600
  steps instead of 4,000 (they used 59-69 CPU-s against the former preset's 67-73). Scored by
  `ganforge eval RUN --n 1797 --metrics fd,pr,modes --extractor classifier --split all` (the
  digits' own classifier, against all 1,797 digits), seeds 0-2: FD 9.3, 12.1, 10.2 against
  10.8, 12.4, 14.1, class KL 0.029, 0.032, 0.040 against 0.030, 0.047, 0.067. Made by `ganforge
  train --preset digits --set train.seed=S --set train.threads=1 --set train.diagnose=false`,
  once with `--set g_opt.lr=2e-4 --set d_opt.lr=2e-4 --set loss.r1_gamma=0 --set
  loss.r1_every=1 --steps 4000` (the
  former preset); at 4,000 steps the new settings scored 9.3, 11.8, 10.0 for 76-80 CPU-s.
- **On Stacked MNIST** (docs/modes.md): the k-means recipe's additions to self-conditioning (lr
  4e-4, EMA 0.999) on top of `stacked-mnist-best` lower its KL at 300 CPU-s from 0.109 to
  0.092 (seeds 0-2, lower on each, all 1,000 modes) on the slower machine's 300 s (~1,900 steps).
  The whole recipe (those two, lazy R1 and the G/cluster term at 1; its clusters are already
  spectral) does not carry over: at equal CPU (1,700 steps against 1,847; docs/modes.md), KL
  0.142, 0.122, 0.143 against 0.102, 0.124, 0.138, all 1,000 modes on every run. At the
  issue's 300 CPU-s carried over in steps (2,905; `benchmarks/modes.py --cost`),
  `stacked-mnist-short` (lr 5e-4, EMA 0.998, G/cluster 10) keeps all 1,000 modes with KL 0.044
  +- 0.004 over seeds 0-8 against `stacked-mnist-best`'s 0.086 +- 0.006 (seeds 0-5): the 0.05
  target on 9 of 9 seeds, of which 6-8 were run after the settings were picked (0.041, 0.041,
  0.042).
- **Not tried for lack of CPU time**: the RpGAN baseline at this budget (rpgan-mnist's
  r3gan nets take ~0.3 s a step here, ~1,000 steps in 300 s), and batch-size changes on top
  of self-conditioning.
- The CPU-s column is what each run used on a machine shared with 3-4 other jobs (about 1.4
  times its quiet cost); the steps are the quiet-machine budget, see the script's ROWS.
"""


def print_step_costs(names: list[str], rounds: int) -> None:
    """Print each row's CPU per step, measured interleaved with the others (step_cost.py), and
    the steps it can take in the CPU that the first row's ROWS steps use."""
    from ganforge.presets import preset_config

    configs = {n: preset_config(ROWS[n][0], {**DATA, **ROWS[n][1]}) for n in names}
    print(budget_table(interleaved_costs(configs, rounds), ref=names[0],
                       ref_steps=ROWS[names[0]][1]["train.steps"]))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cost", metavar="ROWS", help="comma-separated rows: measure their CPU per "
                   "step, interleaved, against the first (no training runs, no doc)")
    p.add_argument("--cost-rounds", type=int, default=12)
    p.add_argument("--rows", default=",".join(ROWS),
                   help="names, each may end in :SEEDS (seeds 0..SEEDS-1) or :FIRST-LAST")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--work", default="/tmp/ganforge-bench-mnist-best2")
    p.add_argument("--out", default=str(ROOT / "docs" / "mnist-best.md"))
    a = p.parse_args()
    if a.cost:
        print_step_costs(a.cost.split(","), a.cost_rounds)
        return 0
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
