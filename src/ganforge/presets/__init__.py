"""Named presets: each is a short description plus dotted overrides of the default `Config`.

Presets are data, not code: `ganforge presets` prints them, and `--set` overrides apply on top.
One module per owner: core.py (the default, the articles' recipe, DCGAN, the 2-D mixtures),
family.py (the GAN variants), modes.py (the mode-collapse benchmark's settings), translation.py (pix2pix, CycleGAN, SRGAN).
"""

from __future__ import annotations

from typing import Any

from ganforge.config import Config, apply_overrides, validate
from ganforge.errors import ConfigError
from ganforge.presets.core import PRESETS as _CORE
from ganforge.presets.family import PRESETS as _FAMILY
from ganforge.presets.modes import PRESETS as _MODES
from ganforge.presets.translation import PRESETS as _TRANSLATION

DEFAULT_PRESET = "digits"


def _merge(*tables: dict) -> dict:
    out: dict = {}
    for table in tables:
        clash = set(out) & set(table)
        if clash:
            raise RuntimeError(f"preset names defined twice: {sorted(clash)}")
        out.update(table)
    return out


PRESETS: dict[str, tuple[str, dict[str, Any]]] = _merge(_CORE, _FAMILY, _MODES, _TRANSLATION)


def preset_config(name: str, overrides: dict[str, Any] | None = None) -> Config:
    """The Config of preset `name` with `overrides` (dotted keys) applied on top."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    cfg = apply_overrides(Config(preset=name), PRESETS[name][1])
    cfg = apply_overrides(cfg, overrides or {})
    validate(cfg)
    check_names(cfg)
    return cfg


def check_names(cfg: Config) -> None:
    """Refuse, before anything runs, an unknown objective, architecture or dataset, and options
    the chosen objective would ignore (the registries own the lists; objectives/__init__.py)."""
    from ganforge.data import DATASETS
    from ganforge.nets import ARCHS
    from ganforge.objectives import check_objective

    for key, value, allowed in (("model.arch", cfg.model.arch, ARCHS),
                                ("data.dataset", cfg.data.dataset, DATASETS)):
        if value not in allowed:
            raise ConfigError(f"{key}: unknown value {value!r}; choose from {', '.join(allowed)}")
    check_objective(cfg)
