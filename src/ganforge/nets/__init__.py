"""Networks: weights only. `build_nets` turns a model config and a data spec into (G, D).

A generator is rebuilt from its `arch` dict alone (`build_generator(arch)`), which checkpoints
store as JSON: sampling needs neither the trainer nor pickle.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from ..errors import ConfigError
from .dcgan import DCGANDiscriminator, DCGANGenerator
from .mlp import MLPDiscriminator, MLPGenerator

ARCHS = ("mlp", "dcgan")


def generator_arch(model, spec) -> dict[str, Any]:
    """The JSON description of G for `model` (a ModelConfig) on data `spec` (a DataSpec)."""
    if model.arch not in ARCHS:
        raise ConfigError(f"model.arch: unknown {model.arch!r}; choose from {', '.join(ARCHS)}")
    if model.arch == "dcgan" and spec.kind != "image":
        raise ConfigError(f"model.arch: dcgan needs image data, {spec.name!r} is {spec.kind}")
    ncls = spec.num_classes if model.conditional else 0
    arch: dict[str, Any] = {"arch": model.arch, "z_dim": model.z_dim, "out_shape": list(spec.shape)}
    if model.arch == "mlp":
        arch |= {"hidden": model.g_hidden, "depth": model.g_depth, "image": spec.kind == "image"}
    else:
        arch |= {"base": model.base_channels}
    return arch | {"num_classes": ncls}


def build_generator(arch: dict[str, Any]) -> nn.Module:
    """Rebuild G from its arch dict (see `generator_arch`)."""
    kw = dict(arch)
    name, z_dim, shape = kw.pop("arch"), kw.pop("z_dim"), tuple(kw.pop("out_shape"))
    cls = {"mlp": MLPGenerator, "dcgan": DCGANGenerator}[name]
    return cls(z_dim, shape, **kw)


def build_discriminator(model, spec) -> nn.Module:
    """D for `model` (a ModelConfig) on data `spec`."""
    ncls = spec.num_classes if model.conditional else 0
    if model.arch == "mlp":
        return MLPDiscriminator(
            spec.shape, hidden=model.d_hidden, depth=model.d_depth, leaky=model.d_leaky,
            num_classes=ncls,
        )
    return DCGANDiscriminator(spec.shape, base=model.base_channels, norm=model.d_norm, num_classes=ncls)


def init_weights(net: nn.Module, scheme: str) -> None:
    """'default' keeps PyTorch's init; 'dcgan' draws conv/linear weights from N(0, 0.02) and
    batch-norm scales from N(1, 0.02) (Radford et al. 2016, Sec. 4)."""
    if scheme == "default":
        return
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def build_nets(model, spec):
    """(G, D, arch) for a ModelConfig and DataSpec, initialised from the global RNG; D wrapped
    with the remedies the config asks for (packing, minibatch features, spectral norm)."""
    from .remedies import wrap_discriminator

    arch = generator_arch(model, spec)
    g, d = build_generator(arch), build_discriminator(model, spec)
    for net in (g, d):
        init_weights(net, model.init)
    return g, wrap_discriminator(d, model, spec), arch


__all__ = [
    "ARCHS", "DCGANDiscriminator", "DCGANGenerator", "MLPDiscriminator", "MLPGenerator",
    "build_discriminator", "build_generator", "build_nets", "generator_arch", "init_weights",
]
