"""Networks: weights only. `build_nets` turns a model config and a data spec into (G, D):
`model.arch` mlp (mlp.py), dcgan (dcgan.py), r3gan (r3gan.py), conv1d / gru (sequence.py).

Every network carries its JSON arch record (registry.py), which checkpoints store: a generator is
rebuilt from it alone (`build_generator(arch["args"])`), so sampling needs neither the trainer
nor pickle.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from torch import nn

from ganforge.errors import ConfigError
from ganforge.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from ganforge.nets.mlp import MLPDiscriminator, MLPGenerator
from ganforge.nets.r3gan import R3GANDiscriminator, R3GANGenerator
from ganforge.nets.sequence import (
    Conv1dDiscriminator,
    Conv1dGenerator,
    GRUDiscriminator,
    GRUGenerator,
)

# the image-to-image generators (unet, resnet, srresnet) are built by their objectives
# (objectives/translation.py) through nets/translation.py
ARCHS = ("mlp", "dcgan", "conv1d", "gru", "unet", "resnet", "srresnet", "r3gan")
SEQUENCE_ARCHS = ("conv1d", "gru")
IMAGE_ARCHS = ("dcgan", "r3gan")  # convolutional G and D for noise -> image GANs
SELFCOND_EMBED = 32  # size of a self-conditioned G's label embedding, fed beside the noise


def generator_arch(model, spec) -> dict[str, Any]:
    """The JSON description of G for `model` (a ModelConfig) on data `spec` (a DataSpec)."""
    if model.arch not in ARCHS:
        raise ConfigError(f"model.arch: unknown {model.arch!r}; choose from {', '.join(ARCHS)}")
    if model.arch in IMAGE_ARCHS and spec.kind != "image":
        raise ConfigError(f"model.arch: {model.arch} needs image data, {spec.name!r} is {spec.kind}")
    if model.arch in SEQUENCE_ARCHS and spec.kind != "sequence":
        raise ConfigError(f"model.arch: {model.arch} needs sequence data, {spec.name!r} is {spec.kind}")
    if model.conditional and model.arch in SEQUENCE_ARCHS:
        raise ConfigError(f"model.conditional: not supported by model.arch={model.arch}")
    ncls = spec.num_classes if model.conditional else 0
    arch: dict[str, Any] = {"arch": model.arch, "z_dim": model.z_dim, "out_shape": list(spec.shape)}
    if model.arch == "mlp":
        arch |= {"hidden": model.g_hidden, "depth": model.g_depth, "image": spec.kind == "image"}
        if model.pixels == "unit":  # recorded only when set: older records rebuild unchanged
            if spec.kind != "image":
                raise ConfigError(f"model.pixels=unit: needs image data, {spec.name!r} is {spec.kind}")
            arch["unit"] = True
    elif model.arch in SEQUENCE_ARCHS:
        arch |= {"hidden": model.g_hidden}
    elif model.arch == "r3gan":
        arch |= {"base": model.base_channels, "blocks": model.g_depth}
    else:
        arch |= {"base": model.base_channels}
    if model.self_cond:
        from ganforge.nets.selfcond import label_parts, pca_dims

        parts = label_parts(model.self_cond_parts, spec.shape)
        if model.z_dim <= parts:
            raise ConfigError(
                f"model.z_dim={model.z_dim}: self-conditioning reads {parts} label(s) from z "
                "and needs noise beside them"
            )
        arch["selfcond"] = {
            "k": model.self_cond, "parts": model.self_cond_parts, "z_dist": model.z_dist,
            "embed_dim": SELFCOND_EMBED,
            # points have fewer coordinates than PCA_DIMS: the coder keeps them all
            "pca_dims": pca_dims(math.prod(spec.shape) // parts), "method": model.self_cond_method,
        }
    return arch | {"num_classes": ncls}


def build_generator(arch: dict[str, Any]) -> nn.Module:
    """Rebuild G from its arch dict (see `generator_arch`); an "info" entry (InfoGAN's code
    sizes, added by that objective) wraps it in `heads.InfoGenerator`, a "selfcond" entry (the
    cluster count and parts) in `selfcond.SelfCondGenerator`."""
    kw = dict(arch)
    info, sc = kw.pop("info", None), kw.pop("selfcond", None)
    name, z_dim, shape = kw.pop("arch"), kw.pop("z_dim"), tuple(kw.pop("out_shape"))
    cls = {"mlp": MLPGenerator, "dcgan": DCGANGenerator, "conv1d": Conv1dGenerator,
           "gru": GRUGenerator, "r3gan": R3GANGenerator}[name]
    if sc:
        from ganforge.nets.selfcond import SelfCondGenerator, label_parts

        parts = label_parts(sc["parts"], shape)
        inner = cls(z_dim - parts + sc["embed_dim"], shape, **kw)
        dim = math.prod(shape) // parts
        return SelfCondGenerator(
            inner, k=sc["k"], parts=parts, z_dist=sc["z_dist"], embed_dim=sc["embed_dim"], dim=dim,
            # runs from before pca_dims and method were recorded used 32 and k-means
            pca_dims=sc.get("pca_dims", 32), method=sc.get("method", "kmeans"),
        )
    net = cls(z_dim, shape, **kw)
    if info:
        from ganforge.nets.heads import InfoGenerator

        net = InfoGenerator(net, **info)
    return net


def build_discriminator(model, spec) -> nn.Module:
    """D for `model` (a ModelConfig) on data `spec`."""
    ncls = spec.num_classes if model.conditional else 0
    if model.arch in SEQUENCE_ARCHS:
        cls = Conv1dDiscriminator if model.arch == "conv1d" else GRUDiscriminator
        return cls(spec.shape, hidden=model.d_hidden)
    if ncls and model.d_cond == "concat":
        # label as input: an unconditional D on the widened sample (one-hot planes or features)
        from ganforge.nets.heads import ConcatConditional

        image = model.arch in IMAGE_ARCHS
        c, *rest = spec.shape
        emb = model.d_hidden
        wide = (c + ncls, *rest) if image else (math.prod(spec.shape) + emb,)
        inner = build_discriminator(replace(model, conditional=False), replace(spec, shape=wide))
        return ConcatConditional(inner, ncls, image=image, embed=emb)
    if model.arch == "mlp":  # self-conditioned: D judges (point, cluster label) by projection
        return MLPDiscriminator(
            spec.shape, hidden=model.d_hidden, depth=model.d_depth, leaky=model.d_leaky,
            num_classes=model.self_cond or ncls, unit=model.pixels == "unit",
            label_parts=1 if model.self_cond else 0,
        )
    if model.arch == "r3gan":
        return R3GANDiscriminator(spec.shape, base=model.base_channels, blocks=model.d_depth,
                                  num_classes=ncls)
    if model.self_cond:  # D judges (image, cluster labels): one projection vector per label
        from ganforge.nets.selfcond import label_parts

        return DCGANDiscriminator(
            spec.shape, base=model.base_channels, norm=model.d_norm, num_classes=model.self_cond,
            label_parts=label_parts(model.self_cond_parts, spec.shape),
        )
    return DCGANDiscriminator(spec.shape, base=model.base_channels, norm=model.d_norm, num_classes=ncls)


def init_weights(net: nn.Module, scheme: str) -> None:
    """'default' keeps PyTorch's init; 'dcgan' draws conv/linear weights from N(0, 0.02) and
    batch-norm scales from N(1, 0.02) (Radford et al. 2016, Sec. 4); 'xavier' is the classic
    articles' `xavier_init`: weights from N(0, 2 / fan_in) (He et al. 2015's variance despite the
    name; Glorot's is 2 / (fan_in + fan_out)), biases zero."""
    if scheme == "default":
        return
    if scheme == "xavier":
        for m in net.modules():
            if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                # fan_in as torch counts it: dim 1 times the kernel's size
                nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / m.weight[0].numel()))
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        return
    for m in net.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def build_nets(model, spec):
    """(G, D) for a ModelConfig and DataSpec, initialised from the global RNG; D wrapped with the
    remedies the config asks for (packing, minibatch features, spectral norm). Both carry their
    arch records (registry.py)."""
    from ganforge.nets.registry import describe, model_record, spec_record
    from ganforge.nets.remedies import wrap_discriminator

    arch = generator_arch(model, spec)
    g, d = build_generator(arch), build_discriminator(model, spec)
    for net in (g, d):
        init_weights(net, model.init)
    describe(g, "generator", **arch)
    d = wrap_discriminator(d, model, spec)
    return g, describe(d, "discriminator", model=model_record(model), data=spec_record(spec))


__all__ = [
    "ARCHS", "IMAGE_ARCHS", "SEQUENCE_ARCHS", "DCGANDiscriminator", "DCGANGenerator",
    "MLPDiscriminator", "MLPGenerator", "R3GANDiscriminator", "R3GANGenerator",
    "build_discriminator", "build_generator", "build_nets", "generator_arch", "init_weights",
]
