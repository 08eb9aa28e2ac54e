"""Generators and discriminators for sequences [N, T, F] (time-series GANs).

- conv1d: G projects z to a short feature map and doubles its length with (upsample, Conv1d,
  ReLU) blocks, cropped to T; D is strided Conv1d + LeakyReLU, then a linear logit (the 1-D analogue
  of DCGAN, Radford et al. 2016; cf. Donahue et al. 2019, WaveGAN).
- gru: G runs a GRU over T steps fed z at every step, with its initial state projected from z;
  D runs a GRU over the sequence and scores its last hidden state (Mogren 2016, C-RNN-GAN;
  Esteban et al. 2017, RCGAN).
Outputs are linear (data units), so any scale of series fits.
"""

from __future__ import annotations

import torch
from torch import nn


def _blocks_for(t: int) -> int:
    """Upsampling steps so the base length is about 4-8."""
    n = 0
    while t > 8 * 2**n:
        n += 1
    return n


class Conv1dGenerator(nn.Module):
    """z [N, z_dim] -> sequences [N, T, F]."""

    def __init__(
        self, z_dim: int, out_shape: tuple[int, int], *, hidden: int = 64, num_classes: int = 0
    ) -> None:
        super().__init__()
        self.z_dim, self.out_shape, self.num_classes = z_dim, tuple(out_shape), 0
        t, f = out_shape
        n = _blocks_for(t)
        self.t0 = -(-t // 2**n)
        self.project = nn.Sequential(nn.Linear(z_dim, hidden * self.t0), nn.ReLU())
        blocks: list[nn.Module] = []
        for _ in range(n):
            blocks += [
                nn.Upsample(scale_factor=2),
                nn.Conv1d(hidden, hidden, 5, padding=2),
                nn.ReLU(),
            ]
        self.body = nn.Sequential(*blocks, nn.Conv1d(hidden, f, 5, padding=2))
        self.hidden = hidden

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.project(z).view(len(z), self.hidden, self.t0)
        return self.body(h)[:, :, : self.out_shape[0]].transpose(1, 2)


class Conv1dDiscriminator(nn.Module):
    """sequences [N, T, F] -> logits [N]."""

    def __init__(
        self, in_shape: tuple[int, int], *, hidden: int = 64, num_classes: int = 0
    ) -> None:
        super().__init__()
        t, f = in_shape
        self.num_classes = 0
        layers: list[nn.Module] = []
        ch, length = f, t
        while length > 4:
            layers += [nn.Conv1d(ch, hidden, 5, stride=2, padding=2), nn.LeakyReLU(0.2)]
            ch, length = hidden, (length + 1) // 2
        self.body = nn.Sequential(*layers, nn.Flatten())
        self.out = nn.Linear(ch * length, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.transpose(1, 2))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.out(self.features(x)).squeeze(1)


class GRUGenerator(nn.Module):
    """z [N, z_dim] -> sequences [N, T, F]."""

    def __init__(
        self, z_dim: int, out_shape: tuple[int, int], *, hidden: int = 64, num_classes: int = 0
    ) -> None:
        super().__init__()
        self.z_dim, self.out_shape, self.num_classes = z_dim, tuple(out_shape), 0
        self.h0 = nn.Linear(z_dim, hidden)
        self.gru = nn.GRU(z_dim, hidden, batch_first=True)
        self.out = nn.Linear(hidden, out_shape[1])

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        t = self.out_shape[0]
        h, _ = self.gru(z[:, None, :].expand(-1, t, -1), torch.tanh(self.h0(z))[None])
        return self.out(h)


class GRUDiscriminator(nn.Module):
    """sequences [N, T, F] -> logits [N]."""

    def __init__(
        self, in_shape: tuple[int, int], *, hidden: int = 64, num_classes: int = 0
    ) -> None:
        super().__init__()
        self.num_classes = 0
        self.gru = nn.GRU(in_shape[1], hidden, batch_first=True)
        self.out = nn.Linear(hidden, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden state [N, hidden]."""
        return self.gru(x)[1][-1]

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.out(self.features(x)).squeeze(1)
