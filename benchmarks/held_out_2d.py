"""Held-out 2-D layouts: do `ring8-best` and `grid25-best` hold their targets off the layouts they
were tuned on?

The two presets were tuned on PacGAN's ring (8 modes, radius 1, std 0.01) and grid (5 x 5,
spacing 2, std 0.05), with equal mode weights. `LAYOUTS` fixes other mixtures of each family
(mode counts, radii, spacings, stds, unequal weights); each runs the family's preset, unchanged
but for the layout (`data.*`), `--seeds` seeds, one process, one thread. Each run is scored on
2,500 samples two ways: G alone, and G through discriminator rejection sampling with the preset's
settings (`train.drs_*`; `DRS`, grid25-best's, for a preset without them). R is fitted after
the last step and never touches training, so G is trained once without it and kept (runs/), and
R is fitted here on it exactly as the preset's callback would (same seed): a change of DRS
settings alone (`--set train.drs_freq=...`) refits R without training again.

Scores are those of benchmarks/modes.py, against the layout's true weights w (K modes, n
samples): high-quality share (within 3 std of a centre), reverse KL(p_hat || w) of the
high-quality histogram, and strict modes, here proportional to the weight: mode k needs
>= ceil(20 * (n / 2500) * w_k * K) high-quality samples (20 of 2,500 for equal weights, as in
docs/modes.md; a mode at half the average weight needs 10). "lightest" is the least-drawn
mode's share over its true weight (1 = exact, 0 = missed). CPU seconds are process time: for G
alone, building and training the run and drawing its samples; with rejection, also fitting R
and drawing through it. The quality target, per run: every mode strict, >= 97% high quality,
KL <= 0.02; the 60-CPU-s one is read off the CPU column (see `meets`).

    python benchmarks/held_out_2d.py --seeds 3 --doc docs/held-out-2d.md
    python benchmarks/held_out_2d.py --no-train --seeds 3 --doc docs/held-out-2d.md  # cached only
    python benchmarks/held_out_2d.py --layouts ring12-r1.5 --seeds 1 --set train.drs_freq=5 \
        --tag ", R freq 5"                       # a variant; prints its table

Finished runs are cached in `--workdir` (rows/, keyed by the resolved config G trains with, the DRS settings, seed
and samples), so a rerun skips them. A rejection run that keeps under 0.25% of G's points (50
pools of 20,000) is counted as failed. `--doc` replaces the table between the file's
`<!-- table -->` markers and keeps the rest (the reading).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shlex
import sys
import time
from pathlib import Path

from fit_guard import fit_to_end
from rows import mean_std

ROOT = Path(__file__).resolve().parents[1]
PAPER_SAMPLES = 2500
STRICT_PER_PAPER = 20  # high-quality samples of 2,500 an equal-weight mode needs

# weights of 8 (ring) and of 25 (grid) modes, heaviest to lightest 8 : 1 in both families; the
# grid's fall off diagonally, from the corner (-4, -4) to the corner (4, 4), by 2^(-3/8) per step
_RING_W = "4,2,2,1,1,1,0.5,0.5"
_GRID_W = ",".join(f"{2 ** (-3 * (i + j) / 8):.4f}" for i in range(5) for j in range(5))

# name: (preset, layout overrides); the first of each family is the layout it was tuned on
LAYOUTS: dict[str, tuple[str, dict]] = {
    "ring8": ("ring8-best", {}),
    # the tuned ring scaled by 2 (radius and std), two fewer modes
    "ring6-r2-std0.02": ("ring8-best", {"data.n_modes": 6, "data.radius": 2.0, "data.std": 0.02}),
    # half again as many modes on a larger circle: neighbours as far apart as in ring8
    "ring12-r1.5": ("ring8-best", {"data.n_modes": 12, "data.radius": 1.5}),
    "ring8-weighted": ("ring8-best", {"data.mode_weights": _RING_W}),
    "grid25": ("grid25-best", {}),
    "grid16-sp3": ("grid25-best", {"data.n_modes": 16, "data.spacing": 3.0}),
    "grid36-sp1.5": ("grid25-best", {"data.n_modes": 36, "data.spacing": 1.5}),
    "grid25-weighted": ("grid25-best", {"data.mode_weights": _GRID_W}),
}

# grid25-best's rejection sampling, for a preset without it
DRS = {"train.drs_steps": 3000, "train.drs_calib_steps": 500, "train.drs_freq": 20.0,
       "train.drs_quantile": 0.9995}


def strict_floors(weights: list[float], n: int) -> list[int]:
    """Per-mode high-quality counts a mode needs: ceil(20 * (n / 2500) * w_k * K), w normalised.

    Equal weights give ceil(20 n / 2500) for every mode (benchmarks/modes.py's strict_min)."""
    k, total = len(weights), sum(weights)
    return [math.ceil(STRICT_PER_PAPER * n / PAPER_SAMPLES * w / total * k - 1e-9)
            for w in weights]


def score(x, centres, std: float, weights: list[float], n: int) -> dict:
    """Mode statistics of points x [n, 2] against the true weights (ganforge.metrics)."""
    from ganforge.metrics import mixture_mode_stats

    st = mixture_mode_stats(x, centres, std, weights=weights)
    counts = st["counts"]
    hq = max(sum(counts), 1)
    return {
        "modes_strict": sum(c >= f for c, f in zip(counts, strict_floors(weights, n))),
        "high_quality": st["high_quality"],
        "reverse_kl": st["reverse_kl"],
        # the least-drawn mode relative to its weight: 0 = missed, 1 = drawn at its rate
        "lightest": min(c / hq / (w / sum(weights)) for c, w in zip(counts, weights)),
        "counts": counts,
    }


def _drs(trainer, drs: dict):
    """Fit the density-ratio net R on a trained G, as the preset's RejectionSampling callback
    does at the last step (same seed, same real-data scale), with the job's DRS settings."""
    from ganforge.sampling.rejection import fit_ratio

    seed = trainer.cfg.train.seed
    with trainer.sampling() as nets:
        g = nets[trainer.objective.sample_net]
        return fit_ratio(
            lambda z: g(z.to(trainer.device)).float().cpu(),
            lambda k, gen: trainer.prior(k, gen, device="cpu"),
            lambda k, gen: trainer.data.sample(k, gen).x.float(),
            dim=trainer.spec.shape[0],
            real_std=float(trainer.data.real_sample(10_000, seed=seed).x.float().std()),
            freq=drs["train.drs_freq"], steps=drs["train.drs_steps"],
            calib_steps=drs["train.drs_calib_steps"], seed=seed + 77_777,
        )


def _trained(job: dict):
    """(trainer at its last step, CPU-s of building and training it). G is trained without R
    (R never touches training) and kept in runs/, so a job that changes only DRS settings
    refits R on the same G instead of training again."""
    import torch

    from ganforge.presets import preset_config
    from ganforge.runner import make_trainer, resume_trainer

    torch.set_num_threads(1)
    out = Path(job["workdir"]) / "runs" / job["train_key"]
    done = out / "train_cpu.json"
    if done.is_file():
        return resume_trainer(out, quiet=True, log=lambda *a: None), json.loads(done.read_text())
    ov = {"train.threads": 1, "train.device": "cpu", "train.seed": job["seed"],
          "train.sample_every": 10**9, "train.checkpoint_every": 10**9,
          **job["train_overrides"], "train.drs_steps": 0}
    t0 = time.process_time()
    trainer = make_trainer(preset_config(job["preset"], ov), out, quiet=True, log=lambda *a: None)
    fit_to_end(trainer)
    cpu = time.process_time() - t0
    done.write_text(json.dumps(cpu))
    return trainer, cpu


def run(job: dict) -> dict:
    """Train (or reload) one (layout, seed); score G alone and G through rejection sampling."""
    import torch

    from ganforge.errors import ConfigError
    from ganforge.sampling.rejection import rejection_sample

    trainer, train_cpu = _trained(job)
    spec, n, seed = trainer.spec, job["samples"], job["seed"]
    weights = list(spec.mode_weights or [1.0] * len(spec.modes))
    row = {k: job[k] for k in ("layout", "tag", "preset", "overrides", "seed", "samples")}
    row["k"] = len(weights)
    with trainer.sampling() as nets:
        g = nets[trainer.objective.sample_net]
        gen = torch.Generator().manual_seed(10_000 + seed)

        @torch.no_grad()
        def fake(k: int) -> torch.Tensor:
            return g(trainer.prior(k, gen, device="cpu").to(trainer.device)).float().cpu()

        t = time.process_time()
        row["g_alone"] = score(fake(n), spec.modes, spec.mode_std, weights, n)
        row["g_alone"]["cpu_s"] = train_cpu + time.process_time() - t
        t = time.process_time()
        ratio = _drs(trainer, job["drs"])
        gen.manual_seed(10_000 + seed)  # the same latents as G alone's to start with
        try:
            # 50 pools of 20,000: a run keeping under 0.25% of G's points has failed
            x, rate = rejection_sample(fake, ratio, n, quantile=job["drs"]["train.drs_quantile"],
                                       gen=gen, max_draws=50)
        except ConfigError as e:
            row["rejection"] = {"failed": str(e)}
        else:
            row["rejection"] = {**score(x, spec.modes, spec.mode_std, weights, n),
                                "acceptance": rate}
        row["rejection"]["cpu_s"] = train_cpu + time.process_time() - t
    return row


def jobs_for(args) -> list[dict]:
    from ganforge.presets import PRESETS, preset_config

    jobs = []
    for layout in args.layouts:
        preset, data = LAYOUTS[layout]
        base = PRESETS[preset][1]
        ov = {**data, **args.overrides}
        # rejection sampling as the preset has it, else grid25-best's, with --set on top
        cfg = preset_config(preset, {**({} if base.get("train.drs_steps") else DRS), **ov})
        drs = {k: getattr(cfg.train, k.split(".")[1]) for k in DRS}
        ov = {k: v for k, v in ov.items() if k not in DRS}
        # G's training is keyed by the resolved config, not by how it was spelled: a changed
        # preset retrains, and a preset that adopts a `--set` value reuses the runs made with it
        trained = cfg.to_dict()
        for k in DRS:
            del trained["train"][k.split(".")[1]]
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            ident = json.dumps([trained, seed], sort_keys=True, default=str)
            train_key = f"{layout}-{hashlib.sha1(ident.encode()).hexdigest()[:10]}-s{seed}"
            ident = json.dumps([ident, drs, args.samples], sort_keys=True)
            key = f"{layout}-{hashlib.sha1(ident.encode()).hexdigest()[:10]}-s{seed}"
            jobs.append({"layout": layout, "tag": args.tag, "preset": preset,
                         "overrides": {**ov, **drs}, "train_overrides": ov, "drs": drs,
                         "seed": seed, "samples": args.samples, "workdir": args.workdir,
                         "key": key, "train_key": train_key})
    return jobs


def cached_run(job: dict, *, train: bool = True) -> dict | None:
    """The job's row from the work folder, or score it (training G unless it is there, and
    `train`; else None) and store the row atomically."""
    path = Path(job["workdir"]) / "rows" / f"{job['key']}.json"
    if path.is_file():
        return json.loads(path.read_text())
    if not train and not (Path(job["workdir"]) / "runs" / job["train_key"] / "train_cpu.json").is_file():
        return None
    row = run(job)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(row))
    os.replace(tmp, path)
    return row


def _mean_sd(values: list[float], fmt: str) -> str:
    m, sd = mean_std(values)
    return f"{m:{fmt}}" if len(values) == 1 else f"{m:{fmt}} ± {sd:{fmt}}"


def meets(s: dict, k: int) -> bool:
    """The per-run quality target: every mode strict, >= 97% high quality, KL <= 0.02. (The
    60-CPU-s one is the layout's own column: the cost of a run does not depend on the layout,
    only on the preset and the machine, and a shared machine inflates it.)"""
    return s["modes_strict"] == k and s["high_quality"] >= 0.97 and s["reverse_kl"] <= 0.02


def table(rows: list[dict]) -> str:
    """Markdown: per layout (and tag), G alone and G + rejection, mean ± sd over seeds."""
    header = ("| layout | preset | sampling | seeds | strict modes | high quality % | reverse KL "
              "| lightest | CPU s | seeds meeting quality target |")
    out = [header, "|" + "---|" * 10]
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["layout"], r["tag"]), []).append(r)
    for (layout, tag), rs in groups.items():
        k = rs[0]["k"]
        for name, label in (("g_alone", "G alone"), ("rejection", "G + rejection")):
            s = [r[name] for r in rs]
            ok = [v for v in s if "failed" not in v]  # a failed rejection run scores nothing
            seeds = str(len(s)) + (f" ({len(s) - len(ok)} failed)" if len(ok) < len(s) else "")
            if name == "rejection" and ok:  # the share of G's points it keeps
                label += f", keeps {_mean_sd([100 * v['acceptance'] for v in ok], '.1f')}%"
            cells = [
                f"{_mean_sd([v['modes_strict'] for v in ok], '.1f')} of {k}",
                _mean_sd([100 * v["high_quality"] for v in ok], ".1f"),
                _mean_sd([v["reverse_kl"] for v in ok], ".3f"),
                _mean_sd([v["lightest"] for v in ok], ".2f"),
            ] if ok else ["failed"] * 4
            out.append(" | ".join([
                f"| {layout}{tag}", f"`{rs[0]['preset']}`", label, seeds, *cells,
                _mean_sd([v["cpu_s"] for v in s], ".0f"),
                f"{sum(meets(v, k) for v in ok)}/{len(s)} |",
            ]))
    return "\n".join(out) + "\n"


