"""Image-to-image networks by name: registry builders, `make_net`, and the pix2pix/CycleGAN init.

Kinds: "unet" and "patchgan" (pix2pix, `nets.unet`), "resnet" (CycleGAN's generator,
`nets.resnet`), "srresnet" and "srgan-d" (SRGAN, `nets.srgan`). Each builder takes exactly its
constructor's keyword arguments, so `make_net(kind, **args)` records `{"kind", "args"}` on the
module and `registry.rebuild(net.arch)` makes the same module again from a checkpoint's JSON.
The frozen VGG19 (`nets.vgg`) is not registered: it is loaded from its file, never trained or
checkpointed.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

from torch import nn
from torch.nn.utils import parametrize

from ganforge.errors import ConfigError
from ganforge.nets.registry import BUILDERS, builder, describe
from ganforge.nets.resnet import ResnetGenerator
from ganforge.nets.srgan import SRGANDiscriminator, SRResNet
from ganforge.nets.unet import PatchDiscriminator, UNetGenerator

KINDS = ("unet", "patchgan", "resnet", "srresnet", "srgan-d")


@builder("unet")
def _unet(
    *,
    in_ch: int,
    out_ch: int,
    base: int = 64,
    depth: int | None = None,
    size: int | None = None,
    dropout: float = 0.5,
    norm: str = "instance",
) -> nn.Module:
    return UNetGenerator(
        in_ch, out_ch, base=base, depth=depth, size=size, dropout=dropout, norm=norm
    )


@builder("patchgan")
def _patchgan(
    *,
    in_ch: int,
    base: int = 64,
    n_layers: int = 3,
    norm: str = "instance",
    spectral_norm: bool = False,
) -> nn.Module:
    return PatchDiscriminator(
        in_ch, base=base, n_layers=n_layers, norm=norm, spectral_norm=spectral_norm
    )


@builder("resnet")
def _resnet(
    *,
    in_ch: int,
    out_ch: int,
    base: int = 64,
    blocks: int = 9,
    n_down: int = 2,
    norm: str = "instance",
) -> nn.Module:
    return ResnetGenerator(in_ch, out_ch, base=base, blocks=blocks, n_down=n_down, norm=norm)


@builder("srresnet")
def _srresnet(*, channels: int = 3, scale: int = 4, base: int = 64, blocks: int = 16) -> nn.Module:
    return SRResNet(channels, scale=scale, base=base, blocks=blocks)


@builder("srgan-d")
def _srgan_d(
    *, channels: int = 3, base: int = 64, norm: str = "batch", spectral_norm: bool = False
) -> nn.Module:
    return SRGANDiscriminator(channels, base=base, norm=norm, spectral_norm=spectral_norm)


def make_net(kind: str, **args: Any) -> nn.Module:
    """The `kind` network built from `args` (its constructor's keyword arguments, JSON values
    only), carrying `net.arch` for `registry.rebuild`. Weights are PyTorch's defaults; call
    `init_normal` for the pix2pix/CycleGAN init."""
    if kind not in KINDS:
        raise ConfigError(
            f"unknown image-to-image network {kind!r}; choose from {', '.join(KINDS)}"
        )
    try:
        json.dumps(args)
    except TypeError as e:
        raise ConfigError(f"{kind}: network arguments must be JSON values ({e})") from e
    try:  # a misspelt or missing keyword is named, never silently defaulted
        inspect.signature(BUILDERS[kind]).bind(**args)
    except TypeError as e:
        raise ConfigError(f"{kind}: {e}") from e
    return describe(BUILDERS[kind](**args), kind, **args)


def init_normal(net: nn.Module, std: float = 0.02) -> nn.Module:
    """Conv, transposed-conv and linear weights ~ N(0, std), their biases 0; batch-norm scales
    ~ N(1, std), shifts 0: the init of the pix2pix and CycleGAN references (after Radford et al.
    2016). SRGAN's nets keep PyTorch's default init; this one is not meant for them.
    Spectrally normalised layers get their raw weight drawn. Returns `net`."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            w = (
                m.parametrizations.weight.original
                if parametrize.is_parametrized(m, "weight")
                else m.weight
            )
            nn.init.normal_(w, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
    return net
