"""`ganforge sample`: draw samples from a trained run or checkpoint, as arrays or a picture.

Nothing is written unless all of it is. The output path, --n and the space the output needs are
checked before any sampling. Everything is written in a temporary folder beside the target and
moved into place with `os.replace`; any fault (or Ctrl-C) removes that folder. A .npy file is
streamed batch by batch into a memory-mapped array, so memory stays at one batch whatever --n,
with a progress bar on stderr when there is more than one batch. Each batch is checked for
NaN/inf before it is written.

A .png shows at most PNG_MAX samples: a 100 x 100 grid of images, or a scatter of points (which
is saturated long before that). Rejection-sampled point runs (train.drs_steps) keep their points
in memory until enough are accepted, at most `rejection_limit()` (4 million 2-D points: 32 MB).
"""

from __future__ import annotations

import errno
import math
import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from ganforge.errors import GanforgeError

PNG_MAX = {"image": 10_000, "points": 100_000}


def add_parser(sub) -> None:
    p = sub.add_parser("sample", help="draw samples from a trained run or checkpoint")
    p.add_argument("run", help="run folder or checkpoint file")
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--out", required=True,
                   help=".npy (float32 arrays, streamed) or .png (grid/scatter, at most "
                        f"{PNG_MAX['image']:,} images or {PNG_MAX['points']:,} points)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--class", dest="class_", type=int, default=None, help="class for conditional G")
    p.add_argument("--no-ema", action="store_true", help="use the raw G weights, not the EMA")
    p.add_argument("--no-rejection", action="store_true",
                   help="G's own points, without the run's rejection sampling (train.drs_steps)")
    p.set_defaults(func=cmd_sample)


def _check_out(out: Path, n: int) -> None:
    """Faults of --out and --n that need no checkpoint."""
    if out.suffix not in (".npy", ".png"):
        raise GanforgeError(f"--out {out}: must end in .npy or .png")
    if not out.parent.exists():
        raise GanforgeError(f"--out {out}: folder {out.parent} does not exist")
    if not out.parent.is_dir():
        raise GanforgeError(f"--out {out}: {out.parent} is not a folder")
    if out.is_dir():
        raise GanforgeError(f"--out {out}: is an existing folder")
    if n <= 0:
        raise GanforgeError(f"--n must be positive, got {n}")


@contextmanager
def _staged(out: Path):
    """A fresh folder beside `out` to write it in; its file `out.name` replaces `out` on success.

    Creating the folder is the writability check; the folder (with whatever a writer left in
    it) is removed on any exit, so a failure leaves nothing behind.
    """
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    except OSError as e:
        raise GanforgeError(f"--out {out}: cannot write in {out.parent} ({e.strerror})") from None
    try:
        yield tmp / out.name
        try:
            os.replace(tmp / out.name, out)
        except OSError as e:
            raise GanforgeError(f"--out {out}: cannot replace it ({e.strerror})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _size(nbytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if nbytes < 1000 or unit == "TB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1000
    raise AssertionError


def _check_finite(x, start: int, run: str) -> None:
    import torch

    if not torch.isfinite(x).all():
        raise GanforgeError(
            f"{run}: the generator gave NaN/inf samples (among samples {start}..{start + len(x) - 1}); "
            f"nothing written"
        )


def _write_npy(path: Path, out: Path, batches, n: int, shape: tuple, run: str, bar: bool) -> None:
    """Stream `batches` (n samples of `shape`) into a float32 .npy at `path`."""
    import numpy as np
    from numpy.lib.format import open_memmap
    from tqdm.auto import tqdm

    try:
        arr = open_memmap(path, mode="w+", dtype=np.float32, shape=(n, *shape))
        if hasattr(os, "posix_fallocate"):
            # reserve the blocks now: a disk that fills under a sparse memmap kills us with SIGBUS
            fd = os.open(path, os.O_RDWR)
            try:
                os.posix_fallocate(fd, 0, os.fstat(fd).st_size)
            except OSError as e:
                if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL):  # a filesystem without it
                    raise
            finally:
                os.close(fd)
    except OSError as e:
        raise GanforgeError(f"--out {out}: cannot write {n} samples ({e.strerror})") from None
    i = 0
    with tqdm(total=n, unit="sample", unit_scale=True, file=sys.stderr, leave=False,
              disable=not bar, desc="sampling") as progress:
        for x in batches:
            _check_finite(x, i, run)
            if tuple(x.shape[1:]) != shape:
                raise GanforgeError(f"{run}: G gives samples {tuple(x.shape[1:])}, the run's data "
                                    f"{shape}; incompatible checkpoint")
            arr[i : i + len(x)] = x.numpy()
            i += len(x)
            progress.update(len(x))
    arr.flush()
    del arr


def cmd_sample(args) -> int:
    import torch

    from ganforge.sampling.generator import load_generator
    from ganforge.visuals.images import save_image_grid, save_scatter

    out, n = Path(args.out), args.n
    _check_out(out, n)
    with _staged(out) as tmp:
        g = load_generator(args.run, ema=not args.no_ema)
        shape = tuple(g.data["shape"])
        if out.suffix == ".npy":
            need = n * math.prod(shape) * 4 + 4096  # float32 samples + the .npy header
            free = shutil.disk_usage(out.parent).free
            if need > free:
                raise GanforgeError(
                    f"--n {n}: {out} would take {_size(need)} ({n} x {shape} float32), "
                    f"but {os.path.abspath(out.parent)} has {_size(free)} free"
                )
        else:
            kind = "image" if g.data["kind"] == "image" else "points"  # the rest: a scatter
            if n > PNG_MAX[kind]:
                raise GanforgeError(f"--n {n}: a .png shows at most {PNG_MAX[kind]:,} {kind} "
                                    f"samples; write a .npy for more")
        batch_size = 1000
        batches = g.batches(n, seed=args.seed, y=args.class_, batch_size=batch_size,
                            rejection=not args.no_rejection)
        if out.suffix == ".npy":
            # rejection draws all its points in the first batch: a bar would sit at 0 till the end
            rejects = g.ratio is not None and not args.no_rejection
            _write_npy(tmp, out, batches, n, shape, args.run, bar=n > batch_size and not rejects)
        else:
            xs, i = [], 0
            for x in batches:
                _check_finite(x, i, args.run)
                xs.append(x)
                i += len(x)
            x = torch.cat(xs)
            try:
                if g.data["kind"] == "image":
                    save_image_grid(x, tmp)
                else:
                    save_scatter(x[:, :2], tmp, modes=g.data.get("modes"), title=f"{n} samples")
            except OSError as e:
                raise GanforgeError(f"--out {out}: cannot write it ({e.strerror or e})") from None
    print(f"wrote {n} samples {shape} to {out}")
    return 0
