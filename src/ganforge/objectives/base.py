"""What an objective is: phases, and named loss terms per phase.

An objective never calls `backward()` or `step()`. It declares its phases (which networks a phase
trains, how often, how many times in a row) and, for one phase, returns named loss terms
(`{"D/real": ..., "D/fake": ...}`) plus detached statistics for the logs. The trainer sums the
terms, back-propagates, steps the optimizers of the phase's networks and records everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

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
    needs_real: whether the phase reads a real batch (a G phase usually does not; skipping the
        draw saves a gather of a whole batch per step).
    """

    name: str
    trains: tuple[str, ...]
    every: int = 1
    repeat: int = 1
    needs_real: bool = True


@dataclass
class PhaseInput:
    """What one phase update sees: a real batch (None when the phase declared it needs none),
    fresh noise, labels for fakes ([N]; cluster labels [N, P] when self-conditioned), the
    step."""

    real: Batch | None
    z: torch.Tensor
    y_fake: torch.Tensor | None
    step: int
    total_steps: int = 1


@dataclass
class PhaseOutput:
    """Loss terms to sum and minimise (scalars with grad) and detached statistics."""

    terms: dict[str, torch.Tensor]
    stats: dict[str, torch.Tensor] = field(default_factory=dict)


class Objective:
    """Base class. Subclasses set `phases` and implement `compute`.

    Optional hooks, all called by the trainer:
    - `build_nets(nets, spec)`: networks to add or replace (InfoGAN's Q, EBGAN's autoencoder D),
      built before the optimizers; `opt_for` names the optimizer config ("g_opt"/"d_opt") of each
      extra network.
    - `after_step(phase, nets)`: runs under no_grad after a phase's optimizer step (WGAN clipping).
    - `sample_inputs(z, y)`: what G is fed for pictures and sampling (InfoGAN appends its codes).
    """

    phases: tuple[Phase, ...] = ()
    opt_for: ClassVar[dict[str, str]] = {}

    def build_nets(self, nets: dict[str, nn.Module], spec) -> dict[str, nn.Module]:
        return {}

    def after_step(self, phase: str, nets: dict[str, nn.Module]) -> None:
        pass

    def compute(self, phase: str, nets: dict[str, nn.Module], inp: PhaseInput) -> PhaseOutput:
        raise NotImplementedError

    def state_dict(self) -> dict:
        """Objective state that must survive a resume (annealing schedules, adaptive weights)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass
