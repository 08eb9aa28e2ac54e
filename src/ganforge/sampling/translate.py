"""`ganforge translate`: run a trained image-to-image generator on any image or folder.

`load_translator(run, direction=...)` rebuilds the network that translates that way (pix2pix and
SRGAN: G, A to B; CycleGAN: G for AtoB, F for BtoA) from the checkpoint alone, with its EMA
weights when the run kept them, in eval mode: the mode and weights the training previews use,
so `translate` of a preview's input gives the preview's output (tests/test_translation.py).
pix2pix's dropout is off in eval mode; `--dropout` turns it back on (the paper's test-time
noise), seeded.

Large images are processed in overlapping tiles (sampling/tiles.py), blended across a quarter
tile of overlap, so memory stays bounded: super-resolution in tiles of 128 low-resolution pixels
(SRResNet's context is local and its batch norm uses fixed statistics in eval mode, so tiles
differ from a whole-image pass only where the overlap is narrower than its receptive field).
U-Net and ResNet translators normalise each image by its own statistics (instance norm), so
tiles would each get their own colour cast: they translate an image whole up to WHOLE_SIDE
pixels a side, and only larger ones in tiles of that size.
An image is padded (reflection) to a multiple of what the network's down-sampling needs and
cropped back afterwards.

Inputs: image files (PNG, JPEG, BMP, TIFF) read as the run's source channels (grey or RGB), or
.npy arrays [N, C, H, W] in [-1, 1] (what `ganforge sample` writes); outputs PNG files, or .npy
for .npy inputs, one per input, named after it, in --out.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import CheckpointError, DataError, GanforgeError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
SR_TILE = 128  # low-resolution pixels per super-resolution tile
WHOLE_SIDE = 1024  # U-Net / ResNet: images up to this side are translated whole


@dataclass
class Translator:
    """A trained image-to-image network and how to feed it.

    net: [N, C_in, H, W] in [-1, 1] -> [N, C_out, scale H, scale W]; multiple: input sides must
    be multiples of it; tile: the tile side, in input pixels.
    """

    net: nn.Module
    objective: str
    direction: str
    in_channels: int
    scale: int
    multiple: int
    tile: int
    step: int

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, *, progress=False) -> torch.Tensor:
        """One image [1, C_in, H, W] in [-1, 1] -> its translation, clamped to [-1, 1]."""
        from ganforge.sampling.tiles import apply_tiled

        if x.shape[1] != self.in_channels:
            raise DataError(f"input has {x.shape[1]} channels, the network reads {self.in_channels}")
        h, w = x.shape[-2:]
        m = self.multiple
        ph, pw = (-h) % m, (-w) % m
        if ph or pw:  # reflection needs pad < side: replicate for tiny images
            mode = "reflect" if ph < h and pw < w else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
        y = apply_tiled(self.net, x, tile=self.tile, overlap=self.tile // 4, scale=self.scale,
                        progress=progress)
        return y[..., : h * self.scale, : w * self.scale].clamp(-1, 1)


def _multiple(arch: dict, net: nn.Module) -> int:
    kind, args = arch["kind"], arch["args"]
    if kind == "unet":
        return 2 ** int(getattr(net, "depth", args.get("depth") or 0))
    if kind == "resnet":
        return 2 ** int(args.get("n_down", 2))
    return 1


def load_translator(run: str | Path, *, direction: str = "AtoB", ema: bool = True,
                    device: str = "cpu") -> Translator:
    """The network of an image-to-image run that translates `direction`, ready to call."""
    from ganforge.objectives import OBJECTIVES
    from ganforge.sampling.generator import load_generator
    from ganforge.training.checkpoint import find_checkpoint, load_state, upgrade_state

    state = upgrade_state(load_state(find_checkpoint(run)))
    cfg = state["config"]
    name = cfg["loss"]["objective"]
    dirs = getattr(OBJECTIVES.get(name), "directions", None)
    if dirs is None:
        raise CheckpointError(f"{run}: loss.objective={name} is not an image-to-image run; "
                              "use `ganforge sample`")
    if direction not in dirs:
        raise GanforgeError(f"--direction {direction}: a {name} run translates "
                            f"{' and '.join(dirs)} only")
    net = load_generator(run, net=dirs[direction], ema=ema, device=device)
    data = state["data"]
    src, tgt = data["source_shape"], data["shape"]
    if direction == "BtoA":
        src, tgt = tgt, src
    arch = state["archs"][dirs[direction]]
    scale = int(cfg["data"]["scale"]) if arch["kind"] == "srresnet" else 1
    multiple = _multiple(arch, net)
    tile = SR_TILE if arch["kind"] == "srresnet" else max(WHOLE_SIDE, src[-1], multiple)
    return Translator(net, name, direction, src[0], scale, multiple, tile, int(state["step"]))


def read_image(path: Path, channels: int) -> torch.Tensor:
    """An image file as [1, channels, H, W] in [-1, 1] (the loaders' u / 127.5 - 1)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            arr = np.asarray(im.convert("L" if channels == 1 else "RGB"), dtype=np.uint8)
    except (OSError, UnidentifiedImageError) as e:
        raise DataError(f"{path}: not a readable image ({e})") from None
    arr = arr[:, :, None] if arr.ndim == 2 else arr
    return torch.from_numpy(arr.copy()).permute(2, 0, 1)[None].float() / 127.5 - 1


def write_image(x: torch.Tensor, path: Path) -> None:
    """[1, C, H, W] in [-1, 1] -> an 8-bit PNG, written atomically."""
    import os

    from PIL import Image

    u = ((x[0].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
    img = Image.fromarray(u[:, :, 0] if u.shape[2] == 1 else u)
    tmp = path.with_name(path.name + ".tmp")
    img.save(tmp, format="PNG")
    os.replace(tmp, path)


def inputs_of(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES + (".npy",))
        if files:
            return files
        raise DataError(f"--input {path}: no image (.png, .jpg, ...) or .npy file in this folder")
    raise DataError(f"--input {path}: no such file or folder")


def add_parser(sub) -> None:
    p = sub.add_parser("translate", help="translate images with a pix2pix / CycleGAN / SRGAN run")
    p.add_argument("run", help="run folder or checkpoint file")
    p.add_argument("--input", required=True, help="an image, a .npy array, or a folder of them")
    p.add_argument("--out", required=True, help="output folder (one file per input)")
    p.add_argument("--direction", default="AtoB", choices=("AtoB", "BtoA"))
    p.add_argument("--no-ema", action="store_true", help="use the raw weights, not the EMA")
    p.add_argument("--dropout", action="store_true",
                   help="keep dropout on (pix2pix's test-time noise), seeded by --seed")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=cmd_translate)


def cmd_translate(args) -> int:
    from tqdm.auto import tqdm

    files = inputs_of(Path(args.input))
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise GanforgeError(f"--out {out}: exists and is not a folder")
    tr = load_translator(args.run, direction=args.direction, ema=not args.no_ema,
                         device=args.device)
    if args.dropout:
        torch.manual_seed(args.seed)
        for mod in tr.net.modules():
            if isinstance(mod, nn.Dropout):
                mod.train()
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for f in tqdm(files, desc="translating", unit="file", file=sys.stderr,
                  disable=len(files) == 1):
        if f.suffix.lower() == ".npy":
            arr = np.load(f)
            if arr.ndim != 4 or arr.dtype.kind != "f":
                raise DataError(f"{f}: expected float arrays [N, C, H, W] in [-1, 1], "
                                f"got {arr.dtype} {arr.shape}")
            x = torch.from_numpy(arr).float().to(args.device)
            ys = [tr(x[i : i + 1].clamp(-1, 1)).cpu() for i in range(len(x))]
            np.save(out / f"{f.stem}.npy", torch.cat(ys).numpy())
            n += len(x)
            continue
        # one file: a bar over its tiles instead (a large photo takes a while)
        y = tr(read_image(f, tr.in_channels).to(args.device), progress=len(files) == 1)
        write_image(y.cpu(), out / f"{f.stem}.png")
        n += 1
    print(f"translated {n} image{'s' * (n != 1)} ({tr.objective}, {tr.direction}, "
          f"step {tr.step}) into {out}")
    return 0
