"""CPU per training step of several configs, measured side by side in one process.

The benchmarks' budgets are CPU-seconds of the machine the issue measured on: there the paper's
DCGAN (`dcgan-mnist-paper`) took 4,860 steps in 300 CPU-s. Another machine is faster or slower,
and a busy one slows every run, so a budget is carried over as a number of steps: each config's
CPU per step against the reference's, measured interleaved (a chunk of steps of each in turn, one
thread) so that whatever else runs on the machine weighs on all of them alike. Only training
steps and set-up are timed; ticks (diagnostics, previews) are not. Used by
benchmarks/mnist_best.py (`--cost`), benchmarks/stacked_modes.py (`modes.py --cost` on Stacked
MNIST, and its step probe) and benchmarks/modes.py (`--cost` on ring8 / grid25).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

# the measurement: dcgan-mnist-paper (then `dcgan-mnist`) took 4,860 steps in 300 CPU-s
REFERENCE = ("dcgan-mnist-paper", 4860)


def reference_overrides(data_dir: str) -> dict:
    """The reference's data and run settings, the same for every `--cost`: MNIST's test split
    from `data_dir`, no download, no diagnostics or pictures, one thread."""
    return {"data.data_dir": data_dir, "data.split": "test", "data.download": False,
            "train.diagnose": False, "train.sample_every": 10**6, "train.checkpoint_every": 10**6,
            "train.threads": 1}


def interleaved_costs(configs: dict, rounds: int, *, chunk: int = 32,
                      warmup: int = 0) -> dict[str, tuple[float, float]]:
    """{name: ganforge Config} -> {name: (set-up CPU-s, CPU-s per step)}, on the threads each
    config's train.threads sets (one for every `--cost`).

    Set-up is building the trainer (data, nets, self-conditioning's clusters); after `warmup`
    untimed steps of each (first calls allocate), steps are timed in `rounds` chunks of `chunk` (a
    multiple of lazy R1's interval 16, so each chunk pays it alike)."""
    from ganforge.runner import make_trainer

    if rounds < 1:
        raise ValueError(f"rounds={rounds}: must be >= 1")
    trainers, setup, run = {}, {}, dict.fromkeys(configs, 0.0)
    with tempfile.TemporaryDirectory() as tmp:
        for name, cfg in configs.items():
            t0 = time.process_time()
            trainers[name] = make_trainer(cfg, Path(tmp) / str(len(trainers)), quiet=True,
                                          log=lambda *a: None)
            setup[name] = time.process_time() - t0
        for tr in trainers.values():
            for _ in range(warmup):
                tr.train_step()
                tr.step += 1
        for _ in range(rounds):
            for name, tr in trainers.items():
                t0 = time.process_time()
                for _ in range(chunk):
                    tr.train_step()
                    tr.step += 1
                run[name] += time.process_time() - t0
    return {n: (setup[n], run[n] / (rounds * chunk)) for n in configs}


def budget_table(costs: dict[str, tuple[float, float]], *, ref: str, ref_steps: int) -> str:
    """Markdown: each config's set-up, CPU per step, ratio to `ref`, and the steps it can take in
    the CPU that `ref_steps` steps of `ref` (set-up included) use."""
    setup_ref, per_ref = costs[ref]
    budget = setup_ref + per_ref * ref_steps
    head = f"| config | set-up CPU-s | CPU-s per step | x {ref} | steps in {ref}'s {ref_steps:,} |"
    lines = [head, "|---|---|---|---|---|"]
    for name, (setup, per) in costs.items():
        lines.append(f"| {name} | {setup:.1f} | {per:.4f} | {per / per_ref:.3f} | "
                     f"{(budget - setup) / per:,.0f} |")
    return "\n".join(lines)
