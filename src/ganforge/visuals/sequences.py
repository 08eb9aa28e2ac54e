"""Pictures of sequences: a few generated series (and real ones) as line plots.

Sequences are [N, T, F] in data units. The trainer's snapshot calls `save_sequence_plot` for
data of kind "sequence"; the file goes through a temporary name and `os.replace`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def sequence_plot_array(
    x: torch.Tensor,
    *,
    real: torch.Tensor | None = None,
    n: int = 8,
    feature: int = 0,
    title: str = "",
) -> np.ndarray:
    """Line plots of the first `n` sequences' feature `feature` (generated, and real in a second
    panel when given) as an RGB uint8 array [H, W, 3]."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("generated", x)] + ([("real", real)] if real is not None else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3), dpi=100, squeeze=False)
    arrays = [
        p.detach().float().cpu().reshape(p.shape[0], p.shape[1], -1)[:n, :, feature].numpy()
        for _, p in panels
    ]
    lo = min(a.min() for a in arrays)
    hi = max(a.max() for a in arrays)
    pad = 0.05 * (hi - lo + 1e-9)
    for ax, (label, _), a in zip(axes[0], panels, arrays):
        ax.plot(a.T, lw=1)
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_title(f"{label} {title}".strip(), fontsize=9)
        ax.set_xlabel("t", fontsize=8)
    fig.tight_layout()
    fig.canvas.draw()
    out = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return out


def save_sequence_plot(
    x: torch.Tensor, path: str | Path, *, real: torch.Tensor | None = None, **kw
) -> Path:
    """Write `sequence_plot_array(x, real=real, **kw)` as a PNG; x [N, T, F]."""
    path = Path(path)
    tmp = path.with_name(path.stem + ".tmp" + path.suffix)
    Image.fromarray(sequence_plot_array(x, real=real, **kw)).save(tmp)
    os.replace(tmp, path)
    return path
