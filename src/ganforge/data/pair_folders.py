"""Image-to-image data from folders: paired (pix2pix's aligned A|B files or two folders matched
by name), unpaired (trainA / trainB) and high-resolution images for super-resolution.

Images are read with Pillow as grey ("L") or RGB, resized when `image_size` is given (bicubic,
shorter side), and their bytes hashed into the dataset's identity. The datasets themselves
(crops, flips, down-scaling) are data/pairs.py.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from ganforge.data.images import IMAGE_EXTENSIONS, check_size, open_image
from ganforge.data.pairs import PairedImages, SuperResImages, UnpairedImages, check_direction
from ganforge.errors import ConfigError, DataError


def _mode(name: str, channels: int | None) -> str:
    c = 3 if channels is None else channels
    if c not in (1, 3):
        raise ConfigError(f"{name}: channels={channels!r} must be 1 (grayscale) or 3 (RGB)")
    return "L" if c == 1 else "RGB"


def _images_in(folder: Path) -> list[Path]:
    """The image files of folder (not recursive), sorted by name; none is an error."""
    files = sorted(p for p in folder.iterdir()
                   if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    if not files:
        raise DataError(f"{folder}: no images ({', '.join(IMAGE_EXTENSIONS)}) found")
    return files


def _open(path: Path, mode: str, h):
    """The decoded image (data/images.py's reader); its name and bytes feed the hash h."""
    im, raw = open_image(path, mode)
    h.update(path.name.encode())
    h.update(raw)
    return im


def _tensor(im, image_size: int | None) -> torch.Tensor:
    """PIL image -> uint8 [C, H, W], the shorter side resized to image_size (bicubic)."""
    from PIL import Image

    if image_size is not None:
        w, h = im.size
        s = image_size / min(w, h)
        im = im.resize((max(image_size, round(w * s)), max(image_size, round(h * s))),
                       Image.Resampling.BICUBIC)
    arr = np.asarray(im, dtype=np.uint8)
    return torch.from_numpy((arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)).copy())


def _read_folder(folder: Path, mode: str, image_size: int | None, h):
    files = _images_in(folder)
    return [_tensor(_open(p, mode, h), image_size) for p in files], [str(p) for p in files]


def _digest(h, *settings) -> str:
    h.update(repr(settings).encode())
    return h.hexdigest()[:16]


def _read_two_folders(base: Path, mode: str, size: int | None, h):
    """Pairs base/A/<f> and base/B/<f>, matched by file name; a file without partner fails."""
    files = _images_in(base / "A")
    partners = {p.name for p in _images_in(base / "B")}
    for p in files:
        if p.name not in partners:
            raise DataError(f"{p}: no partner {base / 'B' / p.name}")
    orphans = sorted(partners - {p.name for p in files})
    if orphans:
        raise DataError(f"{base / 'B' / orphans[0]}: no partner {base / 'A' / orphans[0]}")
    a = [_tensor(_open(p, mode, h), size) for p in files]
    b = [_tensor(_open(base / "B" / p.name, mode, h), size) for p in files]
    return a, b, [str(p) for p in files], [str(base / "B" / p.name) for p in files]


def _read_aligned(folder: Path, mode: str, size: int | None, h):
    """pix2pix's aligned format: each file is [A | B], split down the middle."""
    files = _images_in(folder)
    a, b = [], []
    for p in files:
        im = _open(p, mode, h)
        w, hgt = im.size
        if w % 2:
            raise DataError(f"{p}: width {w} is odd; an aligned A|B image has two equal halves")
        a.append(_tensor(im.crop((0, 0, w // 2, hgt)), size))
        b.append(_tensor(im.crop((w // 2, 0, w, hgt)), size))
    names = [str(p) for p in files]
    return a, b, names, names


def load_paired(data_dir: str | Path | None, *, split: str = "train",
                image_size: int | None = None, crop_size: int | None = None, flip: bool = False,
                direction: str = "AtoB", channels: int | None = None,
                name: str = "paired") -> PairedImages:
    """Paired images from data_dir: pix2pix's "aligned" <split>/ folder of side-by-side [A | B]
    images (split down the middle), or folders <split>/A and <split>/B (or A and B) matched by
    file name. image_size: resize each side's shorter side to it (bicubic) at load time."""
    mode, size = _mode(name, channels), check_size(name, image_size)
    check_direction(name, direction)
    if data_dir is None:
        raise DataError(f"{name}: no data_dir given (a folder with {split}/ of A|B images)")
    root = Path(data_dir)
    h = hashlib.sha256()
    folder = root / split
    if (folder / "A").is_dir() and (folder / "B").is_dir():
        a, b, names_a, names_b = _read_two_folders(folder, mode, size, h)
    elif folder.is_dir():
        a, b, names_a, names_b = _read_aligned(folder, mode, size, h)
    elif (root / "A").is_dir() and (root / "B").is_dir():
        a, b, names_a, names_b = _read_two_folders(root, mode, size, h)
    else:
        raise DataError(f"{root}: expected {split}/ holding side-by-side A|B images, "
                        f"{split}/A and {split}/B, or A and B folders")
    key = _digest(h, size, mode)
    return PairedImages(a, b, crop_size=crop_size, flip=flip, direction=direction, name=name,
                        identity=f"{name}:{root.name}:{split}:n={len(a)}:size={size}:"
                                 f"{mode}:sha256={key}", names_a=names_a, names_b=names_b)


def load_unpaired(data_dir: str | Path | None, *, split: str = "train",
                  image_size: int | None = None, crop_size: int | None = None,
                  flip: bool = False, direction: str = "AtoB", channels: int | None = None,
                  name: str = "unpaired") -> UnpairedImages:
    """CycleGAN's layout: data_dir/<split>A and data_dir/<split>B (trainA/trainB, testA/testB),
    each a folder of images; resized as in load_paired."""
    mode, size = _mode(name, channels), check_size(name, image_size)
    check_direction(name, direction)
    if data_dir is None:
        raise DataError(f"{name}: no data_dir given (a folder with {split}A/ and {split}B/)")
    root = Path(data_dir)
    fa, fb = root / f"{split}A", root / f"{split}B"
    if not (fa.is_dir() and fb.is_dir()):
        raise DataError(f"{root}: expected folders {split}A/ and {split}B/ (CycleGAN layout)")
    h = hashlib.sha256()
    a, names_a = _read_folder(fa, mode, size, h)
    b, names_b = _read_folder(fb, mode, size, h)
    key = _digest(h, size, mode)
    return UnpairedImages(a, b, crop_size=crop_size, flip=flip, direction=direction, name=name,
                          identity=f"{name}:{root.name}:{split}:n={len(a)}+{len(b)}:size={size}"
                                   f":{mode}:sha256={key}", names_a=names_a, names_b=names_b)


def load_superres(data_dir: str | Path | None, *, scale: int = 4, crop_size: int | None = 96,
                  flip: bool = False, channels: int | None = None,
                  name: str = "superres") -> SuperResImages:
    """A folder of high-resolution images (any sizes), read at native resolution."""
    mode = _mode(name, channels)
    if data_dir is None:
        raise DataError(f"{name}: no data_dir given (a folder of high-resolution images)")
    root = Path(data_dir)
    if not root.is_dir():
        raise DataError(f"{root}: folder of high-resolution images not found")
    h = hashlib.sha256()
    images, names = _read_folder(root, mode, None, h)
    key = _digest(h, mode)
    return SuperResImages(images, scale=scale, crop_size=crop_size, flip=flip, name=name,
                          identity=f"{name}:{root.name}:n={len(images)}:{mode}:sha256={key}",
                          names=names)
