"""x4 super-resolution of held-out photographs: bicubic, SRResNet and SRGAN side by side, with
the published numbers beside ours (Ledig et al. 2017, Table 2).

Each seed trains `srgan-photos` three ways: `loss.pretrain_steps` of pixel MSE (SRResNet; its
checkpoint at that step is the SRResNet row), then adversarial steps with the content loss
(offline: the FID Inception-v3's Conv2d_2b_3x3 features, ImageNet weights from the
ganforge[inception] extra; the paper's VGG54 needs the VGG19 weights file) + 1e-3 x the
adversarial loss (the SRGAN row); with the paper's net and with the bicubic skip; and once more
with the skip and the former content loss, VGG19 relu2_2 with fixed random weights. Training
crops come from the 7 training photographs of the bundled-photos protocol (data/bundled.py).
Scores on the 4 held-out photographs (chelsea, coffee, flower, grace_hopper), whole, each cut
to a multiple of 4 and down-scaled x4 (bicubic with antialiasing, 8-bit, data/pairs.py): PSNR
and SSIM on the Y channel (ITU-R BT.601), 4 border pixels cropped, as the SR papers report
(metrics/restoration.py). Mean over the photos per run; mean ± sd over seeds.

    python benchmarks/srgan.py                 # 3 seeds, 2 workers: about 50 minutes here
    python benchmarks/srgan.py --seeds 1 --pretrain 200 --adversarial 20 --work /tmp/sr
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path

import torch
import torch.nn.functional as F
from translation_common import (
    ROOT,
    command_line,
    machine_note,
    markdown_table,
    mean_sd,
    train_all,
    write_doc,
)

from ganforge.data.bundled import photo_list
from ganforge.data.pairs import downscale
from ganforge.metrics.restoration import psnr, ssim
from ganforge.sampling.translate import load_translator
from ganforge.visuals.images import save_image_grid

SCALE = 4
PUBLISHED = [  # Ledig et al. 2017, Table 2 (x4; PSNR dB / SSIM on Y, MATLAB bicubic inputs)
    ["bicubic", "28.43 / 0.8211", "25.99 / 0.7486"],
    ["SRResNet", "32.05 / 0.9019", "28.49 / 0.8184"],
    ["SRGAN", "29.40 / 0.8472", "26.02 / 0.7397"],
]


RANDOM_VGG = " + bicubic skip, random VGG19 content (the former preset)"


def last_terms(run: Path) -> tuple[float, float]:
    """(content, weighted adversarial) terms of G's loss in the run's last logged record."""
    recs = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    last = [r for r in recs if "G/content" in r] or [{"G/content": math.nan, "G/adv": math.nan}]
    return last[-1]["G/content"], last[-1]["G/adv"]


def held_out() -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """(name, HR [1, 3, H, W], LR [1, 3, H/4, W/4]) in [-1, 1] for each held-out photo."""
    out = []
    for name, arr in photo_list("test"):
        h, w = (s - s % SCALE for s in arr.shape[:2])
        hr = torch.from_numpy(arr[:h, :w].copy()).permute(2, 0, 1)[None].float() / 127.5 - 1
        out.append((name, hr, downscale(hr, SCALE)))
    return out


def scores(sr: torch.Tensor, hr: torch.Tensor) -> tuple[float, float, float]:
    """PSNR and SSIM on Y, and the colour shift: the mean over R, G, B of |mean(SR) - mean(HR)|
    in 8-bit levels (a drift of the whole image's colour, which Y alone can hide)."""
    shift = (sr.clamp(-1, 1).mean(dim=(2, 3)) - hr.mean(dim=(2, 3))).abs().mean() * 127.5
    return (float(psnr(sr, hr, border=SCALE).mean()), float(ssim(sr, hr, border=SCALE).mean()),
            float(shift))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--pretrain", type=int, default=None, help="SRResNet steps (preset's)")
    p.add_argument("--adversarial", type=int, default=None, help="SRGAN steps after them")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--work", default="/tmp/ganforge-bench-srgan", help="run folders")
    a = p.parse_args()
    from ganforge.presets import preset_config

    cfg = preset_config("srgan-photos")
    pre = a.pretrain or cfg.loss.pretrain_steps
    adv = a.adversarial if a.adversarial is not None else cfg.train.steps - cfg.loss.pretrain_steps
    ov = {"loss.pretrain_steps": pre, "train.steps": pre + adv, "train.checkpoint_every": pre,
          "train.keep_checkpoints": 3}
    work = Path(a.work)
    variants = {  # run-folder prefix: (overrides, name suffix of its rows, own SRResNet row)
        "": ({"model.sr_skip": False}, "", True),
        "skip-": ({"model.sr_skip": True}, " + bicubic skip", True),
        # its SRResNet stage is the skip run's (same seed, same pixel-MSE steps)
        "skip-vggrand-": ({"model.sr_skip": True, "loss.content": "vgg19-random",
                           "loss.content_layer": "relu2_2"}, RANDOM_VGG, False),
    }
    runs = [(work / f"{prefix}seed{s}", v, s) for prefix, v in variants.items()
            for s in range(a.seeds)]
    secs = train_all([("srgan-photos", out, {**ov, **sets, "train.seed": s})
                      for out, (sets, _, _), s in runs], a.workers)

    photos = held_out()
    bic = [F.interpolate(lr, scale_factor=SCALE, mode="bicubic", align_corners=False).clamp(-1, 1)
           for _, _, lr in photos]
    bic_s = [scores(b, hr) for b, (_, hr, _) in zip(bic, photos)]
    res: dict[str, list] = {}  # row name -> per seed (PSNR, SSIM, colour shift), in row order
    terms: dict[str, list] = {}  # SRGAN row -> per seed (content, adversarial) at the end
    shown = {}
    for out, (_, tail, own_srresnet), seed in runs:
        stages = [("SRGAN", out)]
        if own_srresnet:
            stages.insert(0, ("SRResNet", out / "checkpoints" / f"step-{pre:08d}.safetensors"))
        terms.setdefault("SRGAN" + tail, []).append(last_terms(out))
        for name, ck in stages:
            tr = load_translator(ck)
            per = []
            for i, (_, hr, lr) in enumerate(photos):
                sr = tr(lr)
                per.append(scores(sr, hr))
                if i == 0 and seed == 0:
                    shown[name + tail] = sr
            res.setdefault(name + tail, []).append(tuple(statistics.mean(v) for v in zip(*per)))
    bic_mean = [statistics.mean(v) for v in zip(*bic_s)]
    rows = [["bicubic", f"{bic_mean[0]:.2f}", f"{bic_mean[1]:.4f}", f"{bic_mean[2]:.1f}", ""]]
    for name, vals in res.items():
        t = terms.get(name)
        rows.append([name, mean_sd([v[0] for v in vals], 2), mean_sd([v[1] for v in vals], 4),
                     mean_sd([v[2] for v in vals], 1),
                     f"{statistics.mean(c for c, _ in t):.2g} / "
                     f"{statistics.mean(g for _, g in t):.2g}" if t else ""])
    per_photo = [[n, f"{s[0]:.2f} / {s[1]:.4f}"] for (n, _, _), s in zip(photos, bic_s)]
    psnr_of = {k: [v[0] for v in vals] for k, vals in res.items()}
    gain = [x - bic_mean[0] for x in psnr_of["SRResNet + bicubic skip"]]
    rand = terms["SRGAN" + RANDOM_VGG]
    srresnet_skip = statistics.mean(psnr_of["SRResNet + bicubic skip"])
    d_skip = statistics.mean(psnr_of["SRGAN + bicubic skip"]) - srresnet_skip
    d_rand = statistics.mean(psnr_of["SRGAN" + RANDOM_VGG]) - srresnet_skip
    d_paper = statistics.mean(psnr_of["SRGAN"]) - statistics.mean(psnr_of["SRResNet"])

    _, hr0, lr0 = photos[0]
    box = (slice(None), slice(None), slice(96, 224), slice(160, 288))  # a 128x128 HR window
    up = F.interpolate(lr0, scale_factor=SCALE, mode="nearest")
    pics = torch.cat([t[box] for t in (up, bic[0], *shown.values(), hr0)])
    save_image_grid(pics, ROOT / "docs" / "img" / "srgan-photos.png", nrow=len(pics))
    n = a.seeds
    cpu = ", ".join(f"{sum(secs[i * n:(i + 1) * n]) / n / 60:.1f} ({what})" for i, what in
                    enumerate(("paper's net", "with the skip", "the skip, random VGG19")))
    text = f"""# Super-resolution x4: bicubic, SRResNet and SRGAN on held-out photographs

Made by `{command_line()}` ({machine_note()}). {a.seeds} seed(s), mean ± sd over seeds; each
run: {pre} SRResNet steps (pixel MSE), then {adv} SRGAN steps (content loss + 1e-3 adversarial),
batch 16 of 64x64 crops, {cpu} CPU-minutes per run. PSNR (dB) and SSIM on Y, 4-pixel border
cropped. Two nets: the paper's SRResNet, which draws the whole image, and the same net with
`model.sr_skip=true` (the presets' default), which adds its output to the bicubic up-scaling
of its input and starts from it. Two content losses: the preset's, the FID Inception-v3's
`Conv2d_2b_3x3` feature maps (ImageNet weights on hand offline: the `ganforge[inception]`
extra), and the former preset's, VGG19 relu2_2 with fixed random weights (`vgg19-random`).
The paper's VGG54 needs the VGG19 weights file (`srgan-paper`).

## Ours: the 4 held-out bundled photographs (chelsea, coffee, flower, grace_hopper)

{markdown_table(["method", "PSNR (dB)", "SSIM", "colour shift (8-bit levels)",
                 "G's content / adversarial term, last logged tick"], rows)}

Bicubic per photo (PSNR / SSIM): {"; ".join(" ".join(r) for r in per_photo)}.
Colour shift: the mean over R, G and B of |mean(SR) - mean(HR)| per photo, in 8-bit levels.
Target: SRResNet above bicubic PSNR. The random-VGG19 run's SRResNet stage is the skip run's
(same seed, same pixel-MSE steps), so it has no SRResNet row of its own.

## Published (Ledig et al. 2017, Table 2; Set5 / Set14, 1e6 SRResNet + 1e5 SRGAN updates on ImageNet)

{markdown_table(["method", "Set5 PSNR / SSIM", "Set14 PSNR / SSIM"], PUBLISHED)}

A different test set and a budget about 500x smaller: compare the order of the rows, not the
values. The paper's pattern is SRResNet best in PSNR/SSIM and SRGAN lower in both (it trades
pixel fidelity for texture, which its MOS test rewards); bicubic below SRResNet.

Reading the table:
- SRResNet + skip against bicubic: {statistics.mean(gain):+.2f} dB PSNR on average, \
{sum(g > 0 for g in gain)} of {len(gain)} seeds above. Without the skip the net must learn colour
  and low frequencies from scratch, from 7 training photographs whose content (a nebula, tissue
  stains, a retina) is far from the held-out ones.
- The former content loss carried no weight: VGG19's random relu2_2 features under PyTorch's
  default initialisation shrink layer by layer, and its content term ended at \
{statistics.mean(c for c, _ in rand):.1g} against the adversarial \
{statistics.mean(g for _, g in rand):.1g}, so those SRGAN steps followed D alone.
- SRGAN against its SRResNet stage, the same seeds: with the skip \
{d_skip:+.2f} dB with the Inception content loss and {d_rand:+.2f} dB with the random VGG19; the
  paper's net {d_paper:+.2f} dB. The paper loses 2.65 dB on Set5 in exchange for texture; a loss
  of PSNR alone is no proof of texture, the picture below shows what each one draws.

![LR | bicubic | SRResNet | SRGAN | SRResNet + skip | SRGAN + skip | SRGAN + skip, random VGG19 | HR](img/srgan-photos.png)

Columns: the low-resolution input (nearest) | bicubic | SRResNet | SRGAN | SRResNet + skip |
SRGAN + skip | SRGAN + skip with the random-VGG19 content loss | the photo (a 128x128 window of
chelsea, seed 0).
"""
    write_doc("srgan.md", text)
    print(markdown_table(["method", "PSNR", "SSIM", "colour shift", "content / adversarial"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
