"""Pictures for the game lab: trajectories over the game's vector field and distance-vs-step curves.

Uses matplotlib's object API (`Figure` + Agg canvas) rather than pyplot, so importing or calling
this module never switches a global backend or needs a display.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure

from ganforge.games.games import Game

_TINY = 1e-300  # distances below this are drawn at this floor on the log axis


def _limits(trajs: list[torch.Tensor], game: Game) -> float:
    """Half-width of the square view: the start's scale times a margin, so a diverging run cannot
    shrink the interesting part of the picture to a dot."""
    start = max(float(t[0, [0, game.dim_x]].abs().max()) for t in trajs)
    reach = max(float(t[:, [0, game.dim_x]].abs().nan_to_num(posinf=1e300).max()) for t in trajs)
    return 1.15 * max(min(reach, 4.0 * start), start, 1e-3)


def draw_field(ax, game: Game, *, lim: float, points: int = 17) -> None:
    """Arrows of -v (the direction gradient steps move in) over [-lim, lim]^2; 2-D games only.

    Arrow lengths are normalised so the field's direction stays readable where it is weak.
    """
    grid = np.linspace(-lim, lim, points)
    xx, yy = np.meshgrid(grid, grid)
    z = torch.tensor(np.stack((xx, yy), -1), dtype=torch.float64)
    v = -game.field(z).numpy()
    norm = np.hypot(v[..., 0], v[..., 1]).clip(min=1e-12)
    ax.quiver(
        xx, yy, v[..., 0] / norm, v[..., 1] / norm, color="0.7", angles="xy", scale=1.4 * points
    )


def _trajectory_axes(
    ax, game: Game, trajs: dict[str, torch.Tensor], *, first_color: int = 0
) -> None:
    lim = _limits(list(trajs.values()), game)
    if game.dim == 2:
        draw_field(ax, game, lim=lim)
    k = game.dim_x
    for i, (name, traj) in enumerate(trajs.items()):
        pts = traj[:, [0, k]].numpy()
        (line,) = ax.plot(pts[:, 0], pts[:, 1], lw=1.0, label=name, color=f"C{first_color + i}")
        ax.plot(pts[0, 0], pts[0, 1], "o", color=line.get_color(), ms=4)
    eq = game.equilibrium[[0, k]].numpy()
    ax.plot(eq[0], eq[1], "k*", ms=10, label="equilibrium")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    names = ("theta", "psi") if game.name.startswith("dirac") else ("x", "y")
    suffix = "" if game.dim == 2 else "[0]"
    ax.set_xlabel(names[0] + suffix)
    ax.set_ylabel(names[1] + suffix)


def draw_distances(ax, dists: dict[str, torch.Tensor]) -> None:
    """Distance to the equilibrium per step on a log axis, one line per method."""
    for name, d in dists.items():
        ax.semilogy(np.arange(d.numel()), d.clamp_min(_TINY).numpy(), lw=1.0, label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("distance to equilibrium")
    ax.grid(True, which="major", alpha=0.3)


def plot_runs(
    game: Game,
    trajs: dict[str, torch.Tensor],
    dists: dict[str, torch.Tensor],
    *,
    out: str | Path,
    title: str,
) -> Path:
    """Save a PNG of trajectories (over the field for 2-D games) and distance vs step.

    trajs: method -> [T + 1, D] iterates; dists: method -> [T + 1] distances (>= 0).
    One method gives two panels; several give one trajectory panel per method (so the spirals do
    not hide each other) and a shared distance panel. Returns the written path.
    """
    n = len(trajs)
    cols = 2 if n == 1 else 3
    rows = -(-(n + 1) // cols)
    fig = Figure(figsize=(4.2 * cols, 4.0 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for i, (ax, name) in enumerate(zip(axes, trajs)):
        # each method keeps its colour from the distance panel
        _trajectory_axes(ax, game, {name: trajs[name]}, first_color=i)
        if n > 1:
            ax.set_title(name)
    ax_dist = axes[n]
    draw_distances(ax_dist, dists)
    ax_dist.legend(fontsize=7)
    for ax in axes[n + 1 :]:
        ax.set_axis_off()
    fig.suptitle(title)
    path = Path(out)
    fig.savefig(path, dpi=72)
    return path
