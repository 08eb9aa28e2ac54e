"""The contract between an objective and the trainer: networks, phases, inputs, named loss terms.

An objective never calls `backward()` or `step()`. It declares
- its networks (`build_nets`; by default G and D from `cfg.model`), which of them are trained
  (every network some phase `trains`; each needs an optimizer config named in `optimizers`),
  which are frozen (all others: they never receive gradients and stay in eval mode), and which
  keep an EMA (`ema_nets`);
- its phases (which networks a phase trains, how often, how many times in a row, from which
  step to which);
- how a phase's inputs are drawn from the trainer's random streams (`draw`), and what a preview
  picture shows (`fixed_inputs`, `preview`); `sample_net` is what `load_generator` returns;
- for one phase, named loss terms (`{"D/real": ..., "D/fake": ...}`) plus detached statistics.
The trainer sums the terms, back-propagates, steps the optimizers of the phase's networks and
records everything. A phase that returns no terms is skipped (no backward, no step).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from ganforge.data.base import Batch, Dataset, DataSpec
from ganforge.errors import ConfigError


@dataclass(frozen=True)
class Phase:
    """One kind of update.

    name: e.g. "D", "G", "Dreg"; also the prefix of its terms.
    trains: names of the networks whose optimizers step after this phase's backward.
    every: run on steps where (step - start) % every == 0 (lazy regularisation).
    repeat: consecutive updates per run, each on a fresh batch (n_critic / k D-steps).
    needs_real: whether the phase reads a real batch (a G phase usually does not; skipping the
        draw saves a gather of a whole batch per step).
    start, stop: the phase runs on steps start <= step < stop (stop None: to the end), e.g. a
        pre-training phase for G alone followed by the adversarial phases.
    reuses: the name of an earlier phase whose input (z, labels, real batch) this phase takes
        when both run at a step, with what that phase computed through `PhaseInput.once`
        (G(z) with its graph: one forward pass of G per step instead of two; training/step.py).
        Declare it only where the math is unchanged: the networks computed once must not be
        stepped in between, and the producing phase must read their outputs detached.
    """

    name: str
    trains: tuple[str, ...]
    every: int = 1
    repeat: int = 1
    needs_real: bool = True
    start: int = 0
    stop: int | None = None
    reuses: str | None = None

    def __post_init__(self) -> None:
        if self.reuses is not None and self.repeat != 1:
            raise ConfigError(f"phase {self.name!r}: a phase that reuses another's input runs once "
                              f"per step (repeat={self.repeat})")

    def runs_at(self, step: int) -> bool:
        if step < self.start or (self.stop is not None and step >= self.stop):
            return False
        return (step - self.start) % self.every == 0


@dataclass
class PhaseInput:
    """What one phase update sees: a real batch (None when the phase declared it needs none),
    fresh noise, labels for fakes ([N]; cluster labels [N, P] when self-conditioned), the step,
    and `extra` for whatever else an objective draws (a paired batch, a second domain).
    `memo` holds what `once` computed, shared with a later phase that `reuses` this input."""

    real: Batch | None
    z: torch.Tensor | None
    y_fake: torch.Tensor | None
    step: int
    total_steps: int = 1
    extra: dict[str, Any] = field(default_factory=dict)
    memo: dict[str, torch.Tensor] = field(default_factory=dict)

    def once(self, key: str, fn: Callable[[], torch.Tensor]) -> torch.Tensor:
        """fn(), computed once per input: e.g. `inp.once("fake", lambda: G(inp.z))`. In a phase
        that trains D, read the result detached; a later phase that reuses this input gets the
        same tensor with its graph (the trainer keeps G's gradients on for that)."""
        if key not in self.memo:
            self.memo[key] = fn()
        return self.memo[key]


@dataclass
class PhaseOutput:
    """Loss terms to sum and minimise (scalars with grad) and detached statistics."""

    terms: dict[str, torch.Tensor]
    stats: dict[str, torch.Tensor] = field(default_factory=dict)


@dataclass
class Sources:
    """The trainer's data and random streams, from which an objective draws a phase's inputs.

    Every draw goes through `data_gen` (real data) or `z_gen` (noise, labels), both saved in
    checkpoints, so a resumed run draws exactly what an uninterrupted one would.
    """

    data: Dataset
    data_gen: torch.Generator
    z_gen: torch.Generator
    prior: Callable[[int, torch.Generator], torch.Tensor]
    batch_size: int
    device: torch.device
    step: int = 0
    total_steps: int = 1

    def real(self, n: int | None = None) -> Batch:
        return self.data.sample(n or self.batch_size, self.data_gen).to(self.device)

    def z(self, n: int | None = None) -> torch.Tensor:
        """z ~ p(z), [n, z_dim] on the device."""
        return self.prior(n or self.batch_size, self.z_gen)

    def labels(self, k: int, n: int | None = None) -> torch.Tensor:
        """Uniform class labels [n] in 0..k-1 on the device."""
        return torch.randint(k, (n or self.batch_size,), generator=self.z_gen, device=self.device)


@dataclass
class BuildContext:
    """What `build_nets` may read: the config, the data (its spec, real samples for fitting
    fixed statistics such as clusters) and whether a checkpoint will restore the state."""

    cfg: Any
    data: Dataset
    spec: DataSpec
    resuming: bool = False


def reusing_d(cfg) -> str | None:
    """`Phase.reuses` for a G phase that follows the D phase: "D" when D updates once per step;
    with k D-steps (WGAN's n_critic) G draws fresh inputs, as in WGAN's Algorithm 1."""
    return "D" if cfg.train.d_steps == 1 else None


def generate(g, inp: PhaseInput) -> torch.Tensor:
    """G(inp.z) (with inp.y_fake for a conditional G), computed once per input: the D phase reads
    it detached, a G phase that reuses the input gets it with its graph."""
    return inp.once("fake", lambda: cond(g, inp.z, inp.y_fake))


def num_classes(net: nn.Module) -> int:
    return int(getattr(net, "num_classes", 0))


def cond(net, x, y):
    """net(x, y) for a class-conditional net, net(x) otherwise."""
    return net(x, y) if num_classes(net) else net(x)


class Objective:
    """Base class: the classic pair G and D. Subclasses set `phases` and implement `compute`."""

    phases: tuple[Phase, ...] = ()
    # optimizer config section ("g_opt" / "d_opt") of every network some phase trains
    optimizers: ClassVar[dict[str, str]] = {"G": "g_opt", "D": "d_opt"}
    ema_nets: ClassVar[tuple[str, ...]] = ("G",)  # kept as EMAs when train.ema > 0
    sample_net: ClassVar[str] = "G"  # what load_generator returns by default
    # keys of the config this objective reads beyond the shared ones (see `check_options`)
    options: ClassVar[frozenset[str]] = frozenset()

    # ---- networks ---------------------------------------------------------------------------
    def build_nets(self, ctx: BuildContext) -> dict[str, nn.Module]:
        """Every network, initialised from the global RNG; default G and D from `cfg.model`."""
        from ganforge.nets import build_nets

        g, d = build_nets(ctx.cfg.model, ctx.spec)
        return {"G": g, "D": d}

    def check_phases(self) -> None:
        """Every `reuses` names a phase declared before it (ConfigError otherwise)."""
        seen: set[str] = set()
        for ph in self.phases:
            if ph.reuses is not None and ph.reuses not in seen:
                raise ConfigError(f"phase {ph.name!r} reuses {ph.reuses!r}, which is not an "
                                  f"earlier phase (phases: {[p.name for p in self.phases]})")
            seen.add(ph.name)

    def trained(self) -> tuple[str, ...]:
        out: dict[str, None] = {}
        for ph in self.phases:
            out.update(dict.fromkeys(ph.trains))
        return tuple(out)

    # ---- inputs -----------------------------------------------------------------------------
    def relabel(self, nets, real: Batch | None, z, y_fake):
        """The labels D reads for a real batch and G's for z; class labels by default."""
        return real, y_fake

    def draw(self, phase: Phase, nets: dict[str, nn.Module], src: Sources) -> PhaseInput:
        """One update's inputs: a real batch if the phase reads one, z, labels for conditional G."""
        real = src.real() if phase.needs_real else None
        z = src.z()
        k = num_classes(nets[self.sample_net])
        y_fake = src.labels(k) if k else None
        real, y_fake = self.relabel(nets, real, z, y_fake)
        return PhaseInput(real, z, y_fake, src.step, src.total_steps)

    def fixed_inputs(self, nets, n: int, prior, device) -> PhaseInput:
        """Fixed inputs for the preview pictures: `prior(n)` latents, labels 0..K-1 in turn."""
        z = prior(n).to(device)
        k = num_classes(nets[self.sample_net])
        y = (torch.arange(n) % k).to(device) if k else None
        return PhaseInput(None, z, y, 0)

    def preview(self, nets: dict[str, nn.Module], fixed: PhaseInput) -> torch.Tensor:
        """What the preview picture shows: G's samples of the fixed inputs (EMA nets if kept)."""
        return cond(nets[self.sample_net], fixed.z, fixed.y_fake)

    # ---- hooks ------------------------------------------------------------------------------
    def after_step(self, phase: str, nets: dict[str, nn.Module]) -> None:
        """Runs under no_grad after a phase's optimizer step (WGAN clipping)."""

    def compute(self, phase: str, nets: dict[str, nn.Module], inp: PhaseInput) -> PhaseOutput:
        raise NotImplementedError

    def state_dict(self) -> dict:
        """Objective state that must survive a resume (annealing schedules, adaptive weights)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    # ---- config -----------------------------------------------------------------------------
    @classmethod
    def check_options(cls, cfg, name: str, owners: dict[str, list[str]]) -> None:
        """Refuse `loss.*` options set away from their defaults that this objective ignores.

        owners: option -> names of the objectives that read it (for the error message).
        """
        from ganforge.config import LossConfig

        default = LossConfig()
        for key, users in owners.items():
            field_name = key.split(".", 1)[1]
            if key in cls.options or key == "loss.objective":
                continue
            value = getattr(cfg.loss, field_name)
            if value != getattr(default, field_name):
                where = ", ".join(users) if users else "no objective"
                raise ConfigError(
                    f"{key}={value}: has no effect under loss.objective={name} "
                    f"(it applies to {where}); drop it"
                )
        lo = cfg.loss
        if "loss.r1_every" in cls.options and lo.r1_every > 1 and lo.r1_gamma == 0:
            # the lazy interval would space a penalty that is off
            raise ConfigError(f"loss.r1_every={lo.r1_every}: spaces the R1 penalty, which is off "
                              "(loss.r1_gamma=0); set loss.r1_every=1 or loss.r1_gamma > 0")
