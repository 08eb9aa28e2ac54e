"""When a run has diverged, by rule, so that no broken state is ever saved or reported as done.

A run has diverged when, at a tick or before a checkpoint:
1. a logged value (loss term or statistic) or a network weight is NaN or infinite;
2. a loss term or a weight is finite but beyond `train.max_loss` in size (1e6 by default): a
   learning rate of 1e6 sends G's loss to ~1e16 and every sample to the same stripes, without a
   single NaN;
3. D is saturated for `train.saturation_ticks` ticks in a row (20): the tick's mean D(x) above
   0.999 and D(G(z)) below 0.001, so G's gradient has vanished for good (objectives that log
   `D/p_real` and `D/p_fake`, i.e. the classic GAN).
The trainer then stops with a one-line message and a non-zero exit, or with
`train.on_divergence=rollback` reloads the last good checkpoint and continues with lower
learning rates (training/trainer.py).
"""

from __future__ import annotations

import math

import torch

from ganforge.errors import GanforgeError
from ganforge.training.checkpoint import newest_good_state


class TrainingDiverged(GanforgeError):
    """A run broke one of the divergence rules (see the module docstring)."""


SATURATED_REAL, SATURATED_FAKE = 0.999, 0.001


def worst_weight(nets: dict[str, torch.nn.Module]) -> tuple[str, float] | None:
    """(network, largest |weight|) over all networks' parameters and float buffers, as a float
    (nan when some value is NaN); None for networks without parameters. One host sync."""
    worst = None
    for name, net in nets.items():
        ts = [t.detach() for t in [*net.parameters(), *net.buffers()] if t.is_floating_point()]
        if not ts:
            continue
        m = torch.stack([t.abs().max() if t.numel() else t.new_zeros(()) for t in ts]).max()
        if torch.isnan(m):
            return name, float("nan")
        v = float(m)
        if worst is None or v > worst[1]:
            worst = (name, v)
    return worst


def check_weights(nets: dict[str, torch.nn.Module], step: int, max_abs: float) -> None:
    """Rules 1 and 2 for the weights; raises TrainingDiverged naming the network."""
    worst = worst_weight(nets)
    if worst is None:
        return
    name, v = worst
    if not math.isfinite(v) or v > max_abs:
        what = "not finite" if not math.isfinite(v) else f"|weight| {v:.3g} > train.max_loss"
        raise TrainingDiverged(f"training diverged at step {step}: {name} weights {what}")


class HealthCheck:
    """The per-tick rules on the logged values; holds the saturation streak (reset on resume,
    rebuilt from the log by `replay`)."""

    def __init__(self, max_loss: float, saturation_ticks: int) -> None:
        self.max_loss, self.window = float(max_loss), int(saturation_ticks)
        self.streak = 0

    def saturated(self, values: dict) -> bool:
        pr, pf = values.get("D/p_real"), values.get("D/p_fake")
        return pr is not None and pf is not None and pr > SATURATED_REAL and pf < SATURATED_FAKE

    def replay(self, records: list[dict]) -> None:
        for rec in records:
            self.streak = self.streak + 1 if self.saturated(rec) else 0

    def check(self, values: dict, step: int) -> None:
        """Rules 1-3 on one tick's values (name -> float); raises TrainingDiverged."""
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        if bad:
            raise TrainingDiverged(f"training diverged at step {step}: {', '.join(bad)} not finite")
        big = [k for k, v in values.items() if "/" in k and abs(v) > self.max_loss]
        if big:
            k = big[0]
            raise TrainingDiverged(
                f"training diverged at step {step}: {k}={values[k]:.3g} beyond "
                f"train.max_loss={self.max_loss:g}"
            )
        self.streak = self.streak + 1 if self.saturated(values) else 0
        if self.streak >= self.window:
            raise TrainingDiverged(
                f"training diverged at step {step}: D saturated (D(x) > {SATURATED_REAL}, "
                f"D(G(z)) < {SATURATED_FAKE}) for {self.streak} ticks, G's gradient has vanished"
            )


def rollback_or_raise(self, err: TrainingDiverged, bar) -> None:
    """For the trainer `self`, after `err`: with `train.on_divergence=rollback`, back to the
    newest good checkpoint with the learning rates lowered, at most `train.rollback_tries`
    times; otherwise stop, naming that checkpoint (intact: no diverged state is ever saved)."""
    t = self.cfg.train
    good = newest_good_state(self.run_dir)
    where = f"; last good checkpoint: {good[0]}" if good else "; no checkpoint was saved yet"
    if t.on_divergence != "rollback" or good is None or self.rollbacks >= t.rollback_tries:
        tried = f" after {self.rollbacks} rollbacks" if self.rollbacks else ""
        raise TrainingDiverged(f"{err}{tried}{where}; lower the learning rates, add a "
                               "regulariser (loss.r1_gamma) or set train.on_divergence="
                               "rollback") from None
    tries = self.rollbacks + 1
    self.load_state_dict(good[1])
    self.rollbacks = tries
    self._set_lr()
    self.stats.collect()  # drop what the diverged steps accumulated
    self.health = HealthCheck(t.max_loss, t.saturation_ticks)
    self.log(f"{err}; rolled back to step {self.step} ({good[0].name}) with learning rates "
             f"x{t.rollback_lr_factor ** tries:g} (rollback {tries} of {t.rollback_tries})")
    if self.is_main:
        self.jsonl.truncate_after(self.step)
    if bar is not None:
        bar.n = self.step
        bar.refresh()
