"""Image datasets other than IDX: sklearn digits, CIFAR-10 pickle batches, and any image folder.

Also owns the two conversions every image loader shares: uint8 pixels -> float32 in [-1, 1]
(x / 127.5 - 1) and resizing by bilinear interpolation. All loaders return a TensorDataset of
x [N, C, H, W] float32 in [-1, 1] and y [N] int64 (or None for an unlabelled folder).
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import re
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from ganforge.data.base import DataSpec, TensorDataset
from ganforge.data.download import cache_dir, download_file, safe_extract_tar
from ganforge.errors import ConfigError, DataError

SPLITS = ("train", "test", "all")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif")
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e9d36e7"
CIFAR10_FOLDER = "cifar-10-batches-py"
_BUFFER_REPR = re.compile(r"<_io\.BytesIO object at 0x[0-9a-fA-F]+>")
DIGITS_TRAIN = 1500  # digits "train" = first 1500 of a fixed permutation (seed 0), "test" the rest


def check_split(name: str, split: str) -> str:
    if split not in SPLITS:
        raise ConfigError(f"{name}: split={split!r} is not one of {', '.join(SPLITS)}")
    return split


def check_size(name: str, image_size: int | None) -> int | None:
    if image_size is not None and (
        isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1
    ):
        raise ConfigError(f"{name}: image_size={image_size!r} must be a positive integer")
    return image_size


def uint8_to_signed(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 pixels [..] in 0..255 -> float32 in [-1, 1] by x / 127.5 - 1."""
    t = torch.as_tensor(np.asarray(x) if isinstance(x, np.ndarray) else x)
    return t.to(torch.float32) / 127.5 - 1.0


def resize_images(x: torch.Tensor, image_size: int | None) -> torch.Tensor:
    """Resize [N, C, H, W] to [N, C, S, S] by bilinear interpolation (antialiased when shrinking).

    Returns x unchanged when image_size is None or already matches. Values stay in [-1, 1].
    """
    if image_size is None or x.shape[-2:] == (image_size, image_size):
        return x
    shrink = image_size < min(x.shape[-2:])
    out = F.interpolate(
        x, size=(image_size, image_size), mode="bilinear", align_corners=False, antialias=shrink
    )
    return out.clamp_(-1.0, 1.0)


# ---------------------------------------------------------------- digits


def load_digits_dataset(*, split: str = "train", image_size: int | None = None) -> TensorDataset:
    """sklearn's UCI digits: 1797 images 8x8, 17 grey levels 0..16 -> [N, 1, 8, 8] in [-1, 1].

    split "train" = first 1500 of a fixed permutation (seed 0), "test" = the other 297,
    "all" = all 1797 in the original order. Labels 0-9.
    """
    check_split("digits", split)
    check_size("digits", image_size)
    from sklearn.datasets import load_digits  # lazy: sklearn import costs ~1 s

    d = load_digits()
    x = torch.from_numpy(d.images).float().unsqueeze(1) / 8.0 - 1.0
    y = torch.from_numpy(d.target).long()
    if split != "all":
        perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
        idx = perm[:DIGITS_TRAIN] if split == "train" else perm[DIGITS_TRAIN:]
        x, y = x[idx], y[idx]
    x = resize_images(x, image_size)
    size = x.shape[-1]
    spec = DataSpec(
        name="digits",
        kind="image",
        shape=(1, size, size),
        num_classes=10,
        identity=f"digits:{split}:n={len(x)}:size={size}",
    )
    return TensorDataset(x.contiguous(), y, spec)


