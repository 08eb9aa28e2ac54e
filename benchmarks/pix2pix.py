"""pix2pix against "L1 alone" (Isola et al. 2017, Sec. 4.2's ablation) on two offline tasks.

1. Edges -> digits (`pix2pix-edges2mnist`): the 2,000 held-out edge maps of the edges2mnist
   protocol (MNIST t10k 8000-9999, data/bundled.py) translated by each run, scored by
   - class kept: the share of outputs that ganforge's CNN classifier, trained on the protocol's
     8,000 *training* digits only, reads as the source digit's label (target: >= 95%);
   - FD: the Frechet distance between the outputs' and the real held-out digits' features in
     that classifier (and, for scale, that of 2,000 other real digits);
   - L1 to the true digit, in [-1, 1] units.
2. Grey -> colour on the held-out photographs (`pix2pix-photos`; chelsea, coffee, flower,
   grace_hopper), each translated whole in tiles: L1 and PSNR (RGB) to the true colours, and
   the colourfulness (Hasler & Suesstrunk 2003) of the output as a share of the photo's: the
   paper's point is that L1 alone averages colours into grey-brown.
"cGAN + L1" is the preset; "L1 alone" the same run with `loss.adv_weight=0` (no D). Seeds
0..n-1 each; mean ± sd over seeds. Pictures: docs/img/pix2pix-*.png.

    python benchmarks/pix2pix.py                  # 3 seeds, 2 workers: about 35 minutes here
    python benchmarks/pix2pix.py --seeds 1 --steps 300 --work /tmp/p2p   # a quick look
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from translation_common import (
    MNIST,
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
from ganforge.data.bundled import luma601, photo_list
from ganforge.metrics.classifier import ClassifierExtractor, load_or_train
from ganforge.metrics.restoration import psnr
from ganforge.metrics.scores import frechet_distance_from_features
from ganforge.sampling.translate import load_translator
from ganforge.visuals.images import save_image_grid

VARIANTS = {"cGAN + L1": {}, "L1 alone": {"loss.adv_weight": 0}}


def colourfulness(x: torch.Tensor) -> float:
    """Hasler & Suesstrunk (2003): sqrt(sd_rg^2 + sd_yb^2) + 0.3 sqrt(mu_rg^2 + mu_yb^2) with
    rg = R - G, yb = (R + G) / 2 - B on 0..255 levels; x [3, H, W] in [-1, 1]."""
    r, g, b = ((x.double() + 1) * 127.5).clamp(0, 255)
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(torch.hypot(rg.std(), yb.std()) + 0.3 * torch.hypot(rg.mean(), yb.mean()))


def mnist_scores(runs: dict[str, list[Path]]) -> tuple[list[list[str]], str, dict]:
    train = load_dataset("edges2mnist", data_dir=str(MNIST), split="train")
    test = load_dataset("edges2mnist", data_dir=str(MNIST), split="test")
    tr = train.real_sample(len(train), seed=0)
    te = test.real_sample(len(test), seed=0)
    spec = DataSpec("mnist", "image", (1, 28, 28), 10, identity="edges2mnist-train-targets:" +
                    train.spec.identity)
    clf = load_or_train(TensorDataset(tr.x, tr.y, spec))
    ext = ClassifierExtractor(clf)
    real = ext.extract(te.x)
    # real vs real at the same n: 2,000 training digits against the 2,000 held-out ones
    floor = frechet_distance_from_features(ext.extract(tr.x[: len(te.x)]).features, real.features)
    rows, shown = [], {}
    for name, folders in runs.items():
        kept, fd, l1 = [], [], []
        for f in folders:
            out = translate_batch(load_translator(f).net, te.a)
            feats = ext.extract(out)
            kept.append(float((feats.labels == te.y).float().mean()))
            fd.append(frechet_distance_from_features(feats.features, real.features))
            l1.append(float((out - te.x).abs().mean()))
            shown.setdefault(name, out[:16])
        rows.append([name, mean_sd([100 * k for k in kept], 1) + " %", mean_sd(fd, 2),
                     mean_sd(l1, 4)])
    note = (f"classifier: trained on the 8,000 training digits only, held-out accuracy "
            f"{100 * clf.accuracy:.2f}% (on 20% of them), {100 * float((real.labels == te.y).float().mean()):.2f}% on the 2,000 "
            f"held-out real digits. For scale, FD between 2,000 other real digits (training ones) "
            f"and the held-out digits: {floor:.2f}; outputs can score below it because each traces "
            f"its own target's shape")
    grid = torch.stack([te.a[:16], *shown.values(), te.x[:16]], 1)  # rows: input | ... | target
    save_image_grid(grid.flatten(0, 1), Path(__file__).resolve().parents[1] / "docs" / "img" /
                    "pix2pix-edges2mnist.png", nrow=grid.shape[1])
    return rows, note, shown


def photo_scores(runs: dict[str, list[Path]]) -> list[list[str]]:
    photos = [(n, torch.from_numpy(a.copy()).permute(2, 0, 1)) for n, a in photo_list("test")]
    rows, first = [], {}
    for name, folders in runs.items():
        l1, ps, col = [], [], []  # per run: the mean over the held-out photos
        for f in folders:
            tr = load_translator(f)
            per = []
            for n, rgb in photos:
                grey = luma601(rgb)[None].float() / 127.5 - 1
                target = rgb[None].float() / 127.5 - 1
                out = tr(grey)
                per.append((float((out - target).abs().mean()),
                            float(psnr(out, target, y_channel=False).mean()),
                            colourfulness(out[0]) / colourfulness(target[0])))
                if n == photos[0][0]:
                    first.setdefault(name, out[0])
            for acc, vals in zip((l1, ps, col), zip(*per)):
                acc.append(sum(vals) / len(vals))
        rows.append([name, mean_sd(l1, 4), mean_sd(ps, 2) + " dB", mean_sd([100 * c for c in col], 1) + " %"])
    _, rgb0 = photos[0]
    grey0 = (luma601(rgb0).float() / 127.5 - 1).expand(3, -1, -1)
    pics = torch.stack([grey0, *first.values(), rgb0.float() / 127.5 - 1])
    save_image_grid(pics, Path(__file__).resolve().parents[1] / "docs" / "img" /
                    "pix2pix-photos.png", nrow=len(pics))
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--steps", type=int, default=None, help="override the presets' steps")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--work", default="/tmp/ganforge-bench-pix2pix", help="run folders")
    a = p.parse_args()
    work = Path(a.work)
    extra = {"train.steps": a.steps} if a.steps else {}
    jobs, runs = [], {"mnist": {}, "photos": {}}
    for task, preset, data in (("mnist", "pix2pix-edges2mnist", {"data.data_dir": str(MNIST)}),
                               ("photos", "pix2pix-photos", {})):
        for name, ov in VARIANTS.items():
            for s in range(a.seeds):
                out = work / f"{task}-{'l1' if ov else 'cgan'}-seed{s}"
                jobs.append((preset, out, {**data, **ov, **extra, "train.seed": s}))
                runs[task].setdefault(name, []).append(out)
    secs = train_all(jobs, a.workers)
    per = {}
    for (preset, out, _), s in zip(jobs, secs):
        per.setdefault((preset, "l1" in out.name), []).append(s)
    m_rows, m_note, _ = mnist_scores(runs["mnist"])
    p_rows = photo_scores(runs["photos"])
    cpu = "; ".join(f"{k[0]}{' (L1 alone)' if k[1] else ''}: {sum(v) / len(v) / 60:.1f} CPU-min per run"
                    for k, v in per.items())
    text = f"""# pix2pix: cGAN + L1 against L1 alone, offline

Made by `{command_line()}` ({machine_note()}). {a.seeds} seed(s) per row, mean ± sd over seeds.
Training cost: {cpu}.

## Edges -> digits (held-out: the 2,000 last MNIST t10k digits)

{markdown_table(["variant", "class kept", "FD (classifier features)", "L1 to target"], m_rows)}

{m_note}. Target: class kept >= 95%.

![pix2pix on held-out edge maps](img/pix2pix-edges2mnist.png)

Columns: edge map | {" | ".join(runs["mnist"])} | true digit (seed 0, first 16 held-out digits).

## Grey -> colour (held-out photographs: chelsea, coffee, flower, grace_hopper; each translated whole)

{markdown_table(["variant", "L1 to the colours", "PSNR (RGB)", "colourfulness, % of the photo's"], p_rows)}

Colourfulness: Hasler & Suesstrunk (2003). Isola et al. (2017, Sec. 4.2, Fig. 4) find L1
alone desaturated (the L1-optimal colour is a median, grey-brown where colour is uncertain)
and the cGAN term more colourful; the table says whether that holds at this budget.

![grey | variants | photo](img/pix2pix-photos.png)

Columns: grey input | {" | ".join(runs["photos"])} | the photo (seed 0, chelsea).
"""
    write_doc("pix2pix.md", text)
    print(markdown_table(["variant", "class kept", "FD", "L1"], m_rows))
    print(m_note)
    print(markdown_table(["variant", "L1", "PSNR", "colourfulness"], p_rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
