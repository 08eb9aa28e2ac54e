"""Start or resume a run: the trainer plus the tick callbacks its config asks for.

The trainer (training/) knows no callback by name; this is where they are chosen:
- `train.diagnose`: the live failure probes (diagnostics/live.py);
- `train.eval_every`: periodic evaluation, best checkpoint, early stopping (metrics/periodic.py);
- `train.drs_steps`: rejection sampling fitted after the last step (sampling/rejection.py).
The CLI, the benchmarks and scripts start runs through `make_trainer` / `resume_trainer`; a
bare `Trainer(cfg, run_dir)` trains with no callbacks.
"""

from __future__ import annotations

from pathlib import Path

from ganforge.config import Config
from ganforge.training.trainer import Trainer


def callbacks_for(cfg: Config) -> list:
    """The callback factories (`f(trainer) -> callback`) for `cfg`, in the order they run."""
    out = []
    if cfg.train.diagnose:
        from ganforge.diagnostics.live import Diagnostics

        out.append(Diagnostics)
    if cfg.train.eval_every:
        from ganforge.metrics.periodic import EvalCallback

        out.append(EvalCallback)
    if cfg.train.ada_target:
        from ganforge.training.ada import AdaptiveAugment

        out.append(AdaptiveAugment)
    if cfg.train.drs_steps:
        from ganforge.sampling.rejection import RejectionSampling

        out.append(RejectionSampling)
    return out


def make_trainer(cfg: Config, run_dir: str | Path, **kw) -> Trainer:
    """A new run of `cfg` in `run_dir`, with its callbacks."""
    return Trainer(cfg, run_dir, callbacks=callbacks_for(cfg), **kw)


def resume_trainer(run_dir: str | Path, *, overrides: dict | None = None, **kw) -> Trainer:
    """The run in `run_dir` at its latest checkpoint, with the callbacks of its config."""
    return Trainer.resume(run_dir, overrides=overrides, callbacks=callbacks_for, **kw)


def train(cfg: Config, run_dir: str | Path, **kw) -> dict:
    """Train `cfg` into `run_dir` from scratch; returns the trainer's summary."""
    return make_trainer(cfg, run_dir, **kw).fit()
