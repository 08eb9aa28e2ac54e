"""Stacked MNIST for benchmarks/modes.py: runs at a fixed CPU budget or step count, mode counts
over 1,000 (three MNIST digits stacked as channels, each channel read by the cached MNIST domain
classifier), the real-data floor, the step-cost table, and the markdown table.

    python benchmarks/modes.py --dataset stacked --seeds 3 --data-dir ../shared/data/mnist
    python benchmarks/modes.py --dataset stacked --configs best --cost 8
"""

from __future__ import annotations

import time
from pathlib import Path

from fit_guard import fit_to_end
from rows import emit, mean_std

# Stacked MNIST's step count comes from timing PROBE_STEPS steps after PROBE_WARMUP untimed ones.
# Timing the first 20 from step 0 overcharged lazy R1 (steps 0 and 16 both pay it: 2 in 20, not
# 1 in 16) and the first calls' allocations: mnist-best's recipe got 734 steps, 142 of 300 CPU-s.
# 48 is a multiple of every lazy interval the presets use (4, 8, 16).
PROBE_WARMUP, PROBE_STEPS = 4, 48

PUBLISHED = {  # PacGAN (Lin et al. 2018), Stacked MNIST: modes of 1,000 / (no quality) / KL
    "DCGAN (paper)": (99, None, 3.4),
    "PacDCGAN4 (paper)": (1000, None, 0.07),
    "VEEGAN (paper)": (150, None, 2.95),
}


def count_stacked_modes(trainer, *, n: int, seed: int) -> dict:
    """Modes of 1,000 and KL to uniform: each channel of n samples classified by the cached MNIST
    domain classifier (ganforge.metrics.classifier), mode = 100 c_R + 10 c_G + c_B."""
    import torch

    from ganforge.metrics.classifier import load_or_train
    from ganforge.metrics.modes import stacked_mode_stats

    clf = load_or_train(trainer.data.base)
    g = trainer.sample_net().eval()
    z = trainer.prior(n, torch.Generator().manual_seed(20_000 + seed), device="cpu")
    with torch.no_grad():
        x = torch.cat([g(c.to(trainer.device)).cpu() for c in z.split(1000)])
    digits = [clf.predict(x[:, i : i + 1]) for i in range(3)]
    return stacked_mode_stats(100 * digits[0] + 10 * digits[1] + digits[2])


def stacked_real(args, seed: int) -> list[dict]:
    """The protocol's floor: 26,000 real stacked digits scored like generated ones (`real data`:
    each channel classified; `real labels`: the true digits, so only the sampling noise of a
    finite draw from a uniform 1,000-mode source remains)."""
    import torch

    from ganforge.data.stacked import STACKED_EVAL_SAMPLES
    from ganforge.metrics.classifier import load_or_train
    from ganforge.metrics.modes import stacked_mode_stats
    from ganforge.presets import preset_config
    from ganforge.training.trainer import load_data

    data = load_data(preset_config("stacked-mnist-dcgan", {"data.data_dir": args.data_dir}))
    batch = data.sample(STACKED_EVAL_SAMPLES, torch.Generator().manual_seed(20_000 + seed))
    clf = load_or_train(data.base)
    digits = [clf.predict(batch.x[:, i : i + 1]) for i in range(3)]
    pred = stacked_mode_stats(100 * digits[0] + 10 * digits[1] + digits[2])
    true = stacked_mode_stats(batch.y)
    base = {"dataset": "stacked", "seed": seed, "steps": 0, "budget_s": 0, "cpu_s": 0.0}
    return [{**base, "config": "real data", **pred}, {**base, "config": "real labels", **true}]


def probe_steps(preset: str, base: dict, args) -> int:
    """Steps that fill 90% of `args.budget` CPU-s, from timing PROBE_STEPS steps of the config
    after PROBE_WARMUP untimed ones (step_cost.py)."""
    from step_cost import interleaved_costs

    from ganforge.presets import preset_config

    cfg = preset_config(preset, base)
    per_step = interleaved_costs({preset: cfg}, 1, chunk=PROBE_STEPS, warmup=PROBE_WARMUP)[preset][1]
    return max(100, int(args.budget / per_step * 0.9))


