"""Offline image-to-image protocols on data that pip packages ship (nothing is downloaded).

Each protocol has a fixed, documented train / held-out split ("train" or "test"; "all" is
refused so that no evaluation touches training images by accident):

- edges2mnist (paired; pix2pix's "edges -> photo" task on digits, Isola et al. 2017):
  B = the MNIST digit, A = its edge map, both [1, 28, 28], labels kept. Only MNIST's 10,000-image
  test file (t10k) is used, so the protocol is the same wherever the full set is absent:
  "train" = its first 8,000 images, "test" = its last 2,000. Edges: the Canny detector (Canny
  1986; skimage.feature.canny, sigma 1, hysteresis thresholds 0.1 / 0.2 of the [0, 1] range) of
  the zero-padded digit: thin outlines that keep the shape and drop the fill, 0 or 255.
- digits2mnist (unpaired; CycleGAN, Zhu et al. 2017): A = scikit-learn's 8x8 digits (17 grey
  levels 0..16, white on black like MNIST) up-scaled to 20x20 (bicubic) and padded by 4 to
  28x28, MNIST's framing of a 20x20 digit box; B = MNIST as above. Both labelled. "train" =
  sklearn digits 0..1499 + MNIST t10k 0..7999; "test" = digits 1500..1796 (297) + t10k
  8000..9999 (2,000), in the files' own order.
- grey2color-photos (paired): A = the ITU-R BT.601 luma of a colour photo (Y = 0.299 R +
  0.587 G + 0.114 B, 1 channel), B = the photo; random crops (crop_size, default 64).
- photos-sr (superres): the photos as high-resolution images, crops of crop_size (default 96)
  and their bicubic x`scale` down-scaling (pairs.downscale).

The photos (all bundled in the wheels, at native resolution unless image_size resizes their
shorter side; `photo_list(split)`):
  train (7): skimage astronaut, rocket, hubble_deep_field, immunohistochemistry, retina,
             motorcycle (stereo_motorcycle, left view); scikit-learn china.
  test  (4): skimage chelsea (the same photo as skimage's cat, which is therefore unused),
             coffee; scikit-learn flower; matplotlib grace_hopper.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ganforge.data.images import check_size
from ganforge.data.pairs import PairedImages, SuperResImages, UnpairedImages
from ganforge.errors import ConfigError, DataError

SPLITS = ("train", "test")
MNIST_TRAIN = 8000  # t10k images 0..7999 are "train", 8000..9999 "test"
DIGITS_TRAIN = 1500  # sklearn digits 0..1499 are "train", 1500..1796 "test"
TRAIN_PHOTOS = ("astronaut", "rocket", "hubble_deep_field", "immunohistochemistry", "retina",
                "motorcycle", "china")
TEST_PHOTOS = ("chelsea", "coffee", "flower", "grace_hopper")
_EDGE_GAP = 4  # zero border of each digit in the edge mosaic (8 px between neighbours)


def _check_split(name: str, split: str) -> str:
    if split not in SPLITS:
        raise ConfigError(f"{name}: split={split!r} is not one of {', '.join(SPLITS)} "
                          "(a fixed protocol has no 'all')")
    return split


def _mnist_part(split: str, data_dir: str | None, download: bool):
    """uint8 [n, 1, 28, 28] digits and [n] labels of the protocol's part of MNIST's t10k."""
    from ganforge.data.idx import load_idx_dataset

    ds = load_idx_dataset("mnist", data_dir=data_dir, split="test", download=download)
    if not ds.spec.identity.startswith("mnist:test:") or len(ds) != 10000:
        raise DataError(f"mnist: the protocol needs the 10,000-image test files t10k-*-ubyte "
                        f"in {data_dir or 'the cache'}, found {ds.spec.identity}")
    part = slice(0, MNIST_TRAIN) if split == "train" else slice(MNIST_TRAIN, None)
    # x = u / 127.5 - 1 in float32 recovers u exactly by rounding
    u = ((ds.x[part] + 1.0) * 127.5).round_().to(torch.uint8)
    return u, ds.y[part], ds.spec.identity.rsplit("sha256=", 1)[-1]


def canny_edges(digits: torch.Tensor) -> torch.Tensor:
    """Canny edge maps of uint8 digits [N, 1, H, W] -> uint8 [N, 1, H, W] in {0, 255}.

    Runs skimage's canny once on a mosaic of the digits, each zero-padded, 8 px apart: the same
    result as one call per zero-padded digit (checked on all of MNIST's t10k), ~4x faster.
    """
    from skimage.feature import canny

    n, _, h, w = digits.shape
    cols, p = 100, _EDGE_GAP
    rows = -(-n // cols)
    tiles = np.zeros((rows * cols, h + 2 * p, w + 2 * p), np.float32)
    tiles[:n, p:p + h, p:p + w] = digits[:, 0].numpy() / 255.0
    mosaic = tiles.reshape(rows, cols, h + 2 * p, w + 2 * p).transpose(0, 2, 1, 3)
    edges = canny(mosaic.reshape(rows * (h + 2 * p), cols * (w + 2 * p)), sigma=1.0,
                  low_threshold=0.1, high_threshold=0.2)
    edges = edges.reshape(rows, h + 2 * p, cols, w + 2 * p).transpose(0, 2, 1, 3)
    out = edges.reshape(rows * cols, h + 2 * p, w + 2 * p)[:n, p:p + h, p:p + w]
    return torch.from_numpy(out.astype(np.uint8) * 255).unsqueeze(1)


def edges2mnist(*, data_dir: str | None = None, split: str = "train",
                crop_size: int | None = None, flip: bool = False, direction: str = "AtoB",
                download: bool = True) -> PairedImages:
    """Paired edge map (a) -> MNIST digit (x), [1, 28, 28], y = the digit's class."""
    _check_split("edges2mnist", split)
    b, y, key = _mnist_part(split, data_dir, download)
    return PairedImages(canny_edges(b), b, labels=y, num_classes=10, crop_size=crop_size,
                        flip=flip, direction=direction, name="edges2mnist",
                        identity=f"edges2mnist:{split}:n={len(b)}:canny1:mnist={key}")


def sklearn_digits28(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's digits of the protocol's split as uint8 [n, 1, 28, 28] and labels [n]."""
    from sklearn.datasets import load_digits  # lazy: sklearn import costs ~1 s

    d = load_digits()
    part = slice(0, DIGITS_TRAIN) if split == "train" else slice(DIGITS_TRAIN, None)
    v = torch.from_numpy(d.images[part]).float().unsqueeze(1) / 16.0
    v = F.interpolate(v, size=(20, 20), mode="bicubic", align_corners=False).clamp_(0.0, 1.0)
    u = F.pad(v, (4, 4, 4, 4)).mul_(255.0).round_().to(torch.uint8)
    return u, torch.from_numpy(d.target[part]).long()


def digits2mnist(*, data_dir: str | None = None, split: str = "train",
                 crop_size: int | None = None, flip: bool = False, direction: str = "AtoB",
                 download: bool = True) -> UnpairedImages:
    """Unpaired sklearn digits (a, domain A) and MNIST digits (x, domain B), both labelled."""
    _check_split("digits2mnist", split)
    a, ya = sklearn_digits28(split)
    b, yb, key = _mnist_part(split, data_dir, download)
    h = hashlib.sha256(a.numpy().tobytes()).hexdigest()[:16]
    return UnpairedImages(a, b, labels_a=ya, labels_b=yb, classes_a=10, classes_b=10,
                          crop_size=crop_size, flip=flip, direction=direction,
                          name="digits2mnist", identity=f"digits2mnist:{split}:"
                          f"n={len(a)}+{len(b)}:digits={h}:mnist={key}")


# ---------------------------------------------------------------- photographs


def _skimage(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import skimage.data

        if name == "motorcycle":
            return skimage.data.stereo_motorcycle()[0]
        return getattr(skimage.data, name)()

    return load


def _sklearn(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from sklearn.datasets import load_sample_image

        return load_sample_image(f"{name}.jpg")

    return load


def _grace_hopper() -> np.ndarray:
    from matplotlib.cbook import get_sample_data
    from PIL import Image

    with Image.open(get_sample_data("grace_hopper.jpg", asfileobj=False)) as im:
        return np.asarray(im.convert("RGB"))


PHOTOS: dict[str, Callable[[], np.ndarray]] = {
    **{n: _skimage(n) for n in ("astronaut", "rocket", "hubble_deep_field",
                                "immunohistochemistry", "retina", "motorcycle", "chelsea",
                                "coffee")},
    "china": _sklearn("china"), "flower": _sklearn("flower"), "grace_hopper": _grace_hopper,
}


def photo_list(split: str) -> list[tuple[str, np.ndarray]]:
    """The protocol's photos of split: (name, uint8 [H, W, 3]) in the documented order."""
    _check_split("photos", split)
    out = []
    for name in TRAIN_PHOTOS if split == "train" else TEST_PHOTOS:
        try:
            arr = np.asarray(PHOTOS[name]())
        except (ImportError, OSError, ValueError) as e:
            raise DataError(f"photo {name!r}: cannot load it from its package ({e})") from e
        if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
            raise DataError(f"photo {name!r}: expected uint8 H x W x 3, got {arr.dtype} "
                            f"{arr.shape}")
        out.append((name, arr))
    return out


def _photos(name: str, split: str, image_size: int | None):
    """The split's photos as uint8 [3, H, W] tensors (shorter side resized to image_size)."""
    from PIL import Image

    _check_split(name, split)
    check_size(name, image_size)
    names, images, h = [], [], hashlib.sha256(f"{image_size}".encode())
    for n, arr in photo_list(split):
        if image_size is not None:
            hh, ww = arr.shape[:2]
            s = image_size / min(hh, ww)
            size = (max(image_size, round(ww * s)), max(image_size, round(hh * s)))
            arr = np.asarray(Image.fromarray(arr).resize(size, Image.Resampling.BICUBIC))
        h.update(n.encode())
        h.update(np.ascontiguousarray(arr).tobytes())
        names.append(f"{name} photo {n!r}")
        images.append(torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1))))
    key = h.hexdigest()[:16]
    return names, images, f"{name}:{split}:n={len(images)}:size={image_size}:sha256={key}"


