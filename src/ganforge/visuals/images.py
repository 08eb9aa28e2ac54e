"""Pictures people would rather look at: image grids, 2-D scatter plots, training animations.

Images are [N, C, H, W] tensors in [-1, 1]; points are [N, 2] in data units. Everything is
written with Pillow, matplotlib (Agg backend, no display) and imageio; files go through a
temporary name and `os.replace` so a reader never sees half a picture.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def image_grid(x: torch.Tensor, *, nrow: int | None = None, pad: int = 1, scale: int = 1) -> np.ndarray:
    """Tile images [N, C, H, W] in [-1, 1] into one uint8 array [H', W', 3] (or [H', W'] for C=1)."""
    x = x.detach().float().cpu().clamp(-1, 1)
    n, c, h, w = x.shape
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    ncol = math.ceil(n / nrow)
    grid = torch.ones(c, ncol * (h + pad) + pad, nrow * (w + pad) + pad)
    for i in range(n):
        r, col = divmod(i, nrow)
        grid[:, pad + r * (h + pad) : pad + r * (h + pad) + h, pad + col * (w + pad) : pad + col * (w + pad) + w] = x[i]
    arr = ((grid + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
    arr = arr[..., 0] if c == 1 else arr
    if scale > 1:
        arr = np.kron(arr, np.ones((scale, scale) + ((1,) if arr.ndim == 3 else ()), dtype=np.uint8))
    return arr


def _tmp(path: Path) -> Path:
    return path.with_name(path.stem + ".tmp" + path.suffix)


def save_image_grid(x: torch.Tensor, path: str | Path, *, nrow: int | None = None) -> Path:
    """Write a PNG grid of images [N, C, H, W] in [-1, 1], upscaled so small images stay visible."""
    path = Path(path)
    scale = max(1, 128 // max(1, x.shape[-1]) // 2)
    img = Image.fromarray(image_grid(x, nrow=nrow, scale=scale))
    tmp = _tmp(path)
    img.save(tmp)
    os.replace(tmp, path)
    return path


def scatter_array(
    points: torch.Tensor, *, real: torch.Tensor | None = None, modes: torch.Tensor | None = None,
    title: str = "", lim: float | None = None,
) -> np.ndarray:
    """Render a 2-D scatter plot of generated points (and optionally real points and mode
    centres) to an RGB uint8 array [H, W, 3]."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    p = points.detach().float().cpu().numpy()
    if real is not None:
        r = real.detach().float().cpu().numpy()
        ax.scatter(r[:, 0], r[:, 1], s=2, c="#bbbbbb", label="real")
    ax.scatter(p[:, 0], p[:, 1], s=2, c="#1f77b4", label="generated")
    if modes is not None:
        m = modes.cpu().numpy()
        ax.scatter(m[:, 0], m[:, 1], s=30, marker="x", c="#d62728", label="modes")
    if lim is None:
        ref = np.concatenate([p] + ([real.cpu().numpy()] if real is not None else []))
        lim = float(np.abs(ref).max()) * 1.15 if len(ref) else 1.0
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=9)
    ax.legend(loc="upper right", fontsize=7, markerscale=3)
    fig.tight_layout()
    fig.canvas.draw()
    arr = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return arr


def save_scatter(points: torch.Tensor, path: str | Path, **kw) -> Path:
    """Write `scatter_array(points, **kw)` as a PNG."""
    path = Path(path)
    tmp = _tmp(path)
    Image.fromarray(scatter_array(points, **kw)).save(tmp)
    os.replace(tmp, path)
    return path


def save_animation(frames: list[str | Path], path: str | Path, *, fps: float = 4.0) -> Path | None:
    """Assemble PNG frames (same size) into a looping GIF; returns None when there are none."""
    import imageio.v3 as iio

    frames = [Path(f) for f in frames if Path(f).is_file()]
    if not frames:
        return None
    path = Path(path)
    imgs = [np.asarray(Image.open(f).convert("RGB")) for f in frames]
    tmp = _tmp(path)
    iio.imwrite(tmp, imgs, extension=".gif", duration=1000.0 / fps, loop=0)
    os.replace(tmp, path)
    return path
