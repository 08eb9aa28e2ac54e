"""Benchmark: every GAN-family variant on MNIST at a fixed CPU budget; writes a Markdown table.

Each variant's `<variant>-mnist` preset (DCGAN nets) trains on one CPU thread for `--seconds`
of wall time on the MNIST test split (the data on hand); then 2,000 samples of the sampling G
(EMA when kept) are scored by `ganforge.metrics.evaluate` against 2,000 real digits with the
evaluation protocol of docs/metrics.md: the cached MNIST domain classifier as feature extractor (FD in its
feature space, KID, precision/recall k=3, classifier Inception Score, classes covered and
the KL of the class histogram to the real one). The "own" column is the variant's own property
judged by the same classifier: class accuracy of samples asked for class c (cgan, acgan), the
categorical code's accuracy after the best code-to-class matching (infogan).

    python benchmarks/family.py --seconds 120 --jobs 2 --out docs/family.md
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

VARIANTS = ("gan", "cgan", "acgan", "infogan", "ebgan", "wgan", "wgan-gp", "lsgan", "hinge")
MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
N = 2000


def run_one(variant: str, seconds: float, data_dir: str, seed: int) -> dict:
    import tempfile

    import torch

    from ganforge.metrics import code_class_match
    from ganforge.metrics.classifier import load_or_train
    from ganforge.metrics.evaluate import evaluate
    from ganforge.presets import preset_config
    from ganforge.runner import make_trainer

    torch.set_num_threads(1)
    preset = "dcgan-mnist-paper" if variant == "gan" else f"{variant}-mnist"
    cfg = preset_config(preset, {
        "data.data_dir": data_dir, "data.split": "test", "data.download": False,
        "train.device": "cpu", "train.threads": 1, "train.diagnose": False,
        "train.steps": 10**7, "train.seed": seed})
    t = make_trainer(cfg, tempfile.mkdtemp(), quiet=True)
    clf = load_or_train(t.data)
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        t.train_step()
        t.step += 1
    elapsed = time.perf_counter() - start
    g = t.sample_net().eval()
    z = t.prior(N, torch.Generator().manual_seed(1), device="cpu")
    own = None
    with torch.no_grad():
        if getattr(g, "num_classes", 0):
            cls = torch.arange(N) % t.spec.num_classes
            fake = g(z, cls)
        else:
            fake = g(z)
    if getattr(g, "num_classes", 0):
        own = float((clf.predict(fake) == cls).float().mean())
    elif variant == "infogan":
        own = code_class_match(g.codes(z)[0], clf.predict(fake), 10)
    rep = evaluate(fake, real_dataset=t.data, metrics="fd,kid,pr,is,modes", n=N, n_real=N,
                   extractor="classifier", seed=seed)
    return {"variant": variant, "steps": t.step, "seconds": round(elapsed, 1), "own": own,
            "scores": rep.scores, "extractor": rep.protocol.get("extractor")}


def table(rows: list[dict], seconds: float) -> str:
    keys = (("fd", "FD", ".1f"), ("kid", "KID", ".1f"), ("precision", "P", ".2f"),
            ("recall", "R", ".2f"), ("is", "IS", ".2f"), ("classes", "classes", ".0f"),
            ("kl", "class KL", ".3f"))
    head = " | ".join(k[1] for k in keys)
    lines = [f"| variant | steps in {seconds:g} s | {head} | own property |",
             "| --- | ---: |" + " ---: |" * len(keys) + " --- |"]
    own_name = {"cgan": "class acc", "acgan": "class acc", "infogan": "code acc"}
    for r in rows:
        sc = r["scores"]
        cells = []
        for key, _, fmt in keys:
            v = sc.get(key)
            if v is None:
                cells.append("")
            else:
                cells.append(f"{v:{fmt}}")
        own = f"{own_name[r['variant']]} {r['own']:.2f}" if r["own"] is not None else ""
        lines.append(f"| {r['variant']} | {r['steps']} | " + " | ".join(cells) + f" | {own} |")
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
        head = (
            "# The GAN family on MNIST at a fixed CPU budget\n\n"
            f"Produced by `python benchmarks/family.py --seconds {a.seconds:g} --jobs {a.jobs} "
            f"--out {a.out}`: each variant's `<variant>-mnist` preset (`gan` is `dcgan-mnist-paper`) "
            f"trains for {a.seconds:g} s of wall time on one CPU thread ({a.jobs} at a time) on "
            "the MNIST test split, then 2,000 samples are scored against 2,000 real digits with "
            "`ganforge.metrics.evaluate` and the cached MNIST domain classifier as feature "
            "extractor (FD and KID in its feature space, precision/recall k=3, classifier "
            "Inception Score, classes with samples, KL of the class histogram to the real one). "
            "Own property: class accuracy of samples asked for class c (cgan, acgan); the "
            "categorical code's accuracy after the best code-to-class matching (infogan).\n\n"
        )
        Path(a.out).write_text(head + md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
