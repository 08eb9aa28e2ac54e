"""Pure metric math on feature arrays: FID, KID, IS, precision/recall, density/coverage.

Everything here takes already-extracted features (torch tensors or numpy arrays, [N, D]) or class
probabilities ([N, K]) and returns plain Python floats. Nothing is extracted, cached or downloaded
here; feature extractors and caching live elsewhere in `ganforge.metrics`.

All arithmetic is in float64. k-NN metrics work in row chunks with `torch.cdist`, so a 10k x 10k
comparison never materialises the full distance matrix; the chunk size never changes a result.

Papers:
    FID: Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
        Equilibrium".
    KID: Binkowski et al. 2018, "Demystifying MMD GANs".
    IS: Salimans et al. 2016, "Improved Techniques for Training GANs".
    Precision/recall: Kynkaanniemi et al. 2019, "Improved Precision and Recall Metric for Assessing
        Generative Models".
    Density/coverage: Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for Generative
        Models".
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ganforge.errors import ConfigError, DataError


def _as_features(x, name: str, *, min_rows: int = 1) -> torch.Tensor:
    """`x` as a finite float64 tensor [N, D] (device kept for tensors), or a one-line DataError."""
    t = x.detach() if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    if t.ndim != 2:
        raise DataError(f"{name}: expected a 2-D array [N, D], got shape {tuple(t.shape)}")
    if t.shape[0] < min_rows or t.shape[1] == 0:
        raise DataError(f"{name}: need at least {min_rows} rows and 1 column, got {tuple(t.shape)}")
    t = t.to(torch.float64)
    if not bool(torch.isfinite(t).all()):
        raise DataError(f"{name}: contains NaN or infinite values")
    return t


def _same_dim(a: torch.Tensor, b: torch.Tensor, names: str) -> None:
    if a.shape[1] != b.shape[1]:
        raise DataError(f"{names}: feature dimensions differ ({a.shape[1]} vs {b.shape[1]})")


def _positive_int(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name}={value!r}: must be a positive integer")
    return int(value)


# ----------------------------------------------------------------------------------------------
# Frechet distance (FID)


def feature_stats(feats) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of features, the Gaussian that FID compares.

    feats: [N, D] with N >= 2. Returns (mu [D], sigma [D, D]) as float64 numpy arrays; sigma is the
    unbiased sample covariance (divides by N - 1), as in the reference FID code.
    """
    x = _as_features(feats, "feats", min_rows=2).cpu().numpy()
    return x.mean(axis=0), np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def _sym_sqrt(s: np.ndarray) -> np.ndarray:
    """Square root of a symmetric PSD matrix via eigh; round-off negative eigenvalues become 0."""
    w, v = np.linalg.eigh(s)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2) (Heusel et al. 2017).

        d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2})

    mu*: [D]; sigma*: [D, D] symmetric PSD covariances. Returns a float >= 0 (up to round-off).

    Tr((S1 S2)^{1/2}) is computed as sum_i sqrt(lambda_i) with lambda_i the eigenvalues of the
    symmetric PSD matrix sqrt(S1) S2 sqrt(S1), which has the same spectrum as S1 S2. Unlike
    `scipy.linalg.sqrtm(S1 @ S2)`, this never yields complex parts and stays stable for singular
    covariances (fewer samples than dimensions); tiny negative eigenvalues from round-off are
    clipped to 0.
    """
    m1, m2 = (np.asarray(_to_numpy(m), dtype=np.float64).reshape(-1) for m in (mu1, mu2))
    s1, s2 = (np.asarray(_to_numpy(s), dtype=np.float64) for s in (sigma1, sigma2))
    d = m1.shape[0]
    if m2.shape[0] != d:
        raise DataError(f"mu2: length {m2.shape[0]} differs from mu1's {d}")
    for name, s in (("sigma1", s1), ("sigma2", s2)):
        if s.shape != (d, d):
            raise DataError(f"{name}: expected shape ({d}, {d}), got {s.shape}")
        if not np.isfinite(s).all():
            raise DataError(f"{name}: contains NaN or infinite values")
    # Symmetrise: covariances from float32 accumulation can be asymmetric in the last bits.
    s1, s2 = (s1 + s1.T) / 2, (s2 + s2.T) / 2
    root1 = _sym_sqrt(s1)
    lam = np.linalg.eigvalsh(root1 @ s2 @ root1)
    tr_covmean = np.sqrt(np.clip(lam, 0.0, None)).sum()
    diff = m1 - m2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean)


def frechet_distance_from_features(a, b) -> float:
    """FID-style Frechet distance between two feature sets a [N, D] and b [M, D] (N, M >= 2)."""
    mu1, s1 = feature_stats(a)
    mu2, s2 = feature_stats(b)
    if mu1.shape != mu2.shape:
        raise DataError(f"a, b: feature dimensions differ ({mu1.shape[0]} vs {mu2.shape[0]})")
    return frechet_distance(mu1, s1, mu2, s2)


def _to_numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


# ----------------------------------------------------------------------------------------------
# Kernel distance (KID)


def _mmd2_unbiased(x: torch.Tensor, y: torch.Tensor, degree: int, gamma: float, coef0: float):
    """Unbiased MMD^2 of two equal-size sets with k(x, y) = (gamma x.y + coef0)^degree."""
    m = x.shape[0]
    k_xx = (gamma * (x @ x.T) + coef0) ** degree
    k_yy = (gamma * (y @ y.T) + coef0) ** degree
    k_xy = (gamma * (x @ y.T) + coef0) ** degree
    # U-statistic: the within-set sums leave out the diagonal k(x_i, x_i).
    within = (k_xx.sum() - k_xx.diagonal().sum() + k_yy.sum() - k_yy.diagonal().sum()) / (
        m * (m - 1)
    )
    return float(within - 2.0 * k_xy.sum() / (m * m))


def kernel_inception_distance(
    a,
    b,
    *,
    subsets: int = 100,
    subset_size: int = 1000,
    degree: int = 3,
    gamma: float | None = None,
    coef0: float = 1.0,
    seed: int = 0,
) -> tuple[float, float]:
    """Kernel (Inception) distance: unbiased MMD^2 with a polynomial kernel (Binkowski et al. 2018).

        k(x, y) = (gamma x.y + coef0)^degree,   gamma = 1 / D by default
        MMD^2_u = sum_{i!=j} k(x_i,x_j)/(m(m-1)) + sum_{i!=j} k(y_i,y_j)/(m(m-1))
                  - 2 sum_{i,j} k(x_i,y_j)/m^2

    a: [N, D], b: [M, D] features. The estimate is averaged over `subsets` random subsets of
    m = min(subset_size, N, M) rows drawn without replacement from each set (numpy RNG seeded with
    `seed`, so the result is reproducible). Returns (mean, std) over subsets, std with ddof=0 as in
    the reference implementations; mean can be slightly negative for equal distributions.
    """
    x = _as_features(a, "a", min_rows=2)
    y = _as_features(b, "b", min_rows=2).to(x.device)
    _same_dim(x, y, "a, b")
    subsets = _positive_int(subsets, "subsets")
    m = min(_positive_int(subset_size, "subset_size"), x.shape[0], y.shape[0])
    if m < 2:
        raise ConfigError(f"subset_size={subset_size}: must be at least 2")
    degree = _positive_int(degree, "degree")
    gamma = 1.0 / x.shape[1] if gamma is None else float(gamma)
    rng = np.random.default_rng(seed)
    values = np.empty(subsets, dtype=np.float64)
    for i in range(subsets):
        ix = torch.as_tensor(rng.choice(x.shape[0], m, replace=False), device=x.device)
        iy = torch.as_tensor(rng.choice(y.shape[0], m, replace=False), device=x.device)
        values[i] = _mmd2_unbiased(x[ix], y[iy], degree, gamma, float(coef0))
    return float(values.mean()), float(values.std())


# ----------------------------------------------------------------------------------------------
# Inception score


def inception_score(probs, *, splits: int = 10) -> tuple[float, float]:
    """Inception score from class probabilities (Salimans et al. 2016).

        IS = exp( E_x KL( p(y|x) || p(y) ) ),   p(y) = E_x p(y|x)

    probs: [N, K] rows of class probabilities (non-negative, each summing to 1 within 1e-3; the
    classifier's softmax output, not logits). The N rows are cut into `splits` contiguous parts as
    in the reference code; IS is computed within each and (mean, std) over parts is returned (std
    with ddof=0). 0 log 0 = 0. Range: [1, K].
    """
    p = _as_features(probs, "probs")
    splits = _positive_int(splits, "splits")
    if splits > p.shape[0]:
        raise ConfigError(f"splits={splits}: more splits than the {p.shape[0]} samples")
    if bool((p < 0).any()) or bool(((p.sum(dim=1) - 1).abs() > 1e-3).any()):
        raise DataError("probs: rows must be non-negative and sum to 1 (pass softmax outputs)")
    scores = []
    for part in torch.tensor_split(p, splits, dim=0):
        py = part.mean(dim=0, keepdim=True)
        # xlogy gives 0 log 0 = 0; where p(y|x) > 0, p(y) > 0 too, so the ratio is finite.
        kl = torch.special.xlogy(part, part) - torch.special.xlogy(part, py.expand_as(part))
        scores.append(math.exp(float(kl.sum(dim=1).mean())))
    s = np.asarray(scores)
    return float(s.mean()), float(s.std())


# ----------------------------------------------------------------------------------------------
# k-NN manifold metrics: precision/recall, density/coverage


def _knn_radii(x: torch.Tensor, k: int, chunk_size: int) -> torch.Tensor:
    """Distance from each row of x [N, D] to its k-th nearest other row, [N]."""
    if k >= x.shape[0]:
        raise ConfigError(f"k={k}: must be smaller than the number of samples ({x.shape[0]})")
    out = torch.empty(x.shape[0], dtype=x.dtype, device=x.device)
    for start in range(0, x.shape[0], chunk_size):
        d = torch.cdist(x[start : start + chunk_size], x)
        # The k+1 smallest include the point itself (distance 0), hence index k.
        out[start : start + chunk_size] = d.topk(k + 1, dim=1, largest=False).values[:, k]
    return out


def _cross_balls(
    fake: torch.Tensor,
    real: torch.Tensor,
    real_radii: torch.Tensor,
    fake_radii: torch.Tensor | None,
    chunk_size: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """One chunked pass over the fake-real distances, for closed balls B(x, radius(x)).

    Returns: per fake, how many real balls hold it [M] int64; per real, whether its ball holds
    any fake [N] bool; per real, whether any fake ball holds it [N] bool (None without fake_radii).
    """
    fake_hits = torch.empty(fake.shape[0], dtype=torch.int64, device=fake.device)
    real_covered = torch.zeros(real.shape[0], dtype=torch.bool, device=fake.device)
    real_in_fake = None if fake_radii is None else torch.zeros_like(real_covered)
    for start in range(0, fake.shape[0], chunk_size):
        d = torch.cdist(fake[start : start + chunk_size], real)  # [c, N]
        inside_real = d <= real_radii[None, :]
        fake_hits[start : start + chunk_size] = inside_real.sum(dim=1)
        real_covered |= inside_real.any(dim=0)
        if real_in_fake is not None:
            real_in_fake |= (d <= fake_radii[start : start + chunk_size, None]).any(dim=0)
    return fake_hits, real_covered, real_in_fake


def _pair(real, fake, k: int, chunk_size: int) -> tuple[torch.Tensor, torch.Tensor, int, int]:
    r = _as_features(real, "real", min_rows=2)
    f = _as_features(fake, "fake", min_rows=2).to(r.device)
    _same_dim(r, f, "real, fake")
    return r, f, _positive_int(k, "k"), _positive_int(chunk_size, "chunk_size")


def precision_recall(real, fake, *, k: int = 3, chunk_size: int = 1000) -> tuple[float, float]:
    """Improved precision and recall via k-NN manifolds (Kynkaanniemi et al. 2019).

    Each set's manifold is the union of closed balls around its points with radius = distance to
    the point's k-th nearest neighbour in the same set (itself excluded).
        precision = share of fake points inside the real manifold
        recall    = share of real points inside the fake manifold

    real: [N, D], fake: [M, D] features, k < N and k < M. Distances are computed `chunk_size` rows
    at a time (memory ~ chunk_size x max(N, M) float64); the result does not depend on it. Returns
    (precision, recall), each in [0, 1].
    """
    r, f, k, chunk_size = _pair(real, fake, k, chunk_size)
    real_radii = _knn_radii(r, k, chunk_size)
    fake_radii = _knn_radii(f, k, chunk_size)
    fake_hits, _, real_in_fake = _cross_balls(f, r, real_radii, fake_radii, chunk_size)
    return float((fake_hits > 0).double().mean()), float(real_in_fake.double().mean())


def density_coverage(real, fake, *, k: int = 5, chunk_size: int = 1000) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020).

    With B_i the closed ball around real point X_i of radius NND_k(X_i) (distance to its k-th
    nearest real neighbour, itself excluded):
        density  = 1 / (k M) * sum_j sum_i 1[Y_j in B_i]       (fake Y_j, j = 1..M)
        coverage = 1 / N * sum_i 1[some Y_j in B_i]

    real: [N, D], fake: [M, D] features, k < N. Computed `chunk_size` rows at a time; the result
    does not depend on it. Returns (density, coverage): density >= 0 (about 1 when fake and real
    match, can exceed 1), coverage in [0, 1].
    """
    r, f, k, chunk_size = _pair(real, fake, k, chunk_size)
    real_radii = _knn_radii(r, k, chunk_size)
    fake_hits, real_covered, _ = _cross_balls(f, r, real_radii, None, chunk_size)
    density = float(fake_hits.sum()) / (k * f.shape[0])
    return density, float(real_covered.double().mean())
