"""Benchmark: every GAN-family variant on MNIST at a fixed CPU budget; writes a Markdown table.

Each variant's `<variant>-mnist` preset (DCGAN nets) trains on one CPU thread for `--seconds`
of wall time on the MNIST test split (the data on hand), then 2,000 samples are scored against
2,000 held-out real digits:
- FD/pca: the Frechet distance (Heusel et al. 2017) in the 32-d PCA space of real digits (a
  pixel-level stand-in for FID that needs no downloaded network);
- classes: digit classes with >= 2% of the samples, by a logistic-regression judge trained on the
  other half of the split (~90% accurate), and the KL of the class histogram to uniform;
- conf: the judge's mean top probability (digit-likeness);
- own: the variant's own property: class accuracy of samples asked for class c (cgan, acgan),
  matched categorical-code accuracy (infogan), else blank.

    python benchmarks/family.py --seconds 120 --jobs 8 --out docs/family-benchmark.md
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

VARIANTS = ("cgan", "acgan", "infogan", "ebgan", "wgan", "wgan-gp", "lsgan", "hinge")
MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"


def run_one(variant: str, seconds: float, data_dir: str, seed: int) -> dict:
    import numpy as np
    import torch
    from scipy.optimize import linear_sum_assignment
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression

    from ganforge.data import load_dataset
    from ganforge.metrics import class_histogram_stats, frechet_distance_from_features
    from ganforge.presets import preset_config
    from ganforge.trainer import Trainer

    torch.set_num_threads(1)
    ds = load_dataset("mnist", data_dir=data_dir, split="test", download=False)
    x = ds.x.reshape(len(ds.x), -1).numpy()
    y = ds.y.numpy()
    judge = LogisticRegression(max_iter=300).fit(x[:5000], y[:5000])
    real = x[5000:7000]
    pca = PCA(32, random_state=0).fit(x[5000:])
    cfg = preset_config(f"{variant}-mnist", {
        "data.data_dir": data_dir, "data.split": "test", "data.download": False,
        "train.device": "cpu", "train.threads": 1, "train.diagnose": False,
        "train.steps": 10**7, "train.seed": seed})
    import tempfile

    t = Trainer(cfg, tempfile.mkdtemp(), quiet=True)
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        t.train_step()
        t.step += 1
    g = t.sample_net().eval()
    n = 2000
    z = t._prior(n, torch.Generator().manual_seed(1), device="cpu")
    own = None
    with torch.no_grad():
        if t.conditional:
            cls = torch.arange(n) % 10
            fake = g(z, cls)
        else:
            fake = g(z)
    f = fake.reshape(n, -1).numpy()
    pred = judge.predict(f)
    if t.conditional:
        own = float((pred == cls.numpy()).mean())
    elif variant == "infogan":
        counts = np.zeros((10, 10))
        np.add.at(counts, (g.codes(z)[0].numpy(), pred), 1)
        r, c = linear_sum_assignment(-counts)
        own = float(counts[r, c].sum() / n)
    hist = class_histogram_stats(torch.as_tensor(pred), 10)
    return {
        "variant": variant, "steps": t.step, "seconds": round(time.perf_counter() - start, 1),
        "fd_pca": frechet_distance_from_features(pca.transform(real), pca.transform(f)),
        "classes": int((np.bincount(pred, minlength=10) >= 0.02 * n).sum()),
        "kl_uniform": hist.get("kl_uniform", hist.get("kl", float("nan"))),
        "conf": float(judge.predict_proba(f).max(1).mean()), "own": own,
    }


def table(rows: list[dict], seconds: float) -> str:
    lines = [
        f"| variant | steps in {seconds:g} s | FD/pca (lower is better) | classes >= 2% | "
        "KL(hist, uniform) | judge conf | own property |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    own_name = {"cgan": "class acc", "acgan": "class acc", "infogan": "code acc"}
    for r in rows:
        own = f"{own_name[r['variant']]} {r['own']:.2f}" if r["own"] is not None else ""
        lines.append(
            f"| {r['variant']} | {r['steps']} | {r['fd_pca']:.1f} | {r['classes']} | "
            f"{r['kl_uniform']:.3f} | {r['conf']:.2f} | {own} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=120.0)
    p.add_argument("--jobs", type=int, default=1, help="variants run at once (one thread each)")
    p.add_argument("--data-dir", default=str(MNIST))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--out", default=None, help="write the Markdown table here")
    p.add_argument("--one", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one:
        print(json.dumps(run_one(a.one, a.seconds, a.data_dir, a.seed)))
        return 0
    names = a.variants.split(",")
    rows, running = {}, []
    for name in names:
        cmd = [sys.executable, __file__, "--one", name, "--seconds", str(a.seconds),
               "--data-dir", a.data_dir, "--seed", str(a.seed)]
        running.append((name, subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)))
        while len([r for r in running if r[1].poll() is None]) >= a.jobs:
            time.sleep(1)
    for name, proc in running:
        out, _ = proc.communicate()
        rows[name] = json.loads(out.strip().splitlines()[-1])
        print(json.dumps(rows[name]), flush=True)
    md = table([rows[n] for n in names], a.seconds)
    print(md)
    if a.out:
        Path(a.out).write_text(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
