"""Objectives: one file per family of GAN variants; `build_objective` picks one from the config."""

from __future__ import annotations

from ganforge.errors import ConfigError
from ganforge.objectives.acgan import ACGANObjective
from ganforge.objectives.base import (
    BuildContext,
    Objective,
    Phase,
    PhaseInput,
    PhaseOutput,
    Sources,
)
from ganforge.objectives.cyclegan import CycleGANObjective
from ganforge.objectives.divergences import HingeObjective, LSGANObjective
from ganforge.objectives.ebgan import EBGANObjective
from ganforge.objectives.gan import GANObjective
from ganforge.objectives.infogan import InfoGANObjective
from ganforge.objectives.pix2pix import Pix2PixObjective
from ganforge.objectives.rpgan import RpGANObjective
from ganforge.objectives.srgan import SRGANObjective
from ganforge.objectives.wasserstein import WGANGPObjective, WGANObjective

OBJECTIVES = {
    "gan": GANObjective,
    # the GAN family (objectives/{wasserstein,divergences,acgan,infogan,ebgan}.py)
    "wgan": WGANObjective, "wgan-gp": WGANGPObjective, "lsgan": LSGANObjective,
    "hinge": HingeObjective, "acgan": ACGANObjective, "infogan": InfoGANObjective,
    "ebgan": EBGANObjective,
    # the modern baseline: relativistic pairing with R1 and R2 (objectives/rpgan.py)
    "rpgan": RpGANObjective,
    # image-to-image (objectives/{pix2pix,cyclegan,srgan}.py on objectives/translation.py)
    "pix2pix": Pix2PixObjective, "cyclegan": CycleGANObjective, "srgan": SRGANObjective,
}


def option_owners() -> dict[str, list[str]]:
    """Every `loss.*` key -> the objectives that read it."""
    from dataclasses import fields

    from ganforge.config import LossConfig

    return {
        f"loss.{f.name}": [n for n, cls in OBJECTIVES.items() if f"loss.{f.name}" in cls.options]
        for f in fields(LossConfig)
    }


def check_objective(cfg) -> type[Objective]:
    """The objective class of `cfg`, after refusing options it would ignore (one-line errors)."""
    name = cfg.loss.objective
    if name not in OBJECTIVES:
        raise ConfigError(f"loss.objective: unknown {name!r}; choose from {', '.join(OBJECTIVES)}")
    cls = OBJECTIVES[name]
    cls.check_options(cfg, name, option_owners())
    return cls


def build_objective(cfg) -> Objective:
    """The objective named by `cfg.loss.objective` for a full `Config`."""
    return check_objective(cfg)(cfg)


__all__ = [
    "OBJECTIVES", "BuildContext", "Objective", "Phase", "PhaseInput", "PhaseOutput", "Sources",
    "build_objective", "check_objective", "register_objective",
]


def register_objective(name: str, cls: type[Objective]) -> None:
    """Add an objective under `name` (a new variant needs nothing else: no trainer change)."""
    OBJECTIVES[name] = cls