def write_doc(path: Path, text: str) -> None:
    """Put `text` between the `<!-- table -->` markers of `path` (a new file: just them)."""
    start, end = "<!-- table -->", "<!-- /table -->"
    old = path.read_text() if path.is_file() else f"{start}\n{end}\n"
    if start not in old or end not in old:
        sys.exit(f"{path}: no {start} ... {end} markers to put the table between")
    head, rest = old.split(start, 1)
    new = f"{head}{start}\n{text}{end}{rest.split(end, 1)[1]}"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(new)
    os.replace(tmp, path)
    print(f"wrote {path}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--layouts", default=",".join(LAYOUTS),
                   help=f"comma-separated, of: {', '.join(LAYOUTS)}")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--samples", type=int, default=PAPER_SAMPLES)
    p.add_argument("--set", action="append", default=[], help="override key=value, every run")
    p.add_argument("--tag", default="", help="suffix of the layout's name in the table")
    p.add_argument("--workdir", default="/tmp/ganforge-held-out-2d")
    p.add_argument("--doc", default=None, help="write the table into this markdown file")
    p.add_argument("--no-train", action="store_true",
                   help="table of the runs already trained in --workdir only (seeds as found)")
    args = p.parse_args(argv)
    args.layouts = [s for s in args.layouts.split(",") if s]
    unknown = [s for s in args.layouts if s not in LAYOUTS]
    if unknown or args.seeds < 1 or args.samples < 1:
        p.error(f"layouts {unknown} unknown (choose from {', '.join(LAYOUTS)}), or --seeds "
                f"{args.seeds} / --samples {args.samples} below 1")
    from ganforge.config import parse_set_args
    from ganforge.errors import ConfigError

    try:
        args.overrides = parse_set_args(args.set)
    except ConfigError as e:
        p.error(str(e))
    rows = []
    for job in jobs_for(args):  # one at a time: each run's CPU seconds are its own
        r = cached_run(job, train=not args.no_train)
        if r is None:
            continue
        rows.append(r)
        print(f"{job['layout']}{args.tag} seed {job['seed']}: " + ", ".join(
            f"{name} " + (r[name]["failed"] if "failed" in r[name] else
                          f"{r[name]['modes_strict']}/{r['k']} strict, "
                          f"{100 * r[name]['high_quality']:.1f}% hq, "
                          f"KL {r[name]['reverse_kl']:.3f}, lightest {r[name]['lightest']:.2f}")
            + f", {r[name]['cpu_s']:.0f} s" for name in ("g_alone", "rejection")), flush=True)
    text = table(rows)
    print(text)
    if args.doc:
        import torch

        cmd = "python " + " ".join([os.path.relpath(sys.argv[0], ROOT),
                                    *map(shlex.quote, sys.argv[1:])])
        note = (f"`{cmd}`: {os.cpu_count()} CPU cores, torch {torch.__version__}, one thread, "
                f"one run at a time; {time.strftime('%Y-%m-%d')}\n\n")
        write_doc(Path(args.doc), note + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
