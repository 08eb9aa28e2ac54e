"""What an objective is: phases, and named loss terms per phase.

An objective never calls `backward()` or `step()`. It declares its phases (which networks a phase
trains, how often, how many times in a row) and, for one phase, returns named loss terms
(`{"D/real": ..., "D/fake": ...}`) plus detached statistics for the logs. The trainer sums the
terms, back-propagates, steps the optimizers of the phase's networks and records everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from ..data.base import Batch


@dataclass(frozen=True)
class Phase:
    """One kind of update.

    name: e.g. "D", "G", "Dreg"; also the prefix of its terms.
    trains: names of the networks whose optimizers step after this phase's backward.
    every: run on steps where step % every == 0 (lazy regularisation).
    repeat: consecutive updates per run, each on a fresh batch (n_critic / k D-steps).
    """

    name: str
    trains: tuple[str, ...]
    every: int = 1
    repeat: int = 1


@dataclass
class PhaseInput:
    """What one phase update sees: a real batch, fresh noise, labels for fakes, the step."""

    real: Batch
    z: torch.Tensor
    y_fake: torch.Tensor | None
    step: int


@dataclass
class PhaseOutput:
    """Loss terms to sum and minimise (scalars with grad) and detached statistics."""

    terms: dict[str, torch.Tensor]
    stats: dict[str, torch.Tensor] = field(default_factory=dict)


class Objective:
    """Base class. Subclasses set `phases` and implement `compute`."""

    phases: tuple[Phase, ...] = ()

    def compute(self, phase: str, nets: dict[str, nn.Module], inp: PhaseInput) -> PhaseOutput:
        raise NotImplementedError

    def state_dict(self) -> dict:
        """Objective state that must survive a resume (annealing schedules, adaptive weights)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass
