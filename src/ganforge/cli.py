"""The `ganforge` command: train, sample, presets (and the game lab).

Bad input of any kind (a config key, a data file, a checkpoint) prints one line
`ganforge: error: ...` to stderr and exits with code 2, without a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

from ganforge.errors import GanforgeError


def _train_parser(sub) -> None:
    p = sub.add_parser("train", help="train a GAN (default: the 'digits' preset)")
    p.add_argument("--preset", default=None, help="preset name (see `ganforge presets`)")
    p.add_argument("--data-dir", help="folder holding the dataset files")
    p.add_argument("--data", dest="data_file", help="a .npy/.csv point file (dataset 'points')")
    p.add_argument("--dataset", help="dataset name, overriding the preset's")
    p.add_argument("--steps", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--out", help="run folder (default runs/<preset>-<time>)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config key, e.g. --set g_opt.lr=1e-3 (repeatable)")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.add_argument("--resume", metavar="RUN", help="continue the run in this folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _overrides(args) -> dict:
    from ganforge.config import parse_set_args

    ov = {}
    if args.data_dir is not None:
        ov["data.data_dir"] = args.data_dir
    if args.data_file is not None:
        ov["data.data_file"] = args.data_file
        ov.setdefault("data.dataset", "points")
    if args.dataset is not None:
        ov["data.dataset"] = args.dataset
    for key, val in (("train.steps", args.steps), ("train.batch_size", args.batch_size),
                     ("train.seed", args.seed)):
        if val is not None:
            ov[key] = val
    ov.update(parse_set_args(args.set))
    return ov


def cmd_train(args) -> int:
    from ganforge.presets import DEFAULT_PRESET, preset_config
    from ganforge.runner import make_trainer, resume_trainer

    ov = _overrides(args)
    if args.resume:
        if args.preset or args.out:
            raise GanforgeError("--resume takes its config from the run; drop --preset/--out")
        if args.dry_run:
            raise GanforgeError("--dry-run cannot be combined with --resume")
        trainer = resume_trainer(args.resume, overrides=ov, quiet=args.quiet)
        cfg = trainer.cfg
        resumed = True
        if trainer.is_main:
            print(f"resuming {trainer.run_dir} at step {trainer.step} of {cfg.train.steps}")
    else:
        # A point file with no preset trains the 2-D MLP preset: the image default cannot read points.
        default = "ring8" if args.data_file is not None else DEFAULT_PRESET
        cfg = preset_config(args.preset or default, ov)
        if args.dry_run:
            print(cfg.to_json())
            return 0
        run_dir = Path(args.out) if args.out else Path("runs") / f"{cfg.preset}-{time.strftime('%Y%m%d-%H%M%S')}"
        if (run_dir / "checkpoints").exists():
            raise GanforgeError(f"{run_dir}: already holds a run; use --resume {run_dir} or another --out")
        check_writable_dir(run_dir, "--out")
        trainer = make_trainer(cfg, run_dir, quiet=args.quiet)
        resumed = False
    summary = trainer.fit(resumed=resumed)
    from ganforge.training import distributed

    distributed.teardown()
    if trainer.is_main:
        last = summary["last"]
        losses = "  ".join(f"{k}={v:.3f}" for k, v in last.items()
                           if "/" in k and isinstance(v, float) and not k.startswith(("diag/", "eval/")))
        done = "interrupted after" if summary["signal"] else "trained"
        print(f"{done} {summary['steps_run']} steps in {summary['seconds']:.1f}s "
              f"(step {summary['step']}/{cfg.train.steps})  {losses}")
        print(f"run folder:  {summary['run_dir']}")
        if summary["grid"]:
            print(f"samples:     {summary['grid']}")
        if summary["animation"]:
            print(f"animation:   {summary['animation']}")
    code = 128 + summary["signal"] if summary["signal"] else 0  # 130 for SIGINT, 143 SIGTERM
    if trainer.dist.enabled:
        # Under torchrun on CPU/gloo, about 1 exit in 10 aborted (SIGABRT, "terminate called
        # without an active exception") in interpreter finalisation, after the group was
        # destroyed: a c10d thread outlives its owner. Every file is written and closed by now.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def check_writable_dir(path: Path, what: str) -> None:
    """A one-line error, before any work, when folder `path` could not be created or written."""
    p = Path(path).resolve()
    if p.exists() and not p.is_dir():
        raise GanforgeError(f"{what} {path}: exists and is not a folder")
    base = p
    while not base.exists():
        base = base.parent
    if not base.is_dir() or not os.access(base, os.W_OK | os.X_OK):
        raise GanforgeError(f"{what} {path}: {base} is not a writable folder")


def cmd_presets(args) -> int:
    from ganforge.presets import DEFAULT_PRESET, PRESETS

    width = max(len(n) for n in PRESETS)
    for name, (desc, _) in PRESETS.items():
        mark = " (default)" if name == DEFAULT_PRESET else ""
        print(f"{name:<{width}}  {desc}{mark}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from ganforge import __version__

    parser = argparse.ArgumentParser(prog="ganforge", description="Train, diagnose and evaluate GANs.")
    parser.add_argument("--version", action="version", version=f"ganforge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _train_parser(sub)
    sub.add_parser("presets", help="list the presets")
    # Other subcommands live beside the code they drive; each module offers add_parser(sub),
    # which sets `func` on its parser. Imported plainly: a broken module fails loudly.
    from ganforge.diagnostics import report
    from ganforge.games import cli as games_cli
    from ganforge.metrics import cli as metrics_cli
    from ganforge.sampling import cli as sampling_cli
    from ganforge.sampling import translate, traverse

    for mod in (sampling_cli, games_cli, metrics_cli, report, traverse, translate):
        mod.add_parser(sub)
    return parser


COMMANDS = {"train": cmd_train, "presets": cmd_presets}


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one line, without the source line Python echoes by default."""
    (file or sys.stderr).write(f"ganforge: warning: {str(message).splitlines()[0]}\n")


def _closed_stdout() -> int:
    """The reader of our output went away (`ganforge ... | head -1`): one line, no traceback, and
    no second BrokenPipeError when Python flushes stdout at exit."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    print("ganforge: error: standard output was closed before the command finished",
          file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            # each warning once per process, and once per run: only torchrun's rank 0 shows them
            warnings.simplefilter("once" if os.environ.get("RANK", "0") == "0" else "ignore")
            code = args.func(args) if args.command not in COMMANDS else COMMANDS[args.command](args)
            sys.stdout.flush()  # a closed pipe shows here, inside the handler below
            return code
    except GanforgeError as e:
        print(f"ganforge: error: {e}", file=sys.stderr)
        return 1 if type(e).__name__ == "TrainingDiverged" else 2
    except KeyboardInterrupt:
        print("ganforge: interrupted", file=sys.stderr)
        return 130
    except OSError as e:
        if isinstance(e, BrokenPipeError):
            return _closed_stdout()
        # a file system that refuses what a check could not foresee (/proc, a full disk)
        where = f"{e.filename}: " if e.filename else ""
        print(f"ganforge: error: {where}{e.strerror or e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
