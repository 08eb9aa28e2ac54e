"""Schedules: how a hyper-parameter moves over a run, as pure functions of the step.

One curve family serves every ramp (the lr in training/optim.py, Adam's beta2 and the EMA
half-life in training/step.py, R3GAN's gamma in objectives/rpgan.py), so each is a function of the
step alone and a resumed run needs no schedule state.
"""

from __future__ import annotations

import math


def progress(step: int, total: int) -> float:
    """step / total clipped to [0, 1]: where a schedule stands."""
    return min(max(step / max(total, 1), 0.0), 1.0)


def ramp(schedule: str, t: float, start: float, end: float) -> float:
    """A value moving from `start` (t = 0) to `end` (t = 1): `start` throughout for "constant";
    along a line ("linear") or half a cosine ("cosine", Loshchilov & Hutter 2017)."""
    if schedule == "constant":
        return start
    if schedule == "linear":
        return start - (start - end) * t
    return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * t))