def stacked(args) -> list[dict]:
    """Stacked MNIST at a fixed CPU budget: steps from a timed probe (`PROBE_STEPS`); the config
    `real` scores real data instead (`stacked_real`)."""
    import torch

    from ganforge.data.stacked import STACKED_EVAL_SAMPLES
    from ganforge.presets import preset_config
    from ganforge.runner import make_trainer

    torch.set_num_threads(args.threads)
    rows = []
    names = _stacked_names(args)
    for seed in range(args.first_seed, args.first_seed + args.seeds) if "real" in names else ():
        for row in stacked_real(args, seed):
            rows.append(row)
            emit(row, args.out)
    presets = [f"stacked-mnist-{c}" for c in names if c != "real"]
    for preset in presets:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            base = _stacked_base(args, seed)
            if args.steps:  # fixed: equal CPU set from measured costs (the probe's is noisy)
                steps = args.steps
            else:
                steps = probe_steps(preset, base, args)
            cfg = preset_config(preset, {**base, "train.steps": steps})
            t0 = time.process_time()
            trainer = make_trainer(cfg, Path(args.workdir) / f"{preset}-s{seed}", quiet=True)
            fit_to_end(trainer)
            cpu = time.process_time() - t0
            st = count_stacked_modes(trainer, n=STACKED_EVAL_SAMPLES, seed=seed)
            rows.append(
                {
                    "dataset": "stacked",
                    "config": preset + args.tag,
                    "seed": seed,
                    "steps": steps,
                    "budget_s": args.budget,
                    "cpu_s": cpu,
                    **st,
                }
            )
            emit(rows[-1], args.out)
    return rows


def _stacked_names(args) -> list[str]:
    return (args.configs or "dcgan,pacgan").split(",")


def _stacked_base(args, seed: int) -> dict:
    """A Stacked MNIST run's overrides of its preset (`--set` last), as trained and as timed."""
    return {"data.data_dir": args.data_dir, "train.seed": seed, "train.threads": args.threads,
            "train.device": "cpu", "train.sample_every": 10**9, "train.checkpoint_every": 10**9,
            "train.tick": 500, **args.overrides}


def stacked_cost(args) -> None:
    """`--cost`: each `stacked-mnist-<config>` (with `--set`) against `dcgan-mnist-paper` on
    MNIST, CPU per step interleaved in one process on one thread (step_cost.py): the steps printed
    are those the issue's 300 CPU-s (the DCGAN's 4,860 steps there) buy, whatever this machine's
    speed."""
    from step_cost import REFERENCE, budget_table, interleaved_costs, reference_overrides

    from ganforge.presets import preset_config

    configs = {REFERENCE[0]: preset_config(REFERENCE[0], reference_overrides(args.data_dir))}
    for c in _stacked_names(args):
        configs[f"stacked-mnist-{c}{args.tag}"] = preset_config(
            f"stacked-mnist-{c}", {**_stacked_base(args, 0), "train.threads": 1})
    print(budget_table(interleaved_costs(configs, args.cost), ref=REFERENCE[0],
                       ref_steps=REFERENCE[1]))


def stacked_table(rows: list[dict]) -> str:
    """Markdown for Stacked MNIST rows: one line per (config, budget), means over seeds, and
    the target check (1,000 modes, KL <= 0.05, within 1,800 CPU-s)."""
    out = [
        "| config | seeds | CPU budget | steps | modes (of 1,000) | KL | seeds meeting target |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, (m, _, kl) in PUBLISHED.items():
        out.append(f"| {name} | | | | {m} | {kl} | |")
    for key in dict.fromkeys((r["config"], r.get("budget_s")) for r in rows):
        rs = [r for r in rows if (r["config"], r.get("budget_s")) == key]
        modes, kl, steps = (mean_std([r[k] for r in rs]) for k in ("modes", "kl", "steps"))
        ok = sum(r["modes"] == 1000 and r["kl"] <= 0.05 and r["cpu_s"] <= 1800 for r in rs)
        budget = f"{key[1]:.0f} s" if key[1] else ""
        steps_cell = f"{steps[0]:,.0f}" if steps[0] else ""
        out.append(
            f"| `{key[0]}` | {len(rs)} | {budget} | {steps_cell} | {modes[0]:.1f} ± {modes[1]:.1f}"
            f" | {kl[0]:.3f} ± {kl[1]:.3f} | {ok}/{len(rs)} |"
        )
    return "\n".join(out) + "\n"
