"""Differentiable augmentation of everything D sees, for GANs on small datasets.

DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training"):
the same random, differentiable transforms T are applied to real and fake images alike, in D's
phase and G's, so D learns from T(x) and T(G(z)) and G's gradient flows through T. Since both
sides pass through T, G is not pushed to draw augmented images (no leak into the samples), and D
cannot memorise a small training set as easily. The three policies, on images in [-1, 1] with
the paper's strengths:
- color: brightness x + (u - 0.5), saturation (x - mean_c) * 2u + mean_c, contrast
  (x - mean_chw) * (u + 0.5) + mean_chw, u ~ U(0, 1) per sample and transform;
- translation: an integer shift of up to 1/8 of the image size in each axis, zero-padded;
- cutout: a square of half the image size, at a random centre, set to zero.

Adaptive strength (ADA, Karras et al. 2020, "Training Generative Adversarial Networks with
Limited Data"): each transform is applied to each sample with probability p, a buffer of the
module (so it is saved in every checkpoint). p = 1 is DiffAugment as published; the controller
that moves p from D's overfitting signal is training/ada.py. ADA's own pipeline (18 transforms,
geometric ones among them) is larger; ganforge uses DiffAugment's three with ADA's p and rule.

`AugmentedDiscriminator(inner, policy, p)` wraps any image D: in train mode it augments x, then
calls the inner D; in eval mode it is the inner D. Randomness comes from the global torch
stream (saved with every checkpoint, training/rng.py), so resumes stay exact. Under torchrun every
rank draws the whole job's parameters (world x batch) and keeps its own rows: the ranks' streams
stay in step (rank 0's saved state is every rank's), yet each rank's images get their own
transforms.
"""

from __future__ import annotations

import torch
from torch import nn


def _share() -> tuple[int, int]:
    """(rank, world) of a torchrun job, (0, 1) otherwise."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _rand(n: int, *shape: int, x: torch.Tensor) -> torch.Tensor:
    """U(0, 1) [n, *shape]: this rank's rows of a draw made alike on every rank."""
    r, w = _share()
    return torch.rand(w * n, *shape, device=x.device, dtype=x.dtype)[r * n:(r + 1) * n]


def _randint(lo: int, hi: int, n: int, x: torch.Tensor) -> torch.Tensor:
    """Integers in [lo, hi) [n, 1, 1], this rank's rows of a shared draw (as `_rand`)."""
    r, w = _share()
    return torch.randint(lo, hi, (w * n, 1, 1), device=x.device)[r * n:(r + 1) * n]


def _apply(x: torch.Tensor, out: torch.Tensor, p: torch.Tensor | None) -> torch.Tensor:
    """out where a per-sample coin with probability p says so, else x (all of out when p is None)."""
    if p is None:
        return out
    keep = _rand(x.shape[0], 1, 1, 1, x=x) < p
    return torch.where(keep, out, x)


def color(x: torch.Tensor, p: torch.Tensor | None = None) -> torch.Tensor:
    """Brightness, saturation and contrast, each drawn per sample (Zhao et al. 2020)."""
    n = x.shape[0]

    def u() -> torch.Tensor:
        return _rand(n, 1, 1, 1, x=x)

    x = _apply(x, x + (u() - 0.5), p)
    m = x.mean(dim=1, keepdim=True)
    x = _apply(x, (x - m) * (u() * 2) + m, p)
    m = x.mean(dim=(1, 2, 3), keepdim=True)
    return _apply(x, (x - m) * (u() + 0.5) + m, p)


def translation(x: torch.Tensor, p: torch.Tensor | None = None, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by integers in [-ratio * size, ratio * size] per axis, zero-padded."""
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy, dx = _randint(-sh, sh + 1, n, x), _randint(-sw, sw + 1, n, x)
    rows = (torch.arange(h, device=x.device)[None, :, None] + dy + 1).clamp(0, h + 1)
    cols = (torch.arange(w, device=x.device)[None, None, :] + dx + 1).clamp(0, w + 1)
    padded = nn.functional.pad(x, (1, 1, 1, 1))  # index 0 and size+1 read the zero border
    idx = torch.arange(n, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[idx, rows, cols].permute(0, 3, 1, 2)
    return _apply(x, out, p)


def cutout(x: torch.Tensor, p: torch.Tensor | None = None, ratio: float = 0.5) -> torch.Tensor:
    """Zero a (ratio * H) x (ratio * W) square at a random centre of each image."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy, cx = _randint(0, h + (1 - ch % 2), n, x), _randint(0, w + (1 - cw % 2), n, x)
    ys = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    top, left = cy - ch // 2, cx - cw // 2  # the square may reach past the border: clipped
    inside = (ys >= top) & (ys < top + ch) & (xs >= left) & (xs < left + cw)
    return _apply(x, x * (~inside).unsqueeze(1).to(x.dtype), p)


# by the names config_rules.AUGMENT_POLICIES lists
OPS = {"color": color, "translation": translation, "cutout": cutout}


def diffaugment(x: torch.Tensor, policy: tuple[str, ...], p: torch.Tensor | None = None) -> torch.Tensor:
    """Images [N, C, H, W] through the policy's transforms in order; p: per-sample probability
    of each transform (a 0-dim tensor), None = always (DiffAugment)."""
    for name in policy:
        x = OPS[name](x, p)
    return x


class AugmentedDiscriminator(nn.Module):
    """D(T(x)) in train mode, D(x) in eval mode; `p` (a buffer) is the per-transform probability.

    Keeps the interface objectives rely on: `d(x, y=None)`, `d.features(x)`, `d.num_classes`."""

    def __init__(self, inner: nn.Module, policy: tuple[str, ...], p: float = 1.0) -> None:
        super().__init__()
        self.inner, self.policy = inner, tuple(policy)
        self.num_classes = getattr(inner, "num_classes", 0)
        self.register_buffer("p", torch.tensor(float(p)))

    def augment(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        # p == 1 (plain DiffAugment) needs no coins; the check reads a CPU buffer only
        p = None if self.p.device.type == "cpu" and float(self.p) >= 1.0 else self.p
        return diffaugment(x, self.policy, p)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner.features(self.augment(x))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        x = self.augment(x)
        return self.inner(x) if y is None else self.inner(x, y)
