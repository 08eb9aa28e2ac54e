"""Sequence datasets for time-series GANs: synthetic sines and AR(1) processes, and user files.

Every dataset is a TensorDataset with spec.kind "sequence", spec.shape (T, F) and x [N, T, F]
float32 in data units (no normalisation), y None.
- sines: x_t^f = sin(2 pi nu_f t + phi_f), nu_f ~ U[nu_lo, nu_hi] cycles per step and
  phi_f ~ U[0, 2 pi), independently per sequence and feature (the sines benchmark of
  Yoon et al. 2019, TimeGAN, with frequencies in cycles per step); values in [-1, 1].
- ar1: x_t = phi x_{t-1} + sigma e_t, e_t ~ N(0, 1), x_0 from the stationary law
  N(0, sigma^2 / (1 - phi^2)) (Box & Jenkins); each feature an independent process.
- sequences: a `.npy` array N x T x F (or N x T, read as F = 1), or a `.csv` in long format: one
  row per time step, first column the sequence id, then F feature columns (an optional header);
  rows of a sequence in time order, every sequence of the same length.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import torch

from ganforge.data.base import DataSpec, TensorDataset
from ganforge.errors import ConfigError, DataError

SEQ_LEN, N_SAMPLES, FEATURES = 32, 4096, 1
SINES_FREQ = (0.05, 0.15)  # cycles per step: 1.6 to 4.8 periods in 32 steps


def _count(name: str, key: str, value, default: int, *, least: int = 1) -> int:
    v = default if value is None else value
    if isinstance(v, bool) or not isinstance(v, int) or v < least:
        raise ConfigError(f"{name}: {key}={v!r} must be an integer >= {least}")
    return v


def _dataset(x: torch.Tensor, name: str, identity: str) -> TensorDataset:
    spec = DataSpec(name=name, kind="sequence", shape=tuple(x.shape[1:]), identity=identity)
    return TensorDataset(x.float().contiguous(), None, spec)


def sines(
    *,
    seq_len: int | None = None,
    n_samples: int | None = None,
    features: int = FEATURES,
    freq: tuple[float, float] = SINES_FREQ,
    seed: int = 0,
) -> TensorDataset:
    """N sines of random frequency and phase: x [N, T, F] in [-1, 1]; fixed by `seed`."""
    t_len = _count("sines", "seq_len", seq_len, SEQ_LEN, least=4)
    n = _count("sines", "n_samples", n_samples, N_SAMPLES)
    lo, hi = freq
    if not 0 < lo <= hi <= 0.5:
        raise ConfigError(f"sines: freq=({lo}, {hi}) must satisfy 0 < lo <= hi <= 0.5 (Nyquist)")
    g = torch.Generator().manual_seed(seed)
    nu = lo + (hi - lo) * torch.rand(n, 1, features, generator=g, dtype=torch.float64)
    phi = 2 * math.pi * torch.rand(n, 1, features, generator=g, dtype=torch.float64)
    t = torch.arange(t_len, dtype=torch.float64)[None, :, None]
    x = torch.sin(2 * math.pi * nu * t + phi)
    return _dataset(x, "sines", f"sines:T={t_len}:N={n}:F={features}:nu={lo:g}-{hi:g}:seed={seed}")


def ar1(
    *,
    seq_len: int | None = None,
    n_samples: int | None = None,
    features: int = FEATURES,
    phi: float = 0.8,
    sigma: float = 0.5,
    seed: int = 0,
) -> TensorDataset:
    """N stationary AR(1) series: x [N, T, F] in data units (std sigma / sqrt(1 - phi^2))."""
    t_len = _count("ar1", "seq_len", seq_len, SEQ_LEN, least=2)
    n = _count("ar1", "n_samples", n_samples, N_SAMPLES)
    if not -1 < phi < 1 or not sigma > 0:
        raise ConfigError(f"ar1: phi={phi} must be in (-1, 1) and sigma={sigma} positive")
    g = torch.Generator().manual_seed(seed)
    e = torch.randn(n, t_len, features, generator=g, dtype=torch.float64) * sigma
    x = torch.empty_like(e)
    x[:, 0] = e[:, 0] / math.sqrt(1 - phi**2)
    for t in range(1, t_len):
        x[:, t] = phi * x[:, t - 1] + e[:, t]
    return _dataset(
        x, "ar1", f"ar1:T={t_len}:N={n}:F={features}:phi={phi:g}:sigma={sigma:g}:seed={seed}"
    )


def _csv_sequences(path: Path) -> np.ndarray:
    from ganforge.data.points import read_points

    table = read_points(path)  # validated N_rows x (1 + F), finite
    if table.shape[1] < 2:
        raise DataError(f"{path}: expected columns 'sequence id, feature...', got {table.shape[1]}")
    ids = table[:, 0]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    lengths = np.diff(np.r_[starts, len(ids)])
    if len(np.unique(ids)) != len(starts):
        raise DataError(f"{path}: rows of a sequence must be consecutive (an id reappears)")
    if (lengths != lengths[0]).any():
        bad = ids[starts[np.argmax(lengths != lengths[0])]]
        raise DataError(
            f"{path}: sequence {bad:g} has a different length than the first "
            f"({lengths[0]} steps); all sequences must be equally long"
        )
    return table[:, 1:].reshape(len(starts), int(lengths[0]), -1)


def load_sequences(data_file: str | Path | None) -> TensorDataset:
    """Sequences from a `.npy` (N x T x F or N x T) or long-format `.csv` file (see module doc)."""
    if data_file is None:
        raise DataError("sequences: no data_file given (a .npy N x T x F or a long-format .csv)")
    path = Path(data_file)
    if path.suffix.lower() not in (".npy", ".csv"):
        raise DataError(f"{path}: unsupported extension {path.suffix!r}, expected .npy or .csv")
    if not path.is_file():
        raise DataError(f"{path}: sequence file not found")
    if path.suffix.lower() == ".csv":
        arr = _csv_sequences(path)
    else:
        from ganforge.data.points import _read_npy

        arr = _read_npy(path)
        if arr.ndim == 2:
            arr = arr[:, :, None]
        if arr.ndim != 3:
            raise DataError(f"{path}: expected N x T x F (or N x T), got shape {tuple(arr.shape)}")
    if arr.size == 0 or arr.shape[1] < 2:
        raise DataError(f"{path}: no sequences of at least 2 steps (shape {tuple(arr.shape)})")
    arr = arr.astype(np.float32)
    if not np.isfinite(arr).all():
        raise DataError(f"{path}: contains NaN or inf")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    n, t, f = arr.shape
    return _dataset(
        torch.from_numpy(arr), "sequences", f"sequences:{path.name}:{n}x{t}x{f}:sha256={digest}"
    )
