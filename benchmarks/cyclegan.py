"""CycleGAN between scikit-learn's digits and MNIST, unpaired, against the same run without
the cycle loss (Zhu et al. 2017, Sec. 5.1.4's ablation "GAN alone").

`cyclegan-digits2mnist` trains on the digits2mnist protocol's training halves (1,500 sklearn
digits up-scaled to MNIST's framing, 8,000 MNIST t10k digits; data/bundled.py), never on a pair.
On the held-out halves (297 sklearn digits, 2,000 MNIST digits), each run is scored by
- class kept, both ways: the share of G(a) that a CNN classifier of MNIST (trained on the 8,000
  training digits only) reads as a's label, and of F(b) that a classifier of the up-scaled
  sklearn digits (trained on the 1,500 training ones) reads as b's label (target: >= 90% both
  ways, with the ablation clearly below). Both judges train with writer augmentation
  (`ClassifierSettings.warp`: rotation, scale, shear, stroke width): without it the sklearn
  judge, trained on the few writers of that set, read only 57% of MNIST digits drawn exactly in
  sklearn's format (`optdigits_format`), so it judged handwriting, not class;
- cycle error: mean |F(G(a)) - a| and |G(F(b)) - b| in [-1, 1] units.
"no cycle" is the same preset with `loss.cycle_weight=0` and `loss.identity_weight=0`: two
unconditional translators, free to draw any digit of the other domain. The preset's G is a
U-Net; the "ResNet G" rows run the paper's G (`model.arch=resnet`, 3 residual blocks at 28x28),
which has no skip connections to carry the input's shape through. The "class-conditional Ds"
rows give each D the image's label (`model.conditional=true model.d_cond=concat`; G and F stay
label-free). The "tuned" rows add to those Ds an adversarial weight of 2, a cycle weight of 5,
no identity loss and 4,000 steps (the best of the single-seed probes). Seeds 0..n-1; mean ± sd.

    python benchmarks/cyclegan.py                  # 3 seeds, 2 workers: about 1.5-2 hours here
    python benchmarks/cyclegan.py --seeds 1 --steps 300 --work /tmp/cyc   # a quick look
    python benchmarks/cyclegan.py --seeds 1 --probe 'c5={"loss.cycle_weight": 5}'  # one variant
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
import torch.nn.functional as F
from translation_common import (
    MNIST,
    ROOT,
    command_line,
    machine_note,
    markdown_table,
    mean_sd,
    train_all,
    translate_batch,
    write_doc,
)

from ganforge.data import load_dataset
from ganforge.data.base import DataSpec, TensorDataset
from ganforge.data.images import uint8_to_signed
from ganforge.metrics.classifier import ClassifierSettings, load_or_train
from ganforge.presets import PRESETS
from ganforge.sampling.translate import load_translator
from ganforge.visuals.images import save_image_grid

PRESET = "cyclegan-digits2mnist"
JUDGE = ClassifierSettings(warp=1.0, min_steps=3000)
READING = """Reading the tables:
- **The cycle loss earns its keep with the paper's G.** The ResNet G has no skip connections;
  without the cycle loss G collapses to one glyph for every input (the picture's fifth column;
  A->B 10.2%, chance) and F keeps 53.0%. With it, 76.3% and 62.6%. With the preset's U-Net
  G, whose skip connections carry the input's shape through, the cycle loss earns 11 points
  A->B (84.4% against 73.6%) but nothing B->A; there the ablation shows in the cycle error
  (2-3x).
- **The >= 90% target is missed both ways**, and the last rows say why. The two sets write
  some digits differently: sklearn's writers draw 1 with a flag and a foot, 7 with a crossbar
  and 9 as an open hook. Drawn exactly in sklearn's format, MNIST's own shapes are read right
  only 84.0% of the time (2, 6 and 9 at 62-75%), so a translator that keeps each shape cannot
  reach 90% B->A under this judge; it would have to redraw digits in the other set's
  convention, which CycleGAN's losses do not ask for (the cycle loss only needs F to be
  invertible, and D judges one image at a time, so it cannot see that the sklearn side has too
  many 1s and too few 7s). F does not even reframe a digit as sklearn's preprocessing does (each
  digit's box scaled to fill the frame): MNIST 7s are kept 38% of the time through the U-Net F,
  85% in sklearn's format. A->B, G loses the sklearn 1s (flag and foot) and 9s.
