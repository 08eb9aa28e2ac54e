"""Synthetic 2-D Gaussian mixtures for mode-collapse experiments: `ring8` and `grid25`.

The protocol follows PacGAN (Lin et al., 2018, arXiv 1712.04086, section 5): a ring of 8 modes of
radius 1 with std 0.01, and a 5 x 5 grid of modes at {-4,-2,0,2,4}^2 with std 0.05. A sample picks a
mode uniformly, then adds isotropic Gaussian noise, so the data are infinite and every batch is
fresh. Mode centres and std are exposed in `DataSpec.modes` / `mode_std` so the metrics can count
modes hit and "high-quality" samples (within 3 std of a centre). `weights` gives the modes unequal
probabilities (a held-out layout a preset was not tuned on); the metrics then compare the mode
histogram with those weights instead of the uniform one.
"""

from __future__ import annotations

import math

import torch

from ganforge.data.base import Batch, Dataset, DataSpec
from ganforge.errors import ConfigError


def ring_centres(n_modes: int = 8, *, radius: float = 1.0) -> torch.Tensor:
    """Centres on a circle: c_k = radius * (cos(2 pi k / K), sin(2 pi k / K)), k = 0..K-1.

    Returns [K, 2] float32.
    """
    k = torch.arange(n_modes, dtype=torch.float64)
    angle = 2 * math.pi * k / n_modes
    return (radius * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)).float()


def grid_centres(n_modes: int = 25, *, spacing: float = 2.0) -> torch.Tensor:
    """Centres on a g x g grid (g = sqrt(K)) with the given spacing, centred on the origin.

    For K=25, spacing=2: {-4,-2,0,2,4}^2. Row-major order (x varies slowest). Returns [K, 2] float32.
    """
    g = math.isqrt(n_modes)
    if g * g != n_modes:
        raise ConfigError(f"grid25: n_modes={n_modes} is not a perfect square (e.g. 9, 16, 25, 36)")
    axis = (torch.arange(g, dtype=torch.float64) - (g - 1) / 2) * spacing
    gx, gy = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1).float()


def parse_weights(name: str, text: str | None, k: int) -> tuple[float, ...] | None:
    """'1,1,2,4' -> the normalised weights of k modes; None for None. One-line errors."""
    if text is None:
        return None
    try:
        w = [float(v) for v in str(text).split(",")]
    except ValueError:
        raise ConfigError(f"{name}: data.mode_weights={text!r}: comma-separated numbers") from None
    if len(w) != k or not all(math.isfinite(v) and v > 0 for v in w):
        raise ConfigError(f"{name}: data.mode_weights={text!r}: needs {k} positive finite numbers "
                          "(one per mode)")
    return tuple(v / sum(w) for v in w)


class GaussianMixture(Dataset):
    """A mixture of isotropic Gaussians around `centres` [K, D], equal weights unless `weights`.

    `sample(n, generator)` returns Batch(x [n, D] float32 in data units, y [n] int64 mode index).
    `shard` returns self: every rank draws fresh samples from its own generator.
    """

    def __init__(self, centres: torch.Tensor, std: float, *, name: str,
                 weights: tuple[float, ...] | None = None) -> None:
        if centres.ndim != 2 or len(centres) == 0:
            raise ConfigError(f"{name}: centres must be a non-empty [K, D] tensor")
        self.centres = centres.float()
        self.std = float(std)
        k, d = self.centres.shape
        self.weights = None if weights is None else torch.tensor(weights, dtype=torch.float64)
        ident = ",".join(f"{v:.6g}" for v in self.centres.flatten().tolist())
        if weights is not None:  # named only when set: equal-weight identities stay as they were
            ident += ":weights=" + ",".join(f"{v:.6g}" for v in weights)
        self.spec = DataSpec(
            name=name,
            kind="points",
            shape=(d,),
            num_classes=k,
            modes=self.centres.clone(),
            mode_std=self.std,
            identity=f"{name}:K={k}:std={self.std:.6g}:centres={ident}",
            mode_weights=None if weights is None else tuple(float(v) for v in weights),
        )

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        k, d = self.centres.shape
        if self.weights is None:
            y = torch.randint(k, (n,), generator=generator)
        else:
            y = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        noise = torch.randn(n, d, generator=generator)
        return Batch(self.centres[y] + self.std * noise, y)

    def shard(self, rank: int, world: int) -> GaussianMixture:
        return self


def _positive(name: str, key: str, value: float, *, allow_zero: bool = False) -> float:
    ok = value >= 0 if allow_zero else value > 0
    if not (ok and math.isfinite(value)):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{name}: {key}={value} must be a finite number {bound}")
    return float(value)


def _modes(name: str, n_modes: int) -> int:
    if isinstance(n_modes, bool) or not isinstance(n_modes, int) or n_modes < 1:
        raise ConfigError(f"{name}: n_modes={n_modes!r} must be a positive integer")
    return n_modes


def ring8(
    *, n_modes: int | None = None, radius: float | None = None, std: float | None = None,
    weights: str | None = None,
) -> GaussianMixture:
    """PacGAN's ring: n_modes (default 8) on a circle of `radius` (1.0), std 0.01; `weights`
    (comma-separated, one per mode) makes them unequal."""
    k = _modes("ring8", 8 if n_modes is None else n_modes)
    r = _positive("ring8", "radius", 1.0 if radius is None else radius)
    s = _positive("ring8", "std", 0.01 if std is None else std, allow_zero=True)
    return GaussianMixture(ring_centres(k, radius=r), s, name="ring8",
                           weights=parse_weights("ring8", weights, k))


def grid25(
    *, n_modes: int | None = None, spacing: float | None = None, std: float | None = None,
    weights: str | None = None,
) -> GaussianMixture:
    """PacGAN's grid: n_modes (default 25, a square) on a grid of `spacing` (2.0), std 0.05;
    `weights` (comma-separated, one per mode, row-major) makes them unequal."""
    k = _modes("grid25", 25 if n_modes is None else n_modes)
    sp = _positive("grid25", "spacing", 2.0 if spacing is None else spacing)
    s = _positive("grid25", "std", 0.05 if std is None else std, allow_zero=True)
    return GaussianMixture(grid_centres(k, spacing=sp), s, name="grid25",
                           weights=parse_weights("grid25", weights, k))
