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

# kind -> (constructor, how many of its arguments are positional: the channel counts)
_CLASSES = {"unet": (UNetGenerator, 2), "patchgan": (PatchDiscriminator, 1),
            "resnet": (ResnetGenerator, 2), "srresnet": (SRResNet, 1),
            "srgan-d": (SRGANDiscriminator, 1)}
KINDS = tuple(_CLASSES)


def _register(kind: str, cls: type, positional: int) -> None:
    """builder(kind): the constructor called with keywords only, its signature kept (make_net
    binds arguments against it, so a misspelt keyword is named)."""
    sig = inspect.signature(cls)
    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in sig.parameters.values()]

    def build(**args: Any) -> nn.Module:
        first = [args.pop(n) for n in list(sig.parameters)[:positional]]
        return cls(*first, **args)

    build.__signature__ = sig.replace(parameters=params)
    builder(kind)(build)


for _kind, (_cls, _pos) in _CLASSES.items():
    _register(_kind, _cls, _pos)


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
