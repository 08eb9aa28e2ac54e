"""Discriminator remedies against mode collapse, composed around any ganforge D.

`wrap_discriminator(d, model, spec)` returns D unchanged when the model config asks for no remedy,
else a `RemedyDiscriminator` that applies, in this order:

1. packing (PacGAN, Lin et al. 2018, arXiv 1712.04086): D judges m samples at once. A batch
   [B, ...] becomes [B/m, m*...] (points: features concatenated; images: channels concatenated),
   so D returns B/m logits. The inner D is rebuilt for the packed shape.
2. the inner D's features h = D.features(x_packed), [N', F].
3. minibatch standard deviation (Karras et al. 2018, Sec. 3): the std of every feature over a
   group of samples, averaged to one number per group and appended to h as one more feature.
4. minibatch discrimination (Salimans et al. 2016, Sec. 3.2): M_i = h_i T in R^{B x C},
   c_b(i, j) = exp(-||M_{i,b} - M_{j,b}||_1), o(i)_b = sum_{j != i} c_b(i, j), appended to h.
5. a linear head on [h, extras] (plus the projection term <embed(y), h> of a conditional D; with
   packing, the sum of the m members' projections).
6. spectral normalisation (Miyato et al. 2018) of every Linear and Conv2d weight, via
   torch.nn.utils.parametrizations.spectral_norm (one power iteration per forward in train mode).
7. outermost, `model.augment`: DiffAugment / ADA transforms of every image D sees (augment.py).

The wrapped D keeps the interface every objective relies on: `d(x, y=None) -> logits [N']`,
`d.features(x) -> [N', F']` and `d.num_classes`.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ganforge.errors import ConfigError


def pack(x: torch.Tensor, m: int) -> torch.Tensor:
    """[B, D] -> [B/m, m*D] or [B, C, H, W] -> [B/m, m*C, H, W]; consecutive samples form a pack.

    Raises ConfigError when B is not a multiple of m.
    """
    if m == 1:
        return x
    b = x.shape[0]
    if b % m:
        raise ConfigError(
            f"model.pack={m}: the batch of {b} samples is not a multiple of {m}; "
            f"set train.batch_size to a multiple of {m}"
        )
    return x.reshape(b // m, m * x.shape[1], *x.shape[2:])


def minibatch_stddev(h: torch.Tensor, *, group: int = 4) -> torch.Tensor:
    """Karras et al. 2018: h [N, F] -> [N, 1], the mean over features of the per-feature std
    within each group of `group` samples (samples i, i + N/g, ... form a group, as in StyleGAN).
    The largest group size <= `group` that divides N is used."""
    n = h.shape[0]
    g = max(d for d in range(1, min(group, n) + 1) if n % d == 0)
    if g == 1:
        return h.new_zeros(n, 1)
    y = h.reshape(g, n // g, -1)
    std = (y.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=1)  # [N/g]
    return std.repeat(g).unsqueeze(1)


class MinibatchDiscrimination(nn.Module):
    """Salimans et al. 2016, Sec. 3.2: h [N, A] -> o [N, kernels] with
    o(i)_b = sum_{j != i} exp(-||M_{i,b} - M_{j,b}||_1), M = h T, T in R^{A x kernels x dim}."""

    def __init__(self, in_features: int, *, kernels: int = 8, dim: int = 4) -> None:
        super().__init__()
        self.kernels, self.dim = kernels, dim
        self.T = nn.Parameter(torch.randn(in_features, kernels * dim) / in_features**0.5)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        m = (h @ self.T).view(-1, self.kernels, self.dim).transpose(0, 1)  # [B, N, C]
        # sum over C of [B, N, N] slices: cdist(p=1) would be lighter but has no double
        # backward, which R1 and WGAN-GP need
        l1 = sum((m[..., c, None] - m[:, None, :, c]).abs() for c in range(self.dim))
        return (torch.exp(-l1).sum(2) - 1.0).t()  # drop c_b(i, i) = 1; [N, B]


class RemedyDiscriminator(nn.Module):
    """A D with packing / minibatch features / its own head; see the module docstring.

    x [B, *shape] (and y [B], or [B, P] cluster labels) -> logits [B/pack]. `inner` must be built for the packed shape
    and offer `features(x)`, `out` (its Linear head) and `embed` (projection, or None).
    """

    def __init__(
        self, inner: nn.Module, *, pack: int = 1, mbstd: bool = False, minibatch_disc: bool = False
    ) -> None:
        super().__init__()
        self.pack_m, self.use_mbstd = pack, mbstd
        self.num_classes = getattr(inner, "num_classes", 0)
        feat = inner.out.in_features
        self.mbdisc = MinibatchDiscrimination(feat) if minibatch_disc else None
        extra = int(mbstd) + (self.mbdisc.kernels if self.mbdisc is not None else 0)
        # the wrapper owns the head and the projection; the inner net only supplies features
        self.out = inner.out if extra == 0 else nn.Linear(feat + extra, 1)
        self.embed = inner.embed
        inner.out, inner.embed = nn.Identity(), None
        self.inner = inner

    def _features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.inner.features(pack(x, self.pack_m))
        parts = [h]
        if self.use_mbstd:
            parts.append(minibatch_stddev(h))
        if self.mbdisc is not None:
            parts.append(self.mbdisc(h))
        return h, torch.cat(parts, dim=1) if len(parts) > 1 else h

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Packed features with the minibatch extras, [B/pack, F + extras]."""
        return self._features(x)[1]

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h, hx = self._features(x)
        logit = self.out(hx).squeeze(1)
        if self.embed is not None:
            e = self.embed(y)  # [B, F]; a pack's projection is the sum of its members'
            logit = logit + (e.view(h.shape[0], self.pack_m, -1).sum(1) * h).sum(1)
        return logit


