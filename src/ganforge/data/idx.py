"""MNIST and Fashion-MNIST: the IDX file format, split selection and checksummed download.

IDX (LeCun et al., http://yann.lecun.com/exdb/mnist/): a 4-byte magic 0x00 0x00 <dtype> <ndim>,
then ndim big-endian uint32 dimensions, then the row-major data. Files may be gzipped (`*.gz`) or
raw. Images become x [N, 1, 28, 28] float32 in [-1, 1] (x / 127.5 - 1), labels y [N] int64.

Split handling is forgiving where it is safe: asking for "train" where only the test files exist
(as in the project's shared data folder) falls back to "test" with a warning, and vice versa;
"all" concatenates whatever splits exist.
"""

from __future__ import annotations

import gzip
import hashlib
import warnings
import zlib
from pathlib import Path

import numpy as np
import torch

from ganforge.data.base import DataSpec, TensorDataset
from ganforge.data.download import cache_dir, download_file
from ganforge.data.images import check_size, check_split, resize_images, uint8_to_signed
from ganforge.errors import DataError

_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_PREFIX = {"train": "train", "test": "t10k"}

# Archive md5s as published (the same as torchvision's MNIST / FashionMNIST `resources`).
MIRRORS = {
    "mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "fashion-mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
}
MD5 = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}
# sha256 of the decompressed content, where known; a mismatch only warns (other versions exist).
CONTENT_SHA256 = {
    "mnist": {
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
}


def _one_line(path: Path) -> str:
    """The path as text with control characters (a newline in a folder name) escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(path))


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror})") from e
    if raw[:2] != b"\x1f\x8b":  # gzip magic, whatever the file is called
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: truncated or corrupt gzip ({e})") from e


def parse_idx(raw: bytes, *, source: str = "<bytes>") -> np.ndarray:
    """Decode IDX bytes into a numpy array of the header's dtype and shape.

    Raises DataError naming `source` on a wrong magic or when the header's dimensions do not
    match the number of data bytes.
    """
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES or raw[3] == 0:
        raise DataError(f"{source}: not an IDX file (magic {raw[:4].hex() or 'missing'})")
    dtype, ndim = np.dtype(_DTYPES[raw[2]]), raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise DataError(f"{source}: IDX header truncated ({len(raw)} bytes)")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(dims)) * dtype.itemsize
    got = len(raw) - 4 - 4 * ndim
    if got != expected:
        raise DataError(
            f"{source}: IDX header says shape {dims} ({expected} data bytes), file holds {got}"
        )
    return np.frombuffer(raw, dtype=dtype, offset=4 + 4 * ndim).reshape(dims)


def read_idx(path: str | Path, *, name: str | None = None) -> np.ndarray:
    """Read an IDX file (gzipped or raw). With `name`, warn if its content sha256 is not the known one."""
    path = Path(path)
    raw = _read_bytes(path)
    arr = parse_idx(raw, source=str(path))
    stem = path.name.removesuffix(".gz")
    known = CONTENT_SHA256.get(name or "", {}).get(stem)
    if known and hashlib.sha256(raw).hexdigest() != known:
        warnings.warn(
            f"{_one_line(path)}: content differs from the official {name} {stem} (sha256)",
            stacklevel=2,
        )
    return arr


def _find(folder: Path, stem: str) -> Path | None:
    for cand in (folder / f"{stem}.gz", folder / stem):
        if cand.is_file():
            return cand
    return None


def _split_files(folder: Path, split: str) -> tuple[Path, Path] | None:
    p = _PREFIX[split]
    images = _find(folder, f"{p}-images-idx3-ubyte")
    if images is None:
        return None
    labels = _find(folder, f"{p}-labels-idx1-ubyte")
    if labels is None:
        raise DataError(f"{images}: found, but {folder}/{p}-labels-idx1-ubyte[.gz] is missing")
    return images, labels


def _download(name: str, folder: Path, splits: list[str]) -> None:
    wanted = [
        f"{_PREFIX[s]}-{k}.gz" for s in splits for k in ("images-idx3-ubyte", "labels-idx1-ubyte")
    ]
    try:
        for f in wanted:
            download_file(MIRRORS[name] + f, folder / f, md5=MD5[name][f])
    except DataError as e:
        raise DataError(
            f"{name}: no IDX files in {folder} and download failed ({e}); put "
            f"{', '.join(wanted)} from {MIRRORS[name]} in that folder"
        ) from None


def load_idx_dataset(
    name: str,
    *,
    data_dir: str | None = None,
    split: str = "train",
    image_size: int | None = None,
    download: bool = True,
) -> TensorDataset:
    """MNIST or Fashion-MNIST (`name`) from the standard IDX files in `data_dir`.

    data_dir None means the cache folder (`$GANFORGE_DATA/<name>` or ~/.cache/ganforge/<name>).
    When no split is present there and download is True, the needed archives are fetched from
    the canonical mirror with md5 checks. Returns x [N, 1, S, S] in [-1, 1] (S = 28 unless
    image_size), y [N] int64 in 0..9.
    """
    check_split(name, split)
    check_size(name, image_size)
    folder = Path(data_dir) if data_dir is not None else cache_dir(name)
    present = {s: _split_files(folder, s) for s in ("train", "test")}
    if not any(present.values()):
        need = ["train", "test"] if split == "all" else [split]
        if not download:
            files = ", ".join(
                f"{_PREFIX[s]}-{k}-ubyte.gz" for s in need for k in ("images-idx3", "labels-idx1")
            )
            raise DataError(
                f"{name}: no IDX files in {folder} (expected {files}); download them "
                f"from {MIRRORS[name]} or pass download=True"
            )
        _download(name, folder, need)
        present = {s: _split_files(folder, s) for s in ("train", "test")}
    if split == "all":
        used = [s for s in ("train", "test") if present[s]]
    elif present[split]:
        used = [split]
    else:
        other = "test" if split == "train" else "train"
        # one line whatever the folder is called: the CLI shows warnings as one line each
        warnings.warn(
            f"{name}: no {split} split in {_one_line(folder)}; using the {other} split instead "
            f"({present[other][0].name})",
            stacklevel=2,
        )
        used = [other]
    xs, ys, h = [], [], hashlib.sha256()
    for s in used:
        img_path, lab_path = present[s]
        images, labels = read_idx(img_path, name=name), read_idx(lab_path, name=name)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise DataError(
                f"{img_path}: expected uint8 images N x H x W, got {images.dtype} {images.shape}"
            )
        if labels.ndim != 1:
            raise DataError(f"{lab_path}: expected a 1-D label array, got shape {labels.shape}")
        if len(images) != len(labels):
            raise DataError(
                f"{lab_path}: {len(labels)} labels for {len(images)} images in {img_path.name}"
            )
        h.update(images.tobytes())
        h.update(labels.tobytes())
        xs.append(uint8_to_signed(images.copy()).unsqueeze(1))
        ys.append(torch.from_numpy(labels.astype(np.int64)))
    x = resize_images(torch.cat(xs), image_size)
    size = x.shape[-1]
    split_used = "+".join(used)
    spec = DataSpec(
        name=name,
        kind="image",
        shape=(1, size, size),
        num_classes=10,
        identity=f"{name}:{split_used}:n={len(x)}:size={size}:sha256={h.hexdigest()[:16]}",
    )
    return TensorDataset(x.contiguous(), torch.cat(ys), spec)