def load_lfw_faces(*, image_size: int | None = None) -> TensorDataset:
    """The face crops bundled in scikit-image's wheel (`skimage.data.lfw_subset`, Labeled Faces in
    the Wild, 25x25 grey): its first 100 images are faces, the other 100 background patches (its
    docstring), so this is the 100 faces -> [100, 1, S, S] in [-1, 1], S = image_size or 28
    (DCGAN's sizes are s0 * 2^n, s0 in 4..7). A small-data set: no labels, no split."""
    check_size("lfw-faces", image_size)
    try:
        from skimage.data import lfw_subset  # lazy: the `images` extra
        from skimage.util import img_as_float
    except ImportError:
        raise DataError("lfw-faces: needs scikit-image (pip install 'ganforge[images]')") from None
    faces = img_as_float(lfw_subset()[:100])  # float in [0, 1] whatever dtype the wheel ships
    x = torch.from_numpy(faces).float().unsqueeze(1) * 2 - 1
    x = resize_images(x, image_size or 28)
    size = x.shape[-1]
    spec = DataSpec(name="lfw-faces", kind="image", shape=(1, size, size), num_classes=0,
                    identity=f"lfw-faces:n={len(x)}:size={size}")
    return TensorDataset(x.contiguous(), None, spec)


# ---------------------------------------------------------------- cifar10


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles only what a CIFAR batch holds (dicts, lists, bytes, numpy arrays)."""

    _ALLOWED: ClassVar[frozenset[tuple[str, str]]] = frozenset(
        {
            ("_codecs", "encode"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
        }
    )

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing global {module}.{name}")
        return super().find_class(module, name)


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as f:
            d = _BatchUnpickler(f, encoding="bytes").load()
    except (
        pickle.UnpicklingError,
        EOFError,
        OSError,
        ValueError,
        TypeError,
        AttributeError,
        ImportError,
    ) as e:
        raise DataError(f"{path}: not a CIFAR-10 pickle batch ({e})") from e
    if not isinstance(d, dict) or b"data" not in d or b"labels" not in d:
        raise DataError(f"{path}: CIFAR-10 batch lacks the b'data' / b'labels' entries")
    data = np.asarray(d[b"data"])
    labels = np.asarray(d[b"labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DataError(f"{path}: data is {data.dtype} {data.shape}, expected uint8 N x 3072")
    if labels.shape != (len(data),) or (len(labels) and (labels.min() < 0 or labels.max() > 9)):
        raise DataError(f"{path}: {labels.size} labels in 0..9 expected for {len(data)} images")
    return data.reshape(-1, 3, 32, 32), labels


def _cifar_folder(data_dir: str | None, download: bool) -> Path:
    roots = [Path(data_dir)] if data_dir is not None else [cache_dir("cifar10")]
    for root in roots:
        for cand in (root, root / CIFAR10_FOLDER):
            if (cand / "test_batch").is_file() or (cand / "data_batch_1").is_file():
                return cand
    root = roots[0]
    expected = f"{CIFAR10_FOLDER}/data_batch_1..5 and test_batch"
    if not download:
        raise DataError(
            f"cifar10: no {expected} in {root}; download {CIFAR10_URL} and "
            f"extract it there, or pass download=True"
        )
    try:
        archive = download_file(CIFAR10_URL, root / "cifar-10-python.tar.gz", md5=CIFAR10_MD5)
    except DataError as e:
        raise DataError(
            f"cifar10: no {expected} in {root} and download failed ({e}); fetch "
            f"{CIFAR10_URL} by hand and extract it into {root}"
        ) from None
    safe_extract_tar(archive, root)
    return root / CIFAR10_FOLDER


def load_cifar10(
    *,
    data_dir: str | None = None,
    split: str = "train",
    image_size: int | None = None,
    download: bool = True,
) -> TensorDataset:
    """CIFAR-10 from the python pickle batches: x [N, 3, 32, 32] in [-1, 1], y [N] in 0..9.

    `data_dir` may be the `cifar-10-batches-py` folder or its parent; None means the cache folder,
    where the official archive is downloaded (md5-checked) and extracted when missing.
    split "train" = data_batch_1..5 (all five required), "test" = test_batch, "all" = both.
    """
    check_split("cifar10", split)
    check_size("cifar10", image_size)
    folder = _cifar_folder(data_dir, download)
    names = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
    wanted = names["train"] + names["test"] if split == "all" else names[split]
    missing = [n for n in wanted if not (folder / n).is_file()]
    if missing:
        raise DataError(f"cifar10: {folder} lacks {', '.join(missing)} needed for split={split}")
    parts = [_read_cifar_batch(folder / n) for n in wanted]
    data = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    h = hashlib.sha256()
    for n in wanted:
        h.update(n.encode())
        h.update(str(os.path.getsize(folder / n)).encode())
    h.update(data.tobytes())
    x = resize_images(uint8_to_signed(data), image_size)
    size = x.shape[-1]
    spec = DataSpec(
        name="cifar10",
        kind="image",
        shape=(3, size, size),
        num_classes=10,
        identity=f"cifar10:{split}:n={len(x)}:size={size}:sha256={h.hexdigest()[:16]}",
    )
    return TensorDataset(x.contiguous(), torch.from_numpy(labels), spec)


# ---------------------------------------------------------------- folder


def open_image(path: Path, mode: str):
    """(the decoded image converted to `mode` ("L" / "RGB"), the file's bytes): read once, decoded
    from memory so the caller can hash the same bytes; unreadable, unknown or corrupt files are
    a one-line DataError naming the file."""
    from PIL import Image, UnidentifiedImageError

    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from e
    try:
        with Image.open(io.BytesIO(raw)) as im:
            return im.convert(mode), raw
    except UnidentifiedImageError as e:
        # Pillow's own message names the in-memory buffer (<_io.BytesIO object at 0x...>)
        raise DataError(f"{path}: not an image Pillow can read (unknown or corrupt format)") from e
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as e:
        # SyntaxError: Pillow's "broken PNG file" from a corrupt chunk after the header
        why = " ".join(_BUFFER_REPR.sub("the file", str(e)).split()) or "no details"
        raise DataError(f"{path}: corrupt image ({type(e).__name__}: {why})") from e


def _load_image(path: Path, *, size: int, mode: str, h: hashlib._Hash) -> np.ndarray:
    from PIL import Image

    im, raw = open_image(path, mode)
    w0, h0 = im.size
    scale = size / min(w0, h0)
    nw, nh = max(size, round(w0 * scale)), max(size, round(h0 * scale))
    im = im.resize((nw, nh), Image.Resampling.BICUBIC, reducing_gap=3.0)
    left, top = (nw - size) // 2, (nh - size) // 2
    arr = np.asarray(im.crop((left, top, left + size, top + size)), dtype=np.uint8)
    h.update(raw)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def load_folder(
    data_dir: str | None, *, image_size: int | None = None, channels: int | None = None
) -> TensorDataset:
    """Every image under `data_dir` (recursive; png/jpg/jpeg/bmp/webp/gif) via Pillow.

    Each is resized so its shorter side is image_size (default 64), centre-cropped to a square,
    converted to RGB (channels 3, default) or grayscale (channels 1): x [N, C, S, S] in [-1, 1].
    Labels: when every image sits inside an immediate subfolder, the sorted subfolder names are
    the classes (y [N] int64); otherwise y is None and num_classes 0.
    """
    size = 64 if image_size is None else check_size("folder", image_size)
    c = 3 if channels is None else channels
    if c not in (1, 3):
        raise ConfigError(f"folder: channels={channels!r} must be 1 (grayscale) or 3 (RGB)")
    if data_dir is None:
        raise DataError("folder: no data_dir given (a folder of images)")
    root = Path(data_dir)
    if not root.is_dir():
        raise DataError(f"{root}: image folder not found")
    files = sorted(
        p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
    )
    if not files:
        raise DataError(f"{root}: no images ({', '.join(IMAGE_EXTENSIONS)}) found")
    rel = [p.relative_to(root) for p in files]
    labelled = all(len(r.parts) >= 2 for r in rel)
    classes = sorted({r.parts[0] for r in rel}) if labelled else []
    h = hashlib.sha256(f"{size}:{c}".encode())
    xs = []
    for p, r in zip(files, rel):
        h.update(r.as_posix().encode())
        xs.append(_load_image(p, size=size, mode="L" if c == 1 else "RGB", h=h))
    x = uint8_to_signed(np.stack(xs))
    y = torch.tensor([classes.index(r.parts[0]) for r in rel]) if labelled else None
    spec = DataSpec(
        name="folder",
        kind="image",
        shape=(c, size, size),
        num_classes=len(classes),
        identity=f"folder:{root.name}:n={len(x)}:size={size}:c={c}:sha256={h.hexdigest()[:16]}",
    )
    return TensorDataset(x, y, spec)