def apply_spectral_norm(net: nn.Module) -> nn.Module:
    """Spectral-normalise every Linear and Conv2d weight of `net` in place (Miyato et al. 2018)."""
    for mod in list(net.modules()):
        if isinstance(mod, (nn.Linear, nn.Conv2d)):
            spectral_norm(mod)
    return net


def wrap_discriminator(d: nn.Module, model, spec) -> nn.Module:
    """D with the remedies `model` (a ModelConfig) asks for, on data `spec` (a DataSpec).

    model.pack = m > 1 rebuilds D for inputs of m samples (see `pack`); model.mbstd and
    model.minibatch_disc append minibatch features before a new linear head; model.spectral_norm
    normalises every Linear/Conv2d weight. With none of them D is returned as is.
    """
    m = int(model.pack)
    if m < 1:
        raise ConfigError(f"model.pack: must be >= 1, got {m}")
    if model.augment:  # outermost: each sample is augmented before packing or anything else
        from ganforge.config_rules import parse_policy
        from ganforge.nets.augment import AugmentedDiscriminator

        if spec.kind != "image" or len(spec.shape) != 3:
            raise ConfigError(f"model.augment: augments images, {spec.name!r} is {spec.kind}")
        policy = parse_policy(model.augment)
        d = wrap_discriminator(d, dataclasses.replace(model, augment=""), spec)
        return AugmentedDiscriminator(d, policy, model.augment_p)
    if m == 1 and not (model.mbstd or model.minibatch_disc or model.spectral_norm):
        return d
    if m > 1 or model.mbstd or model.minibatch_disc:
        if not all(hasattr(d, a) for a in ("features", "out", "embed")):
            raise ConfigError(
                f"model.arch={model.arch!r}: its D has no features/out/embed, so model.pack, "
                "model.mbstd and model.minibatch_disc cannot wrap it"
            )
        if m > 1:
            from ganforge.nets import build_discriminator

            packed = (spec.shape[0] * m, *spec.shape[1:])
            d = build_discriminator(model, dataclasses.replace(spec, shape=packed))
            from ganforge.nets import init_weights

            init_weights(d, model.init)
        d = RemedyDiscriminator(d, pack=m, mbstd=model.mbstd, minibatch_disc=model.minibatch_disc)
    if model.spectral_norm:
        apply_spectral_norm(d)
    return d
