"""`ganforge game`: run an update rule on a small game, print the distance table, draw the picture.

    ganforge game xy --method sim --lr 0.1 --steps 300 --out traj.png
    ganforge game xy --compare --out compare.png
    ganforge game dirac --loss gan --r1 1.0 --method alt
    python -m ganforge.games.cli bilinear --dim 5 --matrix random --method extragradient

`add_parser(subparsers)` registers the subcommand on the main CLI; `run(args)` returns the exit code
(2 with one line on stderr for a bad argument); `main()` runs it stand-alone.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import sys
from pathlib import Path

import torch

from ganforge.errors import ConfigError, GanforgeError
from ganforge.games.games import GAME_NAMES, Game, make_game
from ganforge.games.methods import (
    METHODS,
    XY_FORMULAS,
    Hyper,
    distances,
    get_method,
    linear_ratio,
    mean_ratio,
    simulate,
    xy_ratio,
)

PROG = "ganforge game"


def _one_line_error(parser: argparse.ArgumentParser, message: str) -> None:
    # argparse prints the whole usage first; the project promises one line per user fault.
    parser.exit(2, f"{parser.prog}: error: {message}\n")


def configure(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the `game` arguments to `parser` and make its errors one line."""
    parser.add_argument("game", help=f"one of: {', '.join(GAME_NAMES)}")
    parser.add_argument("--method", default="sim", help=f"one of: {', '.join(METHODS)}")
    parser.add_argument("--compare", action="store_true", help="run every method on one figure")
    parser.add_argument("--lr", type=float, default=0.1, help="learning rate eta > 0")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--x0", type=float, default=1.0, help="start of x (every entry)")
    parser.add_argument("--y0", type=float, default=1.0, help="start of y (every entry)")
    parser.add_argument("--out", default=None, help="PNG to write (trajectory + distance plot)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random bilinear matrix")
    parser.add_argument("--dim", type=int, default=2, help="bilinear: size of x and of y")
    parser.add_argument("--matrix", default="random", help="bilinear: random | identity")
    parser.add_argument("--loss", default="gan", help="dirac: gan | gan-sat | wgan")
    parser.add_argument("--r1", type=float, default=0.0, help="dirac: R1 weight gamma >= 0")
    parser.add_argument("--gamma", type=float, default=1.0, help="consensus weight")
    parser.add_argument("--betas", type=float, nargs=2, default=(0.0, 0.999), metavar=("B1", "B2"))
    parser.add_argument("--every", type=int, default=0, help="print every k-th step (0: ~10 rows)")
    parser.error = functools.partial(_one_line_error, parser)
    return parser


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register `game` on an argparse subparsers object; sets `func=run` as the handler."""
    parser = subparsers.add_parser(
        "game", help="gradient dynamics on xy, bilinear and Dirac-GAN games", description=__doc__
    )
    configure(parser)
    parser.set_defaults(func=run)
    return parser


def _check_out(out: str | None) -> None:
    if out is None:
        return
    parent = Path(out).expanduser().resolve().parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise ConfigError(f"--out {out}: directory {parent} does not exist or is not writable")


def _theory(method: str, game: Game, hp: Hyper) -> tuple[float | None, str]:
    """The predicted per-step ratio and where it comes from."""
    if game.name == "xy" and method in XY_FORMULAS:
        return xy_ratio(method, hp.lr, gamma=hp.gamma), XY_FORMULAS[method]
    rate = linear_ratio(method, game, hp=hp)
    return rate, ("spectral radius of the linearised step" if rate is not None else "no formula")


def _measured(dist: torch.Tensor) -> float:
    """Geometric-mean ratio over the second half of the run (the asymptotic rate), stopping where
    the distance has underflowed or overflowed."""
    ok = torch.isfinite(dist) & (dist > 1e-250) & (dist < 1e250)
    end = int(ok.long().cumprod(0).sum())  # length of the leading valid run
    d = dist[:end]
    return mean_ratio(d, start=(d.numel() - 1) // 2) if d.numel() > 1 else float("nan")


def _start(game: Game, x0: float, y0: float) -> torch.Tensor:
    k = game.dim_x
    return torch.cat(
        (
            torch.full((k,), x0, dtype=torch.float64),
            torch.full((game.dim - k,), y0, dtype=torch.float64),
        )
    )


def _fmt_rel(measured: float, theory: float | None) -> str:
    if theory is None or not math.isfinite(measured):
        return "-"
    return f"{abs(measured - theory) / theory:.1e}"


def _print_table(dist: torch.Tensor, every: int) -> None:
    print(f"{'step':>6} {'distance':>14} {'ratio':>12}")
    for t in range(0, dist.numel(), every):
        ratio = "-" if t == 0 else f"{float(dist[t] / dist[t - 1]):.8f}"
        print(f"{t:>6} {float(dist[t]):>14.6e} {ratio:>12}")
    if (dist.numel() - 1) % every:
        t = dist.numel() - 1
        print(f"{t:>6} {float(dist[t]):>14.6e} {float(dist[t] / dist[t - 1]):>12.8f}")


def run(args: argparse.Namespace) -> int:
    """Run the `game` subcommand; returns 0, or 2 after one line on stderr for a bad argument."""
    try:
        return _run(args)
    except GanforgeError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    game = make_game(
        args.game, dim=args.dim, matrix=args.matrix, seed=args.seed, loss=args.loss, r1=args.r1
    )
    hp = Hyper(lr=args.lr, gamma=args.gamma, betas=tuple(args.betas))
    methods = list(METHODS) if args.compare else [args.method]
    for m in methods:
        get_method(m)
    if args.steps < 1:
        raise ConfigError(f"--steps must be >= 1, got {args.steps}")
    if args.every < 0:
        raise ConfigError(f"--every must be >= 0, got {args.every}")
    _check_out(args.out)

    z0 = _start(game, args.x0, args.y0)
    trajs, dists = {}, {}
    with torch.no_grad():
        for m in methods:
            trajs[m] = simulate(game, m, z0, steps=args.steps, hp=hp)
            dists[m] = distances(trajs[m], game.equilibrium)

    print(
        f"game {game.name}  lr {hp.lr:g}  steps {args.steps}  start x0={args.x0:g} y0={args.y0:g}"
    )
    if not args.compare:
        print(f"method {args.method}")
        _print_table(dists[args.method], args.every or max(1, args.steps // 10))
    print(
        f"{'method':<16} {'final dist':>11} {'measured ratio':>15} {'theory':>12} {'rel.err':>8}  formula"
    )
    for m in methods:
        measured = _measured(dists[m])
        theory, source = _theory(m, game, hp)
        th = "-" if theory is None else f"{theory:.8f}"
        print(
            f"{m:<16} {float(dists[m][-1]):>11.3e} {measured:>15.8f} {th:>12} "
            f"{_fmt_rel(measured, theory):>8}  {source}"
        )
    if args.out is not None:
        from ganforge.games.plot import plot_runs  # matplotlib only when a picture is asked for

        title = f"{game.name}, lr={hp.lr:g}, {args.steps} steps"
        try:
            path = plot_runs(game, trajs, dists, out=args.out, title=title)
        except OSError as err:
            raise ConfigError(f"--out {args.out}: cannot write ({err.strerror})") from None
        print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: `python -m ganforge.games.cli xy --method sim ...`."""
    parser = configure(
        argparse.ArgumentParser(
            prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
        )
    )
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