- **The judge is not the weak link.** In a probe, sklearn judges trained harder (`warp` 1.5 or 2.0, or
  8,000 steps) read the held-out sklearn digits as well (97.0-97.3%) and the exact MNIST shapes
  no better (81.2-82.3% against 84.0%): the ceiling is the writers' conventions.
- **Class-conditional Ds** (`model.conditional=true model.d_cond=concat`: each D sees the
  label as one-hot planes, so a fake that changed class is a fake) add 2.3 points B->A
  (76.8% against 74.5%) and nothing A->B beyond the spread; sklearn 1s kept rise from 30% to
  39%. Without the cycle loss they pull the 1s to 69% but lose other shapes (65.7% A->B, seeds
  spread 7 points), and B->A matches the cycle run: with Ds that know the class, the cycle loss
  no longer earns points B->A.
- **Tuned** (class-conditional Ds, adversarial weight 2, cycle weight 5, no identity loss,
  4,000 steps): **81.4% B->A** (seeds 81.2-81.7%), 4.6 points above the class-conditional
  run and 2.6 below the 84.0% a perfect shape-keeping restyler would score; A->B 83.4%, as
  before but spread over 78.5-87.9% by seed. Stronger class-aware pressure makes F redraw
  digits in sklearn's convention: MNIST 7s are kept 82% (49% with the class-conditional Ds'
  defaults), 6s 74% (54%), 9s 68% (46%); 2s drop to 55%. G keeps sklearn 1s 61% (39%). The
  price is a looser cycle (errors 0.082 / 0.118, about twice the other CycleGAN rows). Its
  ablation (same with no cycle or identity loss) falls below by 8.0 points A->B and 2.3 B->A,
  with 1.5-1.6x the cycle error. Still short of 90% both ways, at 6.5 CPU-minutes a run.
- Single-seed probes of the preset (seed 0, 2,000 steps, an earlier run of this script's
  judges) moved neither direction past 87% A->B / 81% B->A: `model.d_layers=3` 83.8/76.3,
  `model.spectral_norm=true` 85.2/74.6, EMA 0.999 86.2/75.2, `loss.identity_weight=0`
  85.5/74.6, linear lr decay 85.5/75.7; with class-conditional Ds, cycle weight 5 and no
  identity loss 85.5/79.4, and adversarial weight 3 79.8/80.2. With class-conditional Ds
  (`--probe`): adversarial weight 5 75.4/83.5, the same at 4,000 steps 78.1/81.7; weight 3 at
  4,000 steps 83.5/80.3; weight 3, cycle 5, no identity, 4,000 steps 83.5/82.1; the tuned
  setting at 8,000 steps 84.8/80.9 (its seed 0 at 4,000: 87.9/81.3).
- Training the U-Net 4x longer (`--steps 8000`, seed 0, an earlier run) did not help: 80.8% /
  73.7%, and 71.4% / 71.0% without the cycle loss."""
NO_CYCLE = {"loss.cycle_weight": 0, "loss.identity_weight": 0}
RESNET = {"model.arch": "resnet", "model.g_blocks": 3}  # the paper's G, 3 blocks at 28x28
COND = {"model.conditional": True, "model.d_cond": "concat"}  # Ds see the class (both labelled)
# the best of the single-seed probes: class-aware Ds pushed harder, a lighter cycle, twice the steps
TUNED = COND | {"loss.adv_weight": 2, "train.steps": 4000}
# name -> (run folder prefix, overrides of the preset)
VARIANTS = {"CycleGAN": ("cycle", {}), "no cycle": ("nocycle", NO_CYCLE),
            "CycleGAN, ResNet G": ("res3-cycle", RESNET),
            "no cycle, ResNet G": ("res3-nocycle", RESNET | NO_CYCLE),
            "CycleGAN, class-conditional Ds": ("cond-cycle", COND),
            "no cycle, class-conditional Ds": ("cond-nocycle", COND | NO_CYCLE),
            "CycleGAN, tuned": ("tuned-cycle", TUNED | {"loss.cycle_weight": 5,
                                                        "loss.identity_weight": 0}),
            "no cycle, tuned": ("tuned-nocycle", TUNED | NO_CYCLE)}


def classifier(x: torch.Tensor, y: torch.Tensor, name: str, identity: str):
    spec = DataSpec(name, "image", tuple(x.shape[1:]), 10, identity=identity)
    return load_or_train(TensorDataset(x, y, spec), JUDGE)


def optdigits_format(u: torch.Tensor) -> torch.Tensor:
    """MNIST digits (uint8 [N, 1, 28, 28]) put through the sklearn digits' own preprocessing
    (UCI optdigits: the digit's box scaled to 32x32, ink counted in 4x4 blocks -> 8x8, 17 levels;
    the aspect ratio kept here), then up-scaled as `digits2mnist` does: each digit's shape,
    exactly, in domain A's format; [-1, 1]."""
    out = []
    for img in u[:, 0].float() / 255:
        rows, cols = (img > 0.3).any(1).nonzero(), (img > 0.3).any(0).nonzero()
        box = (img[rows.min():rows.max() + 1, cols.min():cols.max() + 1] > 0.5).float()
        h, w = box.shape
        nh, nw = max(1, round(32 * h / max(h, w))), max(1, round(32 * w / max(h, w)))
        canvas = torch.zeros(1, 1, 32, 32)
        top, left = (32 - nh) // 2, (32 - nw) // 2
        canvas[..., top:top + nh, left:left + nw] = F.interpolate(box[None, None], (nh, nw))
        v = (F.avg_pool2d(canvas, 4) * 16).round() / 16
        v = F.interpolate(v, size=(20, 20), mode="bicubic", align_corners=False).clamp(0, 1)
        out.append(F.pad(v, (4, 4, 4, 4))[0])
    return torch.stack(out) * 2 - 1


