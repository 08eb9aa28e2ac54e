"""`ganforge traverse RUN`: latent traversals of an InfoGAN generator, one code at a time.

For each code, a grid whose rows share a noise vector (and the other codes) and whose columns
vary only that code: the K values of the categorical code (`traverse-categorical.png`), and
`--steps` values from -1 to 1 of each continuous code j (`traverse-continuous-{j}.png`).
A disentangled code changes one factor along a row (Chen et al. 2016, Fig. 2).

`--out` names a folder (no suffix) for one PNG per code, or a `.png` file for one picture that
stacks the codes' grids top to bottom, a blank row between two.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ganforge.errors import GanforgeError


def traversal_grids(g, *, rows: int = 8, steps: int = 10, seed: int = 0) -> dict[str, torch.Tensor]:
    """Traversal images for an `InfoGenerator` g: name -> [rows * cols, C, H, W] in [-1, 1],
    row-major (row r = noise r, column = code value)."""
    gen = torch.Generator().manual_seed(seed)
    k, c = g.categorical, g.continuous
    z_dim = g.net.z_dim
    n_noise = z_dim - k - c
    if g.z_dist == "normal":
        noise = torch.randn(rows, n_noise, generator=gen)
    else:
        noise = torch.rand(rows, n_noise, generator=gen) * 2 - 1
    base_c = torch.randint(max(k, 1), (rows,), generator=gen)
    base_u = torch.zeros(rows, c)
    out = {}
    with torch.no_grad():
        if k:
            cs = torch.arange(k).repeat(rows)
            out["categorical"] = g.from_codes(
                cs, base_u.repeat_interleave(k, 0), noise.repeat_interleave(k, 0)
            )
        values = torch.linspace(-1, 1, steps)
        for j in range(c):
            u = base_u.repeat_interleave(steps, 0)
            u[:, j] = values.repeat(rows)
            out[f"continuous-{j}"] = g.from_codes(
                base_c.repeat_interleave(steps, 0), u, noise.repeat_interleave(steps, 0)
            )
    return out


def cmd_traverse(args) -> int:
    from ganforge.nets.heads import InfoGenerator
    from ganforge.sampling.generator import load_generator
    from ganforge.visuals.images import save_image_grid

    g = load_generator(args.run, ema=not args.no_ema)
    if not isinstance(g.net, InfoGenerator):
        raise GanforgeError(
            f"{args.run}: not an InfoGAN run (no latent codes); train one with "
            f"--preset infogan-digits or --set loss.objective=infogan"
        )
    if g.data["kind"] != "image":
        raise GanforgeError(f"{args.run}: traversal grids need image data, got {g.data['kind']}")
    if args.rows < 1 or args.steps < 2:
        raise GanforgeError(
            f"--rows {args.rows} / --steps {args.steps}: need rows >= 1, steps >= 2"
        )
    out = _check_out(args.out)
    grids = traversal_grids(g.net, rows=args.rows, steps=args.steps, seed=args.seed)
    if out.suffix == ".png":
        x, cols = stack_grids(grids, rows=args.rows)
        save_image_grid(x, out, nrow=cols)
        blocks = ", ".join(f"{name} ({len(b) // args.rows} values)" for name, b in grids.items())
        print(f"wrote {out} ({args.rows} rows per code, top to bottom: {blocks})")
        return 0
    out.mkdir(exist_ok=True)
    for name, x in grids.items():
        cols = len(x) // args.rows
        path = save_image_grid(x, out / f"traverse-{name}.png", nrow=cols)
        print(f"wrote {path} ({args.rows} rows x {cols} values of the {name} code)")
    return 0


def _check_out(text: str) -> Path:
    """--out as a folder (no suffix) or one .png file, whose parent folder must exist."""
    out = Path(text)
    if out.suffix not in ("", ".png"):
        raise GanforgeError(
            f"--out {text}: must end in .png (one picture) or have no suffix (a folder of "
            f"one PNG per code)"
        )
    if not out.parent.is_dir():
        raise GanforgeError(f"--out {text}: folder {out.parent} does not exist")
    if out.suffix == ".png" and out.is_dir():
        raise GanforgeError(f"--out {text}: is a folder; remove it or name another file")
    if not out.suffix and out.exists() and not out.is_dir():
        raise GanforgeError(f"--out {text}: exists and is not a folder")
    return out


def stack_grids(grids: dict[str, torch.Tensor], *, rows: int) -> tuple[torch.Tensor, int]:
    """The grids of `traversal_grids` as one grid: blocks top to bottom, each padded with blank
    (white) tiles to the widest block's columns, a blank row between two blocks.
    Returns (images [N, C, H, W] row-major, columns)."""
    cols = max(len(x) // rows for x in grids.values())
    parts = []
    for i, x in enumerate(grids.values()):
        blank = torch.ones(1, *x.shape[1:])  # +1 is white, like the grid's padding
        if i:
            parts.append(blank.expand(cols, -1, -1, -1))
        k = len(x) // rows
        block = x.reshape(rows, k, *x.shape[1:])
        fill = blank.expand(rows * (cols - k), -1, -1, -1).reshape(rows, cols - k, *x.shape[1:])
        parts.append(torch.cat([block, fill], dim=1).reshape(rows * cols, *x.shape[1:]))
    return torch.cat(parts), cols


def add_parser(sub) -> None:
    p = sub.add_parser("traverse", help="InfoGAN latent traversals: vary one code at a time")
    p.add_argument("run", help="run folder or checkpoint file of an InfoGAN run")
    p.add_argument(
        "--out",
        default=".",
        help="a folder (no suffix) for one traverse-<code>.png grid per code, or a .png file "
        "for one picture with every code's grid stacked top to bottom (default: .)",
    )
    p.add_argument("--rows", type=int, default=8, help="noise vectors (grid rows)")
    p.add_argument("--steps", type=int, default=10, help="values per continuous code")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-ema", action="store_true", help="use the raw G weights, not the EMA")
    p.set_defaults(func=cmd_traverse)
