"""EBGAN's discriminator: an autoencoder whose reconstruction error is the energy (Zhao et al. 2017).

D(x) = mean over the sample's elements of (Dec(Enc(x)) - x)^2, shape [N], >= 0: low on data,
pushed up to the margin m on fakes. `features(x)` is the code Enc(x) [N, code], on which the
pulling-away term acts. An MLP autoencoder serves every kind of data; images use a small conv
encoder/decoder when their size allows (see `nets.dcgan` layout rules).
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn


class AutoencoderD(nn.Module):
    """x [N, *shape] -> energy [N] = per-sample mean squared reconstruction error."""

    def __init__(
        self, in_shape: tuple[int, ...], *, hidden: int = 256, code: int = 32, depth: int = 1
    ) -> None:
        super().__init__()
        self.in_shape, self.num_classes = tuple(in_shape), 0
        n = math.prod(in_shape)
        enc: list[nn.Module] = []
        sizes = [n] + [hidden] * depth
        for a, b in itertools.pairwise(sizes):
            enc += [nn.Linear(a, b), nn.LeakyReLU(0.2)]
        self.encoder = nn.Sequential(*enc, nn.Linear(hidden, code))
        dec: list[nn.Module] = [nn.Linear(code, hidden), nn.LeakyReLU(0.2)]
        for _ in range(depth - 1):
            dec += [nn.Linear(hidden, hidden), nn.LeakyReLU(0.2)]
        self.decoder = nn.Sequential(*dec, nn.Linear(hidden, n))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The code Enc(x) [N, code]."""
        return self.encoder(x.flatten(1))

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Dec(Enc(x)) with x's shape."""
        return self.decoder(self.features(x)).view_as(x)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return (self.reconstruct(x) - x).pow(2).flatten(1).mean(1)
