"""The training preview: one picture of a batch of samples, drawn the way its data kind reads.

Images become a grid, 2-D (or higher) points a scatter plot over the real data and the mixture's
modes, sequences a plot beside real ones. The trainer calls `save_preview` at every
`train.sample_every`; what the batch holds is the objective's choice (`Objective.preview`).
"""

from __future__ import annotations

from pathlib import Path

import torch

# how many real samples a preview shows beside the fakes, and how many fakes, by data kind
REAL_FOR = {"sequence": 8, "points": 2000}
POINTS_PER_PREVIEW = 2000


def save_preview(x: torch.Tensor, spec, path: str | Path, *, real: torch.Tensor | None = None,
                 title: str = "") -> Path:
    """Write samples `x` (images [N, C, H, W] in [-1, 1], points [N, D], sequences [N, T, F]);
    image-to-image previews come as rows of columns [N, K, C, H, W] (input | output | target)."""
    from ganforge.visuals.images import save_image_grid, save_scatter

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    x = x.detach().float().cpu()
    if spec.kind == "image":
        if x.dim() == 5:
            return save_image_grid(x.flatten(0, 1), path, nrow=x.shape[1])
        return save_image_grid(x, path)
    if spec.kind == "sequence":
        from ganforge.visuals.sequences import save_sequence_plot

        return save_sequence_plot(x, path, real=real, title=title)
    return save_scatter(x[:, :2], path, real=None if real is None else real[:, :2],
                        modes=spec.modes, title=title)


def finish_previews(run_dir: Path, last: Path | None) -> tuple[Path | None, Path | None]:
    """After training: the last preview copied to `samples.png` and all previews as
    `training.gif`; returns both paths (None where there is nothing to write)."""
    from ganforge.visuals.images import save_animation

    run_dir = Path(run_dir)
    frames = sorted((run_dir / "samples").glob("step-*.png"))
    anim = save_animation(frames, run_dir / "training.gif")
    if last is None:
        return None, anim
    final = run_dir / "samples.png"
    final.write_bytes(Path(last).read_bytes())
    return final, anim
