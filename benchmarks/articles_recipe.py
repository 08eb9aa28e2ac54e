"""The classic articles' MLP GAN on MNIST: ganforge's `seed-mlp-mnist` against a plain PyTorch
loop of the same recipe, 5 seeds each, and the ablations that find what made the old preset
collapse.

The recipe (the articles' code): G z -> 128 ReLU -> 784 sigmoid, D 784 -> 128 ReLU -> 1 sigmoid,
pixels in [0, 1], `xavier_init` weights N(0, 2 / fan_in) and zero biases, z = 100 uniform[-1, 1],
batch 128 drawn epoch by epoch without replacement, Adam lr 1e-3 (defaults), one D step then one
G step on a fresh z, the non-saturating G loss, 30,000 steps. Data: the MNIST t10k split (the
split on hand). Each run's G draws 10,000 samples (fixed z) scored by `ganforge.metrics.evaluate`
with the cached MNIST classifier as extractor against the 10,000 real digits: the class histogram
(classes with >= 1% of the samples; the real split has 8.9-11.4% each), the KL of the
histogram to the real one, FD in the classifier's features. ganforge runs also list the
collapse warnings the live diagnostics raised (events.jsonl).

Rows: "plain loop" (this file's `plain`), "ganforge: seed-mlp-mnist" (the preset as it is now),
and ganforge rows that put back one difference of the old preset at a time (tanh on [-1, 1],
PyTorch's default init, G's step reusing the D step's z).

    python benchmarks/articles_recipe.py                       # 5 seeds, 2 workers
    python benchmarks/articles_recipe.py --seeds 1 --steps 2000 --work /tmp/rec   # a quick look
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from translation_common import MNIST, ROOT, train

N = 10000
# ganforge rows: preset overrides on top of seed-mlp-mnist
MAIN = ("plain loop", "ganforge: seed-mlp-mnist")  # --seeds each; the other rows --ablation-seeds
# --rows keys
KEYS = {"plain": "plain loop", "preset": "ganforge: seed-mlp-mnist",
        "tanh": "ganforge, tanh on [-1, 1]", "init": "ganforge, default init",
        "reuse": "ganforge, G step reuses z", "old": "ganforge, old preset (all three)"}
GANFORGE = {
    "ganforge: seed-mlp-mnist": {},
    "ganforge, tanh on [-1, 1]": {"model.pixels": "signed"},
    "ganforge, default init": {"model.init": "default"},
    "ganforge, G step reuses z": {"train.reuse": True},
    "ganforge, old preset (all three)": {"model.pixels": "signed", "model.init": "default",
                                         "train.reuse": True},
}


def plain(seed: int, steps: int, out: Path) -> None:
    """The articles' loop, written as a user would: returns nothing, saves G's weights."""
    torch.manual_seed(seed)
    raw = gzip.decompress((MNIST / "t10k-images-idx3-ubyte.gz").read_bytes())
    data = torch.from_numpy(np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 784) / 255.0).float()

    def xavier(m: nn.Linear) -> nn.Linear:  # the articles' xavier_init
        with torch.no_grad():
            m.weight.normal_(0.0, 1.0 / np.sqrt(m.in_features / 2.0))
            m.bias.zero_()
        return m

    g = nn.Sequential(xavier(nn.Linear(100, 128)), nn.ReLU(), xavier(nn.Linear(128, 784)), nn.Sigmoid())
    d = nn.Sequential(xavier(nn.Linear(784, 128)), nn.ReLU(), xavier(nn.Linear(128, 1)))
    opt_g, opt_d = torch.optim.Adam(g.parameters()), torch.optim.Adam(d.parameters())
    ones, zeros = torch.ones(128, 1), torch.zeros(128, 1)
    order, pos = torch.randperm(len(data)), 0
    for _ in range(steps):
        if pos + 128 > len(data):
            order, pos = torch.randperm(len(data)), 0
        x, pos = data[order[pos:pos + 128]], pos + 128
        # log D(x) + log(1 - D(G(z))) as the articles' sigmoid D, in the stable logit form
        loss_d = F.binary_cross_entropy_with_logits(d(x), ones) + \
            F.binary_cross_entropy_with_logits(d(g(torch.rand(128, 100) * 2 - 1).detach()), zeros)
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = F.binary_cross_entropy_with_logits(d(g(torch.rand(128, 100) * 2 - 1)), ones)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
    out.mkdir(parents=True, exist_ok=True)
    torch.save(g.state_dict(), out / "G.pt")


def run(kind: str, seed: int, steps: int, out: Path) -> float:
    """Train one row's seed in a subprocess (one thread); returns its wall seconds. ganforge rows
    go through translation_common.train (done.txt reuse, resume of an interrupted run)."""
    if kind != "plain loop":
        return train("seed-mlp-mnist", out, {**GANFORGE[kind], "train.seed": seed,
                                             "train.steps": steps, "data.data_dir": str(MNIST)})
    done = out / "done.txt"
    if done.is_file():
        return float(done.read_text())
    t0 = time.perf_counter()
    cmd = [sys.executable, __file__, "--plain", str(seed), "--steps", str(steps), "--work", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False,
                       env={**os.environ, "OMP_NUM_THREADS": "1"})
    if r.returncode != 0:
        raise SystemExit(f"plain loop seed {seed}: exit {r.returncode}\n{r.stderr[-2000:]}")
    secs = time.perf_counter() - t0
    out.mkdir(parents=True, exist_ok=True)
    done.write_text(f"{secs:.1f}")
    return secs


def samples(kind: str, out: Path) -> torch.Tensor:
    """10,000 samples in [-1, 1] from fixed z (uniform[-1, 1], seed 1)."""
    z = torch.rand(N, 100, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.no_grad():
        if kind == "plain loop":
            g = nn.Sequential(nn.Linear(100, 128), nn.ReLU(), nn.Linear(128, 784), nn.Sigmoid())
            g.load_state_dict(torch.load(out / "G.pt"))
            return (g(z) * 2 - 1).view(N, 1, 28, 28)
        from ganforge import load_generator

        return load_generator(out).net(z)


def warnings_of(out: Path) -> str:
    ev = out / "events.jsonl"
    if not ev.is_file():
        return "none"
    kinds = [json.loads(line) for line in ev.read_text().splitlines() if line.strip()]
    raised = sorted({f"{e.get('condition')}@{e.get('step')}" for e in kinds if e.get("event") == "warning"})
    return ", ".join(raised[:3]) + (" ..." if len(raised) > 3 else "") if raised else "none"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--ablation-seeds", type=int, default=3, help="seeds of the ablation rows")
    p.add_argument("--steps", type=int, default=30000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--rows", default="all", help=f"comma-separated keys of {', '.join(KEYS)}, or all")
    p.add_argument("--work", default="/tmp/ganforge-bench-recipe")
    p.add_argument("--plain", type=int, help=argparse.SUPPRESS)
    a = p.parse_args()
    torch.set_num_threads(1)
    if a.plain is not None:
        plain(a.plain, a.steps, Path(a.work))
        return 0
    kinds = list(KEYS.values()) if a.rows == "all" else [KEYS[k] for k in a.rows.split(",")]
    work = Path(a.work)
    folder = {k: work / k.replace(" ", "-").replace(",", "").replace(":", "").replace("[", "")
              .replace("]", "").replace("(", "").replace(")", "") for k in kinds}
    seeds = {k: a.seeds if k in MAIN else a.ablation_seeds for k in kinds}
    jobs = [(k, s) for k in kinds for s in range(seeds[k])]
    with ThreadPoolExecutor(a.workers) as ex:
        secs = list(ex.map(lambda j: run(j[0], j[1], a.steps, folder[j[0]] / f"seed{j[1]}"), jobs))
    from ganforge.data import load_dataset
    from ganforge.metrics.evaluate import evaluate

    real = load_dataset("mnist", data_dir=str(MNIST), split="test")
    rows = []
    for k in kinds:
        per = []
        for s in range(seeds[k]):
            out = folder[k] / f"seed{s}"
            rep = evaluate(samples(k, out), real_dataset=real, metrics="fd,modes", n=N,
                           extractor="classifier", seed=0)
            hist = [round(h, 3) for h in rep.details["class_histogram"]]
            # ganforge's `classes` counts classes with any sample; >= 1% is the stricter count
            sc = {**rep.scores, "classes1": sum(h >= 0.01 for h in hist)}
            per.append((sc, hist, warnings_of(out) if k != "plain loop" else "-"))
        rows.append((k, per))
        for s, (sc, hist, warn) in enumerate(per):
            print(json.dumps({"row": k, "seed": s, "fd": sc.get("fd"), "classes": sc.get("classes1"),
                              "kl": sc.get("kl"), "hist": hist, "warnings": warn}), flush=True)
    write_doc(rows, a, sum(secs) / len(secs))
    return 0


READING = """
Reading the table (as measured on 2026-11-30 with all three rows): ganforge's preset with the
articles' recipe ends no worse than the plain loop of the same recipe (all ten classes at >= 1%
in 3 of 5 seeds against 2 of 5; class KL 0.40 against 0.50; FD 248 against 310), so no ganforge
bug shows in the comparison. Neither ends with all ten classes in every seed: trained on the
10,000 t10k digits (the split on hand; the articles trained on 55,000), both over-draw 1, 8 and
9 and seldom draw 0, 2 and 6, and ganforge's live diagnostics flag that as collapse in every run.
The old preset (tanh on [-1, 1], PyTorch's default init, G's step reusing the D step's z) keeps
all ten classes in 3 of 3 seeds with a flatter histogram (KL 0.12) but worse samples (FD 356);
the collapse to three classes (FD 1041) measured before this benchmark existed does not reproduce
with the current code at these seeds.
"""


def write_doc(rows, a, mean_secs: float) -> None:
    lines = [("| recipe | seeds with 10 classes >= 1% | classes >= 1% per seed | classes with any "
              "sample | largest class share | class KL (mean) | FD (mean ± sd) | live collapse "
              "warnings |"), "|---|---|---|---|---|---|---|---|"]
    for k, per in rows:
        cls = [int(sc["classes1"]) for sc, _, _ in per]
        anyc = [int(sc.get("classes", 0)) for sc, _, _ in per]
        top = [max(h) for _, h, _ in per]
        fds = np.array([sc.get("fd", float("nan")) for sc, _, _ in per])
        kls = np.array([sc.get("kl", float("nan")) for sc, _, _ in per])
        warn = "; ".join(f"s{i}: {w}" for i, (_, _, w) in enumerate(per) if w not in ("none", "-"))
        lines.append(f"| {k} | {sum(c == 10 for c in cls)} of {len(cls)} | "
                     f"{', '.join(map(str, cls))} | {', '.join(map(str, anyc))} | "
                     f"{', '.join(f'{t:.2f}' for t in top)} | {kls.mean():.3f} | {fds.mean():.1f} ± "
                     f"{fds.std(ddof=1) if len(fds) > 1 else 0:.1f} | "
                     f"{warn or ('none' if k != 'plain loop' else '-')} |")
    hist = [f"- {k}, seed 0: {per[0][1]}" for k, per in rows]
    cmd = "python benchmarks/articles_recipe.py" + "".join(
        f" --{n} {v}" for n, v in (("seeds", a.seeds), ("steps", a.steps), ("rows", a.rows))
        if v != {"seeds": 5, "steps": 30000, "rows": "all"}[n])
    text = (f"# The classic articles' MLP GAN: ganforge against a plain PyTorch loop\n\n"
            f"Made by `{cmd}` (2 CPU cores, torch {torch.__version__}, one thread per run, "
            f"{mean_secs / 60:.1f} min per run on average). {a.seeds} seeds for the plain loop and the "
            f"preset, {a.ablation_seeds} for each ablation row; {a.steps} "
            f"steps; 10,000 samples per run scored against the 10,000 real t10k digits in "
            f"ganforge's MNIST classifier's features. A class counts when it holds >= 1% of the "
            f"samples.\n\n" + "\n".join(lines) + "\n\nClass histograms (10,000 samples):\n\n"
            + "\n".join(hist) + "\n" + READING)
    (ROOT / "docs" / "articles-recipe.md").write_text(text)
    print(text)


if __name__ == "__main__":
    raise SystemExit(main())
