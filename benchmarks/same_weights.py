"""Do two versions of ganforge train the same weights? A hash of every network, EMA and
rejection-sampling net after short runs of the documented presets, to compare across a refactor.

    git worktree add /tmp/before <commit>
    python benchmarks/same_weights.py                          # this checkout
    python benchmarks/same_weights.py --src /tmp/before/src    # the other one
    (add --data-dir ../shared/data/mnist to both for stacked-mnist-best with its cluster fit)

Equal hashes mean bit-identical training (CPU, one thread). `--src` runs the other checkout in
a subprocess with its own `ganforge` on the path; checkouts from before the engine refactor
(no `ganforge.runner`) are driven through their `ganforge.trainer.Trainer`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile

from fit_guard import fit_to_end

JOBS = {
    "digits": ("digits", {"train.steps": 200}),
    "ring8-best": ("ring8-best", {"train.steps": 300, "train.drs_steps": 50,
                                  "train.drs_calib_steps": 20}),
    "grid25-best": ("grid25-best", {"train.steps": 300}),
    "infogan-digits": ("infogan-digits", {"train.steps": 150}),
    "acgan-digits": ("acgan-digits", {"train.steps": 100}),
    "ebgan-digits": ("ebgan-digits", {"train.steps": 100}),
    "wgan-gp-digits": ("wgan-gp-digits", {"train.steps": 60}),
    "cgan-digits": ("cgan-digits", {"train.steps": 100}),
}


def _tensors(module):
    return [] if module is None else [t for _, t in sorted(module.state_dict().items())]


def run_here(out: str, mnist: str | None = None) -> None:
    import torch

    torch.set_num_threads(1)
    from ganforge.presets import preset_config

    try:
        from ganforge.runner import make_trainer
    except ImportError:  # before the engine refactor
        from ganforge.trainer import Trainer as make_trainer
    jobs = dict(JOBS)
    if mnist:  # self-conditioning's cluster fit at build time, on Stacked MNIST
        jobs["stacked-mnist-best"] = ("stacked-mnist-best", {"train.steps": 20,
                                                             "data.data_dir": mnist})
    for name, (preset, ov) in jobs.items():
        cfg = preset_config(preset, {**ov, "train.threads": 1, "train.tick": 50,
                                     "train.device": "cpu", "train.diagnose": False})
        t = make_trainer(cfg, os.path.join(out, name), quiet=True, log=lambda *a: None)
        fit_to_end(t)
        ema = t.ema.get("G") if isinstance(t.ema, dict) else t.ema
        drs = t.callback("rejection") if hasattr(t, "callback") else None
        ratio = drs.ratio if drs is not None else getattr(t, "ratio", None)
        h = hashlib.sha256()
        for k in sorted(t.nets):
            for x in _tensors(t.nets[k]):
                h.update(x.detach().cpu().numpy().tobytes())
        for x in _tensors(ema) + _tensors(ratio):
            h.update(x.detach().cpu().numpy().tobytes())
        print(f"{name:16s} {h.hexdigest()[:16]}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", help="the src/ folder of another checkout to run instead")
    ap.add_argument("--data-dir", help="MNIST folder: also run stacked-mnist-best (20 steps)")
    args = ap.parse_args()
    out = tempfile.mkdtemp(prefix="same-weights-")
    if args.src:
        env = {**os.environ, "PYTHONPATH": args.src}
        code = f"import sys; sys.path.insert(0, {os.path.dirname(__file__)!r}); " \
               f"import same_weights; same_weights.run_here({out!r}, {args.data_dir!r})"
        sys.exit(subprocess.call([sys.executable, "-c", code], env=env))
    run_here(out, args.data_dir)


if __name__ == "__main__":
    main()
