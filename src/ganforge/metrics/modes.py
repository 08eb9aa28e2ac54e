"""Mode counting: how many modes of a known mixture, or classes of a dataset, a generator covers.

Two protocols, both returning plain Python numbers (JSON-serialisable dicts):

- `mixture_mode_stats` for synthetic mixtures with known centres (ring8, grid25, ...), following
  VEEGAN (Srivastava et al. 2017, "VEEGAN: Reducing Mode Collapse in GANs using Implicit
  Variational Learning") and PacGAN (Lin et al. 2018, "PacGAN: The power of two samples in
  generative adversarial networks"): a sample is high-quality when it lies within
  `threshold` standard deviations of its nearest centre; a mode is covered when it has at least one
  high-quality sample; the reverse KL compares the histogram over modes to the uniform one.
- `class_histogram_stats` for labelled data (MNIST, ...), from a classifier's predicted labels of
  generated samples: classes covered and the KL of their histogram to the real (or uniform) one.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ganforge.errors import ConfigError, DataError

# Floor for the reference class share in `class_histogram_stats`; used only for classes that are
# absent from the real labels but present in the generated ones, where the KL would be infinite.
KL_EPS = 1e-6


def _to_tensor(x, name: str, ndim: int) -> torch.Tensor:
    t = x.detach().cpu() if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    if t.ndim != ndim:
        raise DataError(f"{name}: expected {ndim}-D array, got shape {tuple(t.shape)}")
    return t


def _kl_to(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) = sum_k p_k log(p_k / q_k), with 0 log 0 = 0; q_k > 0 wherever p_k > 0."""
    nz = p > 0
    return float(np.sum(p[nz] * np.log(p[nz] / q[nz])))


def mixture_mode_stats(
    samples, centres, std: float, *, threshold: float = 3.0, strict_min: int = 20, weights=None
) -> dict:
    """Mode coverage of samples from a Gaussian mixture with known centres (VEEGAN / PacGAN).

    samples: [N, D] generated points in data units; centres: [K, D] mixture means; std: the
    components' standard deviation (> 0). Each sample goes to its nearest centre (Euclidean) and is
    high-quality when that distance is <= threshold * std (3 std in the papers).

    Returns a dict of plain Python numbers:
        "modes":        modes with >= 1 high-quality sample (the papers' count), int in [0, K]
        "modes_strict": modes with >= strict_min high-quality samples, int in [0, K]
        "high_quality": share of high-quality samples, float in [0, 1]
        "reverse_kl":   KL(p_hat || w) = sum_k p_k log(p_k / w_k) (0 log 0 = 0), float >= 0
                        (<= log K for uniform w), with p_hat the histogram of high-quality samples
                        over modes and w the true mode weights (`weights`, uniform when None:
                        PacGAN's reverse KL). If no sample is high-quality, p_hat is instead the
                        nearest-mode histogram of all samples, so the value stays finite.
        "counts":       per-mode high-quality counts, list of K ints
        "n":            number of samples N
    """
    x = _to_tensor(samples, "samples", 2).to(torch.float64)
    c = _to_tensor(centres, "centres", 2).to(torch.float64)
    if x.shape[0] == 0 or c.shape[0] == 0:
        raise DataError(f"samples/centres: empty ({tuple(x.shape)}, {tuple(c.shape)})")
    if x.shape[1] != c.shape[1]:
        raise DataError(f"samples: dimension {x.shape[1]} differs from centres' {c.shape[1]}")
    if not bool(torch.isfinite(x).all()):
        raise DataError("samples: contains NaN or infinite values")
    if not (float(std) > 0 and math.isfinite(float(std))):
        raise ConfigError(f"std={std!r}: must be a positive finite number")
    if not float(threshold) > 0:
        raise ConfigError(f"threshold={threshold!r}: must be positive")
    num_modes = c.shape[0]

    dist, nearest = torch.cdist(x, c).min(dim=1)
    hq = dist <= float(threshold) * float(std)
    counts = torch.bincount(nearest[hq], minlength=num_modes).numpy()
    if counts.sum() > 0:
        hist = counts / counts.sum()
    else:  # nothing high-quality: fall back to where all samples land
        all_counts = torch.bincount(nearest, minlength=num_modes).numpy()
        hist = all_counts / all_counts.sum()
    if weights is None:
        ref = np.full(num_modes, 1.0 / num_modes)
    else:
        ref = np.asarray(weights, dtype=np.float64)
        if ref.shape != (num_modes,) or not (ref > 0).all():
            raise ConfigError(f"weights: {num_modes} positive mode weights needed, got {weights}")
        ref = ref / ref.sum()
    return {
        "modes": int((counts >= 1).sum()),
        "modes_strict": int((counts >= strict_min).sum()),
        "high_quality": float(hq.double().mean()),
        "reverse_kl": max(_kl_to(hist, ref), 0.0),  # clamp -1e-17 round-off
        "counts": [int(v) for v in counts],
        "n": int(x.shape[0]),
    }


