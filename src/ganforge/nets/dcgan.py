"""DCGAN generator and discriminator (Radford et al. 2016).

G: z -> linear projection to a (c * 2^n) x s0 x s0 map -> n stride-2 transposed convolutions with
batch norm and ReLU, halving the channels each time -> tanh. D mirrors it with stride-2
convolutions and LeakyReLU(0.2) (batch norm on every block but the first, as in the paper;
`norm="none"` drops it, which gradient penalties need).

Any square size H = s0 * 2^n with s0 in 4..7 works: 28 (7 * 4), 32 (4 * 8), 64 (4 * 16), and the
8x8 digits (4 * 2). Class conditioning as in `nets.mlp`: label embedding concatenated to z in G,
projection in D (Miyato & Koyama 2018).
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.nets.activations import Tanh
from ganforge.nets.heads import label_embedding, projection_embedding, projection_logit


def layout(size: int, arch: str = "dcgan") -> tuple[int, int]:
    """(s0, n) with size = s0 * 2^n, 4 <= s0 <= 7 and n >= 1, the most resolution stages (the
    dcgan and r3gan nets grow from s0 x s0); `arch` names the nets in the error."""
    n, s = 0, size
    while s % 2 == 0 and s // 2 >= 4:
        s, n = s // 2, n + 1
    if not 4 <= s <= 7 or n == 0:
        raise ConfigError(f"{arch}: image size must be s0 * 2^n with s0 in 4..7 and n >= 1 "
                          f"(e.g. 8, 28, 32, 64), got {size}")
    return s, n


class DCGANGenerator(nn.Module):
    """z [N, z_dim] (and labels y [N]) -> images [N, C, H, H] in [-1, 1]."""

    def __init__(
        self, z_dim: int, out_shape: tuple[int, int, int], *, base: int = 64, num_classes: int = 0
    ) -> None:
        super().__init__()
        c, h, w = out_shape
        if h != w:
            raise ConfigError(f"dcgan: images must be square, got {h}x{w}")
        self.z_dim, self.out_shape, self.num_classes = z_dim, tuple(out_shape), num_classes
        self.s0, n = layout(h)
        ch = base * 2 ** (n - 1)
        emb = z_dim if num_classes else 0
        self.embed = label_embedding(num_classes, emb) if num_classes else None
        self.project = nn.Sequential(
            nn.Linear(z_dim + emb, ch * self.s0 * self.s0, bias=False),
            nn.Unflatten(1, (ch, self.s0, self.s0)),
            nn.BatchNorm2d(ch),
            nn.ReLU(),
        )
        blocks: list[nn.Module] = []
        for i in range(n - 1):
            blocks += [
                nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ch // 2),
                nn.ReLU(),
            ]
            ch //= 2
        blocks += [nn.ConvTranspose2d(ch, c, 4, 2, 1), Tanh()]
        self.body = nn.Sequential(*blocks)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            z = torch.cat([z, self.embed(y)], dim=1)
        return self.body(self.project(z))


class DCGANDiscriminator(nn.Module):
    """images [N, C, H, H] (and labels y [N], or [N, P] with label_parts P) -> logits [N]."""

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        *,
        base: int = 64,
        norm: str = "batch",
        num_classes: int = 0,
        label_parts: int = 0,
    ) -> None:
        super().__init__()
        if norm not in ("batch", "none"):
            raise ConfigError(f"dcgan: norm must be 'batch' or 'none', got {norm!r}")
        c, h, _ = in_shape
        self.num_classes = num_classes
        s0, n = layout(h)
        blocks: list[nn.Module] = []
        ch_in, ch = c, base
        for i in range(n):
            blocks.append(nn.Conv2d(ch_in, ch, 4, 2, 1, bias=(i == 0 or norm == "none")))
            if i > 0 and norm == "batch":
                blocks.append(nn.BatchNorm2d(ch))
            blocks.append(nn.LeakyReLU(0.2))
            ch_in, ch = ch, ch * 2
        self.body = nn.Sequential(*blocks, nn.Flatten())
        feat = ch_in * s0 * s0
        self.out = nn.Linear(feat, 1)
        if label_parts:  # labels [N, P], one per part (self-conditioning's cluster tuples)
            from ganforge.nets.selfcond import part_projection

            self.embed = part_projection(num_classes, label_parts, feat)
        else:
            self.embed = projection_embedding(num_classes, feat) if num_classes else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The flattened last convolutional features [N, F]."""
        return self.body(x)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return projection_logit(self.out, self.embed, self.features(x), y)