def kept(pred: torch.Tensor, y: torch.Tensor) -> float:
    """Share of predicted labels equal to the true ones."""
    return float((pred == y).float().mean())


def per_class(pred: torch.Tensor, y: torch.Tensor) -> list[str]:
    """Class kept (%) of each digit 0..9."""
    return [f"{100 * kept(pred[y == c], y[y == c]):.0f}" for c in range(10)]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--steps", type=int, default=None, help="override the preset's steps")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--work", default="/tmp/ganforge-bench-cyclegan", help="run folders")
    p.add_argument("--probe", action="append", default=[], metavar="NAME=JSON",
                   help="instead of the table: train the preset with these overrides (e.g. "
                        "'c5={\"loss.cycle_weight\": 5}'; repeatable) and print class kept")
    a = p.parse_args()
    work = Path(a.work)
    extra = {"train.steps": a.steps} if a.steps else {}
    probes = {}
    for x in a.probe:
        name, _, text = x.partition("=")
        try:
            probes[name] = ("probe-" + name, json.loads(text))
        except ValueError as e:
            p.error(f"--probe {x}: expected NAME=JSON object ({e})")
        if not name or not isinstance(probes[name][1], dict):
            p.error(f"--probe {x}: expected NAME=JSON object")
    jobs, runs = [], {}
    for name, (prefix, ov) in (probes or VARIANTS).items():
        for s in range(a.seeds):
            out = work / f"{prefix}-seed{s}"
            jobs.append((PRESET, out,
                         {"data.data_dir": str(MNIST), **ov, **extra, "train.seed": s}))
            runs.setdefault(name, []).append(out)
    secs = dict(zip((job[1] for job in jobs), train_all(jobs, a.workers)))

    train = load_dataset("digits2mnist", data_dir=str(MNIST), split="train")
    test = load_dataset("digits2mnist", data_dir=str(MNIST), split="test")
    clf_b = classifier(uint8_to_signed(train.b.data), train.labels_b, "mnist",
                       "digits2mnist-train-B:" + train.spec.identity)
    clf_a = classifier(uint8_to_signed(train.a.data), train.labels_a, "digits28",
                       "digits2mnist-train-A:" + train.spec.identity)
    xa, ya, xb, yb = uint8_to_signed(test.a.data), test.labels_a, uint8_to_signed(test.b.data), test.labels_b
    real_a, real_b = kept(clf_a.predict(xa), ya), kept(clf_b.predict(xb), yb)
    if probes:  # a look, not the table: no doc written
        for name, folders in runs.items():
            for f in folders:
                g, fnet = load_translator(f).net, load_translator(f, direction="BtoA").net
                pb, pa = clf_b.predict(translate_batch(g, xa)), clf_a.predict(translate_batch(fnet, xb))
                print(f"{f.name}: class kept A->B {100 * kept(pb, ya):.1f}% "
                      f"B->A {100 * kept(pa, yb):.1f}% ({secs[f]:.0f} CPU-s)")
        return 0
    rows, shown, classes = [], [], {}
    for name, folders in runs.items():
        ab, ba, cyc_a, cyc_b, pa, pb = [], [], [], [], [], []
        for f in folders:
            g, fnet = load_translator(f).net, load_translator(f, direction="BtoA").net
            gb, fa = translate_batch(g, xa), translate_batch(fnet, xb)
            pb.append(clf_b.predict(gb))
            pa.append(clf_a.predict(fa))
            ab.append(kept(pb[-1], ya))
            ba.append(kept(pa[-1], yb))
            cyc_a.append(float((translate_batch(fnet, gb) - xa).abs().mean()))
            cyc_b.append(float((translate_batch(g, fa) - xb).abs().mean()))
            if f == folders[0]:
                shown.append((gb[:12], fa[:12]))
        rows.append([name, mean_sd([100 * v for v in ab], 1) + " %",
                     mean_sd([100 * v for v in ba], 1) + " %", mean_sd(cyc_a, 4),
                     mean_sd(cyc_b, 4), mean_sd([secs[f] / 60 for f in folders], 1)])
        # per class, pooled over seeds
        classes[f"{name} A->B"] = per_class(torch.cat(pb), ya.repeat(len(folders)))
        classes[f"{name} B->A"] = per_class(torch.cat(pa), yb.repeat(len(folders)))
    # for scale: each domain's images read, untranslated, by the other's classifier; and each
    # MNIST digit's exact shape in domain A's format (the best a shape-keeping F can do)
    id_ab, id_ba = clf_b.predict(xa), clf_a.predict(xb)
    exact = clf_a.predict(optdigits_format(test.b.data))
    pct = lambda p, y: f"{100 * kept(p, y):.1f} %"
    rows.append(["identity (no translation)", pct(id_ab, ya), pct(id_ba, yb), "0", "0", ""])
    rows.append(["each MNIST shape in sklearn's format (`optdigits_format`)", "", pct(exact, yb),
                 "", "", ""])
    classes |= {"identity A->B": per_class(id_ab, ya), "identity B->A": per_class(id_ba, yb),
                "MNIST shape in sklearn's format B->A": per_class(exact, yb)}
    grid = torch.stack([xa[:12], *(s[0] for s in shown), xb[:12], *(s[1] for s in shown)], 1)
    save_image_grid(grid.flatten(0, 1), ROOT / "docs" / "img" / "cyclegan-digits2mnist.png",
                    nrow=grid.shape[1])
    head = ["variant", "class kept A->B (sklearn -> MNIST)", "class kept B->A (MNIST -> sklearn)",
            "cycle error A", "cycle error B", "CPU-minutes per run"]
    note = (f"Classifiers (trained on the training halves only, with writer augmentation "
            f"`warp={JUDGE.warp}`, {JUDGE.min_steps} steps) on the held-out real digits: "
            f"MNIST {100 * real_b:.1f}% (held-out accuracy {100 * clf_b.accuracy:.1f}% on its own "
            f"split), sklearn digits {100 * real_a:.1f}% ({100 * clf_a.accuracy:.1f}%).")
    class_table = markdown_table(["class kept per digit (%)", *map(str, range(10))],
                                 [[k, *v] for k, v in classes.items()])
    steps = a.steps or f"{PRESETS[PRESET][1]['train.steps']} (tuned rows: {TUNED['train.steps']})"
    text = f"""# CycleGAN: scikit-learn digits <-> MNIST, unpaired, against no cycle loss

Made by `{command_line()}` ({machine_note()}). {a.seeds} seed(s) per row, mean ± sd over seeds,
{steps} steps per run. Held out: 297 sklearn digits (A), 2,000 MNIST digits (B).

{markdown_table(head, rows)}

{note} Target: class kept >= 90% both ways for CycleGAN, clearly lower without the cycle loss.
The identity row reads each held-out image, untranslated, with the other domain's classifier:
what a translator that changes nothing would score. The last row draws each held-out MNIST
digit's own shape in domain A's format (sklearn's preprocessing: box scaled to 32x32, ink
counted in 4x4 blocks) and reads it with the sklearn classifier: what a translator that keeps
every shape exactly and restyles it perfectly would score B->A.

{class_table}

{READING}

![digits2mnist translations](img/cyclegan-digits2mnist.png)

Columns: sklearn digit | G(a) for {" | ".join(runs)} | MNIST digit | F(b) for
{" | ".join(runs)} (seed 0, first 12 held-out digits of each domain).
"""
    write_doc("cyclegan.md", text)
    print(markdown_table(head, rows))
    print(note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
