"""Objectives: one file per family of GAN variants; `build_objective` picks one from the config."""

from __future__ import annotations

from ..errors import ConfigError
from .acgan import ACGANObjective
from .base import Objective, Phase, PhaseInput, PhaseOutput
from .divergences import HingeObjective, LSGANObjective
from .ebgan import EBGANObjective
from .gan import GANObjective
from .infogan import InfoGANObjective
from .wasserstein import WGANGPObjective, WGANObjective

OBJECTIVES = {
    "gan": GANObjective,
    # the GAN family (objectives/{wasserstein,divergences,acgan,infogan,ebgan}.py)
    "wgan": WGANObjective, "wgan-gp": WGANGPObjective, "lsgan": LSGANObjective,
    "hinge": HingeObjective, "acgan": ACGANObjective, "infogan": InfoGANObjective,
    "ebgan": EBGANObjective,
}


def build_objective(cfg) -> Objective:
    """The objective named by `cfg.loss.objective` for a full `Config`."""
    name = cfg.loss.objective
    if name not in OBJECTIVES:
        raise ConfigError(f"loss.objective: unknown {name!r}; choose from {', '.join(OBJECTIVES)}")
    return OBJECTIVES[name](cfg)


__all__ = ["OBJECTIVES", "Objective", "Phase", "PhaseInput", "PhaseOutput", "build_objective"]
