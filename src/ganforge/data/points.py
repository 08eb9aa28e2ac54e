"""User point clouds: an N x D table of numbers from a `.npy` or `.csv` file, as a TensorDataset.

Values stay in data units (no normalisation), so plots and metrics speak the user's coordinates.
Every fault in the file is a one-line DataError naming it: missing, wrong extension, not a 2-D
table, non-numeric, NaN/inf or empty.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np
import torch

from ganforge.data.base import DataSpec, TensorDataset
from ganforge.errors import DataError

EXTENSIONS = (".npy", ".csv")


def _read_npy(path: Path) -> np.ndarray:
    try:
        arr = np.load(path, allow_pickle=False)
    except ValueError as e:  # object arrays need pickle; also a malformed header
        raise DataError(f"{path}: not a numeric .npy array ({e})") from e
    except (OSError, EOFError) as e:
        raise DataError(f"{path}: unreadable .npy file ({e})") from e
    if not isinstance(arr, np.ndarray):
        raise DataError(f"{path}: expected a single .npy array, got an archive of arrays")
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{path}: expected a numeric array, got dtype {arr.dtype}")
    return arr


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _read_csv(path: Path) -> np.ndarray:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = [
                (i, r) for i, r in enumerate(csv.reader(f), start=1) if any(c.strip() for c in r)
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"{path}: unreadable .csv file ({e})") from e
    # A first row with any non-numeric field is a header.
    if rows and not all(_is_number(c) for c in rows[0][1]):
        rows = rows[1:]
    if not rows:
        return np.zeros((0, 0))
    width = len(rows[0][1])
    values = []
    for line, row in rows:
        if len(row) != width:
            raise DataError(f"{path}: line {line} has {len(row)} columns, expected {width}")
        try:
            values.append([float(c) for c in row])
        except ValueError:
            bad = next(c for c in row if not _is_number(c))
            raise DataError(f"{path}: line {line} has non-numeric value {bad.strip()!r}") from None
    return np.asarray(values, dtype=np.float64)


def read_points(path: str | Path) -> np.ndarray:
    """Read and validate an N x D table from `.npy` or `.csv` (an optional header row).

    Returns a float32 array [N, D] with N >= 1, D >= 1, all finite.
    """
    path = Path(path)
    if path.suffix.lower() not in EXTENSIONS:
        raise DataError(f"{path}: unsupported extension {path.suffix!r}, expected .npy or .csv")
    if not path.is_file():
        raise DataError(f"{path}: points file not found")
    arr = _read_npy(path) if path.suffix.lower() == ".npy" else _read_csv(path)
    if arr.ndim != 2:
        raise DataError(f"{path}: expected a 2-D array N x D, got shape {tuple(arr.shape)}")
    if arr.size == 0:
        raise DataError(f"{path}: no data (shape {tuple(arr.shape)})")
    arr = arr.astype(np.float32)
    if not np.isfinite(arr).all():
        n_bad = int((~np.isfinite(arr)).any(axis=1).sum())
        raise DataError(f"{path}: {n_bad} rows contain NaN or inf (after float32 conversion)")
    return arr


def load_points(data_file: str | Path | None) -> TensorDataset:
    """A TensorDataset of the points in `data_file`: x [N, D] float32 in data units, y None.

    spec.identity holds the file name, the table shape and a sha256 prefix of the file bytes.
    """
    if data_file is None:
        raise DataError("points: no data_file given (a .npy or .csv file of N x D numbers)")
    path = Path(data_file)
    arr = read_points(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    n, d = arr.shape
    spec = DataSpec(
        name="points",
        kind="points",
        shape=(d,),
        identity=f"points:{path.name}:{n}x{d}:sha256={digest}",
    )
    return TensorDataset(torch.from_numpy(arr), None, spec)
