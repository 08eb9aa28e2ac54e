"""Fully connected generator and discriminator.

The classic articles' GAN: G maps noise z through one ReLU hidden layer to a flattened image
(tanh output in [-1, 1]); D maps the flattened image through one ReLU hidden layer to one logit
(Goodfellow et al. 2014). `depth` stacks more hidden layers; with `image=False` G has a linear
output for point data in data units.

Unit pixels (`unit=True`, `model.pixels=unit`): the articles' code ends G with a sigmoid and feeds
D pixels in [0, 1]. Both nets keep ganforge's [-1, 1] interface (data, samples and metrics never
see [0, 1]): G returns 2 sigmoid(h) - 1 and D first maps x -> (x + 1) / 2, so D reads exactly the
sigmoid's value, and the gradients are the articles' (the two affine maps cancel in the chain rule).

Class conditioning seam: with `num_classes > 0`, G concatenates a learned label embedding to z and
D adds the projection term <embed(y), h> to its logit (Miyato & Koyama 2018). With `label_parts`
P > 0 D takes labels [N, P] instead (self-conditioning's cluster labels, nets/selfcond.py).
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn

from ganforge.nets.activations import Tanh
from ganforge.nets.heads import label_embedding, projection_embedding, projection_logit


def _mlp(sizes: list[int], act: type[nn.Module], **act_kw) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(sizes):
        layers += [nn.Linear(a, b), act(**act_kw)]
    return nn.Sequential(*layers)


class UnitSigmoid(nn.Module):
    """2 sigmoid(h) - 1: a sigmoid output in [0, 1], reported in ganforge's [-1, 1] pixels."""

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(h) * 2 - 1


class MLPGenerator(nn.Module):
    """z [N, z_dim] (and labels y [N]) -> samples [N, *out_shape]; images in [-1, 1] via tanh."""

    def __init__(
        self,
        z_dim: int,
        out_shape: tuple[int, ...],
        *,
        hidden: int = 128,
        depth: int = 1,
        image: bool = True,
        num_classes: int = 0,
        unit: bool = False,
    ) -> None:
        super().__init__()
        if unit and not image:
            raise ValueError("unit pixels need image output")
        self.z_dim, self.out_shape, self.num_classes = z_dim, tuple(out_shape), num_classes
        emb = hidden if num_classes else 0
        self.embed = label_embedding(num_classes, emb) if num_classes else None
        self.body = _mlp([z_dim + emb] + [hidden] * depth, nn.ReLU)
        self.out = nn.Linear(hidden, math.prod(out_shape))
        self.out_act = UnitSigmoid() if unit else Tanh() if image else nn.Identity()

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            z = torch.cat([z, self.embed(y)], dim=1)
        return self.out_act(self.out(self.body(z))).view(z.shape[0], *self.out_shape)


class MLPDiscriminator(nn.Module):
    """samples [N, *in_shape] (and labels y [N], or [N, P] with label_parts P) -> logits [N]."""

    def __init__(
        self,
        in_shape: tuple[int, ...],
        *,
        hidden: int = 128,
        depth: int = 1,
        leaky: float = 0.0,
        num_classes: int = 0,
        unit: bool = False,
        label_parts: int = 0,
    ) -> None:
        super().__init__()
        self.num_classes, self.unit = num_classes, unit
        act, kw = (nn.LeakyReLU, {"negative_slope": leaky}) if leaky else (nn.ReLU, {})
        self.body = _mlp([math.prod(in_shape)] + [hidden] * depth, act, **kw)
        self.out = nn.Linear(hidden, 1)
        if label_parts:  # cluster labels [N, P], as in DCGANDiscriminator
            from ganforge.nets.selfcond import part_projection

            self.embed = part_projection(num_classes, label_parts, hidden)
        else:
            self.embed = projection_embedding(num_classes, hidden) if num_classes else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer [N, hidden] (used by feature matching and projection)."""
        x = x.flatten(1)
        return self.body((x + 1) * 0.5 if self.unit else x)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return projection_logit(self.out, self.embed, self.features(x), y)
