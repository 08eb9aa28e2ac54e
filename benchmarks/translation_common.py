"""What the image-to-image benchmarks share: training runs in parallel processes, the held-out
translations, and the tables they write to docs/.

Every run is `ganforge train --preset P --set ...` in its own process on one CPU thread; a run's
cost is the CPU-seconds its process used; `--workers` runs go at once (one per core).
"""

from __future__ import annotations

import math
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT.parent / "shared" / "data" / "mnist"


def train(preset: str, out: Path, overrides: dict) -> float:
    """Train `preset` with `overrides` into `out` (skipped when a finished run is there);
    returns the CPU-seconds (user + system) the run's process used, which other work on the
    machine does not inflate as it does wall time."""
    done = out / "done.txt"
    sets = {"train.threads": 1, "train.device": "cpu", **overrides}
    if done.is_file():
        _same_config(out, preset, sets)
        return float(done.read_text())
    cmd = [sys.executable, "-m", "ganforge", "train", "--preset", preset, "--out", str(out),
           "--quiet", *[f"--set={k}={v}" for k, v in sets.items()]]
    if (out / "checkpoints").exists():  # an interrupted run: continue it
        cmd = [sys.executable, "-m", "ganforge", "train", "--resume", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{preset} -> {out}: exit {proc.returncode}\n{err[-2000:]}")
    secs = usage.ru_utime + usage.ru_stime
    done.write_text(f"{secs:.1f}")
    return secs


def train_all(jobs: list[tuple[str, Path, dict]], workers: int) -> list[float]:
    """Every (preset, out, overrides) job, `workers` at a time, with a line per finished run."""
    def one(job):
        secs = train(*job)
        print(f"  trained {job[1].name}: {secs:.0f} s", flush=True)
        return secs

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, jobs))


def _same_config(out: Path, preset: str, sets: dict) -> None:
    """A finished run is reused only if it was trained with the config asked for now (a preset
    changed since would otherwise be scored under its new name)."""
    import json

    from ganforge.config import from_dict
    from ganforge.presets import preset_config

    want = preset_config(preset, sets).to_dict()
    have = from_dict(json.loads((out / "config.json").read_text())).to_dict()
    diff = [f"{sec}.{k}" for sec in want if isinstance(want[sec], dict)
            for k in want[sec] if have.get(sec, {}).get(k) != want[sec][k]]
    if diff:
        raise SystemExit(f"{out}: a finished run of another config ({', '.join(diff[:3])} "
                         "differ); remove it or pass another work folder")


@torch.no_grad()
def translate_batch(net, x: torch.Tensor, batch: int = 250) -> torch.Tensor:
    """net on images [N, C, H, W] of one size, in batches, clamped to [-1, 1] (what
    `ganforge translate` computes for an image no larger than its tile)."""
    return torch.cat([net(b).clamp(-1, 1) for b in x.split(batch)])


def mean_sd(values: list[float], digits: int = 3) -> str:
    """'mean ± sd (n)' over seeds (sample sd; n = 1 prints the value)."""
    vals = [v for v in values if not math.isnan(v)]
    if len(vals) == 1:
        return f"{vals[0]:.{digits}f}"
    return f"{statistics.mean(vals):.{digits}f} ± {statistics.stdev(vals):.{digits}f}"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def write_doc(name: str, text: str) -> Path:
    path = ROOT / "docs" / name
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    print(f"wrote {path}")
    return path


def command_line() -> str:
    return "python " + " ".join([os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]])


def machine_note() -> str:
    return (f"{os.cpu_count()} CPU cores, torch {torch.__version__}, one thread per run; "
            f"measured {time.strftime('%Y-%m-%d')}")