def luma601(rgb: torch.Tensor) -> torch.Tensor:
    """ITU-R BT.601 luma of uint8 [3, H, W] -> uint8 [1, H, W] (rounded)."""
    w = torch.tensor([0.299, 0.587, 0.114], dtype=torch.float64).view(3, 1, 1)
    return (rgb.double() * w).sum(0, keepdim=True).round_().clamp_(0, 255).to(torch.uint8)


def grey2color_photos(*, split: str = "train", crop_size: int | None = 64, flip: bool = False,
                      direction: str = "AtoB", image_size: int | None = None) -> PairedImages:
    """Paired grey (a, [1, S, S]) -> colour (x, [3, S, S]) crops of the bundled photos."""
    names, images, identity = _photos("grey2color-photos", split, image_size)
    return PairedImages([luma601(t) for t in images], images, crop_size=crop_size, flip=flip,
                        direction=direction, name="grey2color-photos", identity=identity,
                        names_a=[f"{n} (grey)" for n in names], names_b=names)


def photos_sr(*, split: str = "train", scale: int = 4, crop_size: int | None = 96,
              flip: bool = False, image_size: int | None = None) -> SuperResImages:
    """Super-resolution crops of the bundled photos: x [3, S, S], a [3, S/scale, S/scale]."""
    names, images, identity = _photos("photos-sr", split, image_size)
    return SuperResImages(images, scale=scale, crop_size=crop_size, flip=flip, name="photos-sr",
                          identity=identity, names=names)
