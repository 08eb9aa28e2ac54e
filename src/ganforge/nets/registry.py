"""Every network's architecture as JSON, and the network rebuilt from it without the trainer.

A network built by ganforge carries `net.arch = {"kind": ..., "args": {...}}`; checkpoints store
the arch of every network beside its weights, and `rebuild(arch)` makes the same module again
(with fresh weights, to be overwritten by the saved ones): sampling, translating or inspecting
any network of a run needs neither the trainer, the data, nor pickle.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from torch import nn

from ganforge.errors import CheckpointError

BUILDERS: dict[str, Callable[..., nn.Module]] = {}


def builder(kind: str):
    """Register `fn(**args) -> nn.Module` as the builder of networks of this kind."""

    def deco(fn):
        BUILDERS[kind] = fn
        return fn

    return deco


def describe(net: nn.Module, kind: str, **args: Any) -> nn.Module:
    """Attach the arch record (JSON values only) that `rebuild` turns back into `net`'s module."""
    net.arch = {"kind": kind, "args": args}
    return net


def rebuild(arch: dict) -> nn.Module:
    """A module from its arch record, weights freshly initialised (load the saved ones next)."""
    import torch

    import ganforge.nets.translation  # noqa: F401  registers the image-to-image kinds

    kind = arch.get("kind")
    if kind not in BUILDERS:
        raise CheckpointError(f"unknown network kind {kind!r}; known: {', '.join(BUILDERS)}")
    with torch.random.fork_rng(devices=[]):  # building draws weights: spare the caller's RNG
        net = BUILDERS[kind](**arch["args"])
    net.arch = arch
    return net


def spec_record(spec) -> dict:
    """The JSON part of a DataSpec a network's shape depends on."""
    return {"name": spec.name, "kind": spec.kind, "shape": list(spec.shape),
            "num_classes": spec.num_classes}


def model_record(model) -> dict:
    return dataclasses.asdict(model)


# ---- the builders of ganforge's own networks -----------------------------------------------


@builder("generator")
def _generator(**args) -> nn.Module:
    from ganforge.nets import build_generator

    return build_generator(args)


@builder("discriminator")
def _discriminator(*, model: dict, data: dict) -> nn.Module:
    from ganforge.config import ModelConfig
    from ganforge.data.base import DataSpec
    from ganforge.nets import build_discriminator
    from ganforge.nets.remedies import wrap_discriminator

    known = {f.name for f in dataclasses.fields(ModelConfig)}
    m = ModelConfig(**{k: v for k, v in model.items() if k in known})
    spec = DataSpec(data["name"], data["kind"], tuple(data["shape"]), data["num_classes"])
    return wrap_discriminator(build_discriminator(m, spec), m, spec)


@builder("autoencoder")
def _autoencoder(*, in_shape, hidden: int, code: int, depth: int) -> nn.Module:
    from ganforge.nets.autoencoder import AutoencoderD

    return AutoencoderD(tuple(in_shape), hidden=hidden, code=code, depth=depth)


@builder("qhead")
def _qhead(*, feat_dim: int, categorical: int, continuous: int, hidden: int) -> nn.Module:
    from ganforge.nets.heads import QHead

    return QHead(feat_dim, categorical=categorical, continuous=continuous, hidden=hidden)


@builder("aux")
def _aux(*, feat_dim: int, num_classes: int) -> nn.Module:
    from ganforge.nets.heads import AuxClassifier

    return AuxClassifier(feat_dim, num_classes)