def _labels(x, name: str, num_classes: int) -> np.ndarray:
    t = _to_tensor(x, name, 1)
    if t.is_floating_point() or t.dtype == torch.bool or t.is_complex():
        raise DataError(f"{name}: expected integer class labels, got dtype {t.dtype}")
    if t.numel() == 0:
        raise DataError(f"{name}: no labels")
    lo, hi = int(t.min()), int(t.max())
    if lo < 0 or hi >= num_classes:
        raise DataError(f"{name}: labels must lie in [0, {num_classes - 1}], found {lo}..{hi}")
    return np.bincount(t.numpy().astype(np.int64), minlength=num_classes)


def class_histogram_stats(pred_labels, num_classes: int, *, real_labels=None) -> dict:
    """Class coverage of generated samples, from a classifier's predicted labels.

    pred_labels: [N] int class ids in [0, num_classes) predicted for generated samples;
    real_labels: [M] int class ids of real data, or None to compare against the uniform histogram.

    Returns a dict of plain Python numbers:
        "classes_covered": classes predicted at least once, int in [0, num_classes]
        "kl":         KL(p_gen || p_ref) = sum_k p_k log(p_k / q_k), 0 log 0 = 0, float >= 0.
                      A class generated but absent from real_labels would make it infinite; only
                      there q_k is floored to KL_EPS (1e-6), so such a class costs about
                      p_k * 13.8 nats instead of inf.
        "histogram":  p_gen, the generated class shares, list of num_classes floats summing to 1
        "reference":  q, the real (or uniform) class shares, list of num_classes floats
        "counts":     generated per-class counts, list of ints
        "n":          number of generated labels N
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise ConfigError(f"num_classes={num_classes!r}: must be a positive integer")
    if num_classes < 1:
        raise ConfigError(f"num_classes={num_classes!r}: must be a positive integer")
    counts = _labels(pred_labels, "pred_labels", num_classes)
    p = counts / counts.sum()
    if real_labels is None:
        q = np.full(num_classes, 1.0 / num_classes)
    else:
        real_counts = _labels(real_labels, "real_labels", num_classes)
        q = real_counts / real_counts.sum()
    q_safe = np.where((q == 0) & (p > 0), KL_EPS, q)
    return {
        "classes_covered": int((counts > 0).sum()),
        "kl": max(_kl_to(p, q_safe), 0.0),
        "histogram": [float(v) for v in p],
        "reference": [float(v) for v in q],
        "counts": [int(v) for v in counts],
        "n": int(counts.sum()),
    }


def dominant_mode(counts) -> int:
    """Index of the most populated mode in a per-mode count list [K] (lowest index on ties)."""
    arr = np.asarray(counts)
    if arr.ndim != 1 or arr.size == 0:
        raise DataError(f"counts: expected a non-empty 1-D list, got shape {arr.shape}")
    return int(np.argmax(arr))


def code_class_match(codes, classes, num_classes: int) -> float:
    """Share of samples whose categorical code equals their class after the best one-to-one
    matching of codes to classes (Hungarian algorithm on the code x class count matrix), the
    InfoGAN disentanglement score of Chen et al. 2016, Sec. 7.1. A code that ignores the class
    scores about the largest class share."""
    from scipy.optimize import linear_sum_assignment

    _labels(codes, "codes", num_classes), _labels(classes, "classes", num_classes)  # validate
    c = _to_tensor(codes, "codes", 1).numpy().astype(np.int64)
    y = _to_tensor(classes, "classes", 1).numpy().astype(np.int64)
    counts = np.zeros((num_classes, num_classes))
    np.add.at(counts, (c, y), 1)
    rows, cols = linear_sum_assignment(-counts)
    return float(counts[rows, cols].sum() / len(c))


def stacked_mode_stats(pred_modes) -> dict:
    """Modes covered of 1,000 and KL(p_gen || uniform) from predicted modes [N] int in 0..999.

    Returns {"modes": int in [0, 1000], "kl": float >= 0, "n": N}.
    """
    s = class_histogram_stats(pred_modes, 1000)
    return {"modes": s["classes_covered"], "kl": s["kl"], "n": s["n"]}
