"""`ganforge sample`: draw samples from a trained run or checkpoint, as arrays or a picture."""

from __future__ import annotations

from pathlib import Path

from ganforge.errors import GanforgeError


def add_parser(sub) -> None:
    p = sub.add_parser("sample", help="draw samples from a trained run or checkpoint")
    p.add_argument("run", help="run folder or checkpoint file")
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--out", required=True, help=".npy (float32 arrays) or .png (grid/scatter)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--class", dest="class_", type=int, default=None, help="class for conditional G")
    p.add_argument("--no-ema", action="store_true", help="use the raw G weights, not the EMA")
    p.add_argument("--no-rejection", action="store_true",
                   help="G's own points, without the run's rejection sampling (train.drs_steps)")
    p.set_defaults(func=cmd_sample)


def cmd_sample(args) -> int:
    import numpy as np

    from ganforge.sampling.generator import load_generator
    from ganforge.visuals.images import save_image_grid, save_scatter

    out = Path(args.out)
    if out.suffix not in (".npy", ".png"):
        raise GanforgeError(f"--out {out}: must end in .npy or .png")
    if not out.parent.exists():
        raise GanforgeError(f"--out {out}: folder {out.parent} does not exist")
    g = load_generator(args.run, ema=not args.no_ema)
    x = g.sample(args.n, seed=args.seed, y=args.class_, rejection=not args.no_rejection)
    if out.suffix == ".npy":
        tmp = out.with_name(out.stem + ".tmp.npy")
        np.save(tmp, x.numpy().astype(np.float32))
        tmp.replace(out)
    elif g.data["kind"] == "image":
        save_image_grid(x, out)
    else:
        save_scatter(x[:, :2], out, modes=g.data.get("modes"), title=f"{args.n} samples")
    print(f"wrote {args.n} samples {tuple(x.shape[1:])} to {out}")
    return 0
