"""Objectives: one file per family of GAN variants; `build_objective` picks one from the config."""

from __future__ import annotations

from ..errors import ConfigError
from .base import Objective, Phase, PhaseInput, PhaseOutput
from .gan import GANObjective

OBJECTIVES = {"gan": GANObjective}


def build_objective(cfg) -> Objective:
    """The objective named by `cfg.loss.objective` for a full `Config`."""
    name = cfg.loss.objective
    if name not in OBJECTIVES:
        raise ConfigError(f"loss.objective: unknown {name!r}; choose from {', '.join(OBJECTIVES)}")
    return OBJECTIVES[name](cfg)


__all__ = ["OBJECTIVES", "Objective", "Phase", "PhaseInput", "PhaseOutput", "build_objective"]
