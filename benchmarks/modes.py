"""Mode-collapse benchmark: ring8 / grid25 (the PacGAN protocol) and Stacked MNIST.

For every remedy (on top of the vanilla GAN, `<dataset>-vanilla` preset) and the best
combination (`<dataset>-best`), train `--seeds` runs, one CPU thread each, `--jobs` at a time, and
score 2,500 samples (`--samples`) of the sampling G (EMA when kept) with `mixture_mode_stats`:
modes (>= 1 high-quality sample, the papers' count), strict modes (>= 20 per 2,500 samples),
high-quality share (within 3 std),
reverse KL, and the CPU seconds of the whole run (process time, diagnostics on, one snapshot).

    python benchmarks/modes.py --dataset ring8 --seeds 10 --jobs 2 --out results-ring8.jsonl
    python benchmarks/modes.py --table results-ring8.jsonl results-grid25.jsonl   # markdown
    python benchmarks/modes.py --dataset stacked --seeds 3 --data-dir ../shared/data/mnist

Stacked MNIST trains `stacked-mnist-<config>` (`--configs dcgan,pacgan,best`; `--set` and `--tag`
apply too) for a fixed CPU budget (`--budget` seconds, train.steps chosen from a timed probe) and
counts modes with the stacked MNIST domain classifier applied per channel
(benchmarks/stacked_modes.py), 26,000 samples. `--steps N` fixes the steps instead, and `--cost
ROUNDS` prints the steps that equal CPU allows: each config's CPU per step, measured side by side
with the paper DCGAN's (benchmarks/step_cost.py), in the CPU of the DCGAN's 4,860 steps, the
issue's 300 CPU-s. On ring8 / grid25, `--cost ROUNDS` times each config (with `--set`) against
the first config without `--set`, and prints the steps each can take in the CPU of that
reference's train.steps: how a change of loss or net is given equal CPU.

    python benchmarks/modes.py --dataset stacked --configs best --cost 8
    python benchmarks/modes.py --dataset grid25 --configs best --set loss.objective=gan \
        --tag ", GAN loss" --cost 40
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from fit_guard import fit_to_end
from rows import emit, mean_std
from stacked_modes import stacked, stacked_cost, stacked_table

REMEDIES = {
    "vanilla": {},
    "r1": {"loss.r1_gamma": 0.1},
    "wgan-gp": {"loss.objective": "wgan-gp", "train.d_steps": 5},
    "pack4": {"model.pack": 4},
    "mbstd": {"model.mbstd": True},
    "minibatch-disc": {"model.minibatch_disc": True},
    "feature-matching": {"loss.feature_matching": True},
    # Metz et al.'s setting: D ten times slower than G; `slow-d` is the same lr without unrolling
    "unrolled5": {"loss.unrolled_steps": 5, "d_opt.lr": 1e-4},
    "slow-d": {"d_opt.lr": 1e-4},
    "label-smoothing": {"loss.label_smoothing": 0.1},
    "instance-noise": {"loss.instance_noise": 0.1},
    "spectral-norm": {"model.spectral_norm": True},
    "ttur": {"g_opt.lr": 2e-4, "d_opt.lr": 1e-3},
    "ema": {"train.ema": 0.999},
    "topk": {"loss.topk": 0.5},  # Sinha et al. 2020: G learns from its best half of fakes
}

PAPER_SAMPLES = 2500  # samples scored per run in PacGAN's protocol
# `--cost` on ring8 / grid25 leaves this many steps of each config untimed: the first steps
# with a double-backward penalty cost about twice the later ones (allocation), which in 1,280
# timed steps would add 10-15% to the penalised config's cost.
WARMUP_2D = 256

PUBLISHED = {  # PacGAN (Lin et al. 2018), Tables 2 and 4: modes / high-quality % / reverse KL
    "ring8": {"GAN (paper)": (6.3, 98.2, 0.45), "PacGAN4 (paper)": (7.8, 95.9, 0.07)},
    "grid25": {"GAN (paper)": (17.3, 94.8, 0.70), "PacGAN4 (paper)": (24.8, 93.6, 0.04)},
}


def run_overrides(seed: int) -> dict:
    """What every ring8 / grid25 run sets on top of its preset, trained or timed: one CPU
    thread (a CPU benchmark, also on a machine with a GPU), the seed, no snapshots."""
    return {"train.threads": 1, "train.device": "cpu", "train.seed": seed,
            "train.sample_every": 10**9, "train.checkpoint_every": 10**9}


def run_one(job: dict) -> dict:
    """Train one configuration and score it; runs in a worker process with one thread."""
    import torch

    from ganforge.metrics import mixture_mode_stats
    from ganforge.presets import preset_config
    from ganforge.runner import make_trainer
    from ganforge.sampling.rejection import sample_points

    torch.set_num_threads(1)
    cfg = preset_config(job["preset"], {**run_overrides(job["seed"]), **job["overrides"]})
    out = Path(job["workdir"]) / f"{job['name']}-s{job['seed']}"
    t0 = time.process_time()
    trainer = make_trainer(cfg, out, quiet=True, log=lambda *a: None)
    fit_to_end(trainer)
    n = job["samples"]
    # the target's ">= 20 high-quality samples of 2,500" per mode, at the same rate for other n
    strict_min = math.ceil(20 * n / PAPER_SAMPLES)

    def score(rejection: bool) -> dict:
        gen = torch.Generator().manual_seed(10_000 + job["seed"])
        x = sample_points(trainer, n, gen, rejection=rejection)
        # KL against the layout's true weights (data.mode_weights; None: equal)
        return mixture_mode_stats(x, trainer.spec.modes, trainer.spec.mode_std,
                                  strict_min=strict_min, weights=trainer.spec.mode_weights)

    # with rejection sampling (train.drs_steps) the row scores its output, and G's own points too;
    # the CPU seconds include drawing the scored points, which rejection makes a cost
    st = score(True)
    cpu = time.process_time() - t0
    raw = score(False) if trainer.callback("rejection") is not None else None
    warnings = (
        [
            json.loads(ln)["condition"]
            for ln in (out / "events.jsonl").read_text().splitlines()
            if ln.strip()
        ]
        if (out / "events.jsonl").is_file()
        else []
    )
    return {
        "dataset": job["dataset"],
        "config": job["name"],
        "seed": job["seed"],
        "samples": n,
        "cpu_s": cpu,
        "modes": st["modes"],
        "modes_strict": st["modes_strict"],
        "high_quality": st["high_quality"],
        "reverse_kl": st["reverse_kl"],
        "min_count": min(st["counts"]),
        "warnings": warnings,
        **(
            {"g_alone": {k: raw[k] for k in ("modes", "modes_strict", "high_quality", "reverse_kl")}}
            if raw is not None else {}
        ),
    }


def config_names(args) -> list[str]:
    return args.configs.split(",") if args.configs else [*REMEDIES, "best"]


def preset_of(name: str, dataset: str) -> tuple[str, dict]:
    """A config name's preset and overrides, before `--set`: `best` is `<dataset>-best`, a
    remedy is `<dataset>-vanilla` plus that remedy."""
    if name == "best":
        return f"{dataset}-best", {}
    if name not in REMEDIES:
        sys.exit(f"unknown config {name!r}; choose from {', '.join([*REMEDIES, 'best'])}")
    return f"{dataset}-vanilla", dict(REMEDIES[name])


def jobs_for(args) -> list[dict]:
    jobs = []
    for name in config_names(args):
        preset, ov = preset_of(name, args.dataset)
        ov.update(args.overrides)
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            jobs.append(
                {
                    "dataset": args.dataset,
                    "name": name + args.tag,
                    "preset": preset,
                    "overrides": ov,
                    "seed": seed,
                    "workdir": args.workdir,
                    "samples": args.samples,
                }
            )
    return jobs


def table(rows: list[dict]) -> str:
    """Markdown: one line per (dataset, config), means over seeds, and the target check
    (every mode >= 20 high-quality samples, >= 97% high quality, reverse KL <= 0.02, <= 60 s)."""
    out = []
    # a run with rejection sampling also scored its G's own points: they get a line of their own
    rows = rows + [
        {**r, **r["g_alone"], "config": f"{r['config']}, G alone (no rejection)"}
        for r in rows if "g_alone" in r
    ]
    for ds in dict.fromkeys(r["dataset"] for r in rows):
        k = 8 if ds == "ring8" else 25
        # rows scored on different sample counts are never averaged together; the label says n
        groups: dict[tuple[str, int], list[dict]] = {}
        for r in rows:
            if r["dataset"] == ds:
                groups.setdefault((r["config"], r.get("samples", PAPER_SAMPLES)), []).append(r)
        n_txt = " or ".join(f"{n:,}" for n in sorted({n for _, n in groups}))
        out += [
            f"\n**{ds}** ({k} modes, {n_txt} samples; mean ± std over seeds)\n",
            (
                "| config | seeds | modes | strict modes | high quality % | reverse KL | CPU s "
                "| seeds meeting target |"
            ),
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, (m, hq, kl) in PUBLISHED.get(ds, {}).items():
            out.append(f"| {name} | 10 | {m} | | {hq} | {kl} | | |")
        for (cfg_key, n), rs in groups.items():
            cfgname = cfg_key if n == PAPER_SAMPLES else f"{cfg_key}, {n:,} samples"
            cells = []
            for key, scale, fmt in (
                ("modes", 1, ".1f"),
                ("modes_strict", 1, ".1f"),
                ("high_quality", 100, ".1f"),
                ("reverse_kl", 1, ".3f"),
                ("cpu_s", 1, ".0f"),
            ):
                m, s = mean_std([r[key] * scale for r in rs])
                cells.append(f"{m:{fmt}} ± {s:{fmt}}")
            ok = sum(
                r["modes_strict"] == k
                and r["high_quality"] >= 0.97
                and r["reverse_kl"] <= 0.02
                and r["cpu_s"] <= 60
                for r in rs
            )
            out.append(f"| {cfgname} | {len(rs)} | " + " | ".join(cells) + f" | {ok}/{len(rs)} |")
    return "\n".join(out) + "\n"


def point_cost(args) -> None:
    """`--cost` on ring8 / grid25: the first config without `--set` (its preset, plus its remedy
    unless it is `best`), then each config as it would train, CPU per step interleaved in one
    process on one thread (chunks of 32 steps: a multiple of every lazy-penalty interval the
    presets use)."""
    import torch
    from step_cost import budget_table, interleaved_costs

    from ganforge.presets import preset_config

    torch.set_num_threads(1)
    fixed = {**run_overrides(0), "train.diagnose": False}
    jobs = [j for j in jobs_for(args) if j["seed"] == args.first_seed]
    base = config_names(args)[0]
    ref_preset, ref_ov = preset_of(base, args.dataset)
    ref_name = ref_preset + ("" if base in ("best", "vanilla") else f" + {base}")
    configs = {ref_name: preset_config(ref_preset, {**fixed, **ref_ov})}
    for j in jobs:
        if args.overrides or j is not jobs[0]:
            configs[f"{j['preset']} ({j['name']})"] = preset_config(
                j["preset"], {**fixed, **j["overrides"]})
    ref_steps = configs[ref_name].train.steps
    costs = interleaved_costs(configs, args.cost, warmup=WARMUP_2D)
    print(budget_table(costs, ref=ref_name, ref_steps=ref_steps))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", choices=("ring8", "grid25", "stacked"), default="ring8")
    p.add_argument(
        "--configs",
        default="",
        help="comma-separated names (default: all + best; stacked: dcgan,pacgan)",
    )
    p.add_argument("--set", action="append", default=[], help="extra override key=value")
    p.add_argument("--tag", default="", help="suffix for config names (sweeps)")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--first-seed", type=int, default=0, help="extend earlier results: seeds N..")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument(
        "--samples",
        type=int,
        default=PAPER_SAMPLES,
        help="ring8/grid25: samples scored per run (2,500 in the papers; strict modes need 20 per 2,500)",
    )
    p.add_argument("--threads", type=int, default=2, help="stacked: torch threads")
    p.add_argument("--budget", type=float, default=1800.0, help="stacked: CPU seconds per run")
    p.add_argument("--steps", type=int, default=0,
                   help="stacked: train this many steps instead of the probe's count (equal CPU "
                        "set from measured step costs); --budget is still recorded")
    mnist = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
    p.add_argument("--data-dir", default=str(mnist))
    p.add_argument("--workdir", default="/tmp/ganforge-modes")
    p.add_argument("--out", default=None, help="append result rows (JSON lines) here")
    p.add_argument("--table", nargs="*", default=None, help="print the markdown table of files")
    p.add_argument("--cost", type=int, default=0, metavar="ROUNDS",
                   help="no training; print each config's CPU per step (one thread) in ROUNDS "
                        "interleaved chunks of 32 steps, and its steps at equal CPU: stacked, "
                        "against the paper DCGAN on MNIST in the issue's 300 CPU-s; ring8/grid25, "
                        "against the first config's preset as shipped, in its train.steps")
    args = p.parse_args(argv)
    if args.samples < 1:
        p.error(f"--samples {args.samples}: must be >= 1")
    if args.cost < 0 or args.seeds < 1:
        p.error(f"--cost {args.cost} / --seeds {args.seeds}: rounds and seeds must be >= 1")
    from ganforge.config import parse_set_args
    from ganforge.errors import ConfigError

    try:
        args.overrides = parse_set_args(args.set)  # one parse for point and stacked runs
    except ConfigError as e:
        p.error(str(e))
    if args.table is not None:
        rows = [json.loads(ln) for f in args.table for ln in Path(f).read_text().splitlines() if ln]
        stacked_rows = [r for r in rows if r["dataset"] == "stacked"]
        point_rows = [r for r in rows if r["dataset"] != "stacked"]
        if point_rows:
            print(table(point_rows))
        if stacked_rows:
            print(stacked_table(stacked_rows))
        return 0
    if args.dataset == "stacked" and args.cost:
        stacked_cost(args)
    elif args.dataset == "stacked":
        rows = stacked(args)
    elif args.cost:
        point_cost(args)
    else:
        rows = []
        with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as ex:
            for row in ex.map(run_one, jobs_for(args)):
                rows.append(row)
                emit(row, args.out)
        print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
