"""Tests for ganforge.metrics.scores and ganforge.metrics.modes: closed forms, invariances, limits."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.linalg
import torch

from ganforge.errors import ConfigError, DataError
from ganforge.metrics import (
    class_histogram_stats,
    density_coverage,
    dominant_mode,
    feature_stats,
    frechet_distance,
    frechet_distance_from_features,
    inception_score,
    kernel_inception_distance,
    mixture_mode_stats,
    precision_recall,
)


def _correlated(n: int, d: int, seed: int, shift: float = 0.0) -> np.ndarray:
    """n samples of one fixed correlated Gaussian in d dims (the seed picks the samples only)."""
    mix = np.random.default_rng(1234).normal(size=(d, d)) / math.sqrt(d)
    return np.random.default_rng(seed).normal(size=(n, d)) @ mix + shift


def _random_cov(d: int, rng: np.random.Generator) -> np.ndarray:
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def _ring8(radius: float = 2.0) -> np.ndarray:
    ang = 2 * np.pi * np.arange(8) / 8
    return radius * np.stack([np.cos(ang), np.sin(ang)], axis=1)


# ---------------------------------------------------------------------------------------------
# Frechet distance


def test_fd_of_a_set_with_itself_is_zero():
    x = _correlated(400, 16, seed=0)
    _, sigma = feature_stats(x)
    assert abs(frechet_distance_from_features(x, x)) <= 1e-6 * np.trace(sigma)


def test_fd_self_is_zero_for_singular_covariance():
    # Fewer samples than dimensions: rank-deficient covariances, where sqrtm(S1 S2) is fragile.
    x = torch.randn(20, 64, generator=torch.Generator().manual_seed(1))
    _, sigma = feature_stats(x)
    fd = frechet_distance_from_features(x, x)
    assert abs(fd) <= 1e-6 * np.trace(sigma)


def test_fd_matches_closed_form_for_diagonal_gaussians():
    rng = np.random.default_rng(2)
    d = 12
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = rng.uniform(0.1, 3.0, size=d), rng.uniform(0.1, 3.0, size=d)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2))
    got = frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2))
    assert got == pytest.approx(expected, rel=1e-10)


def test_fd_matches_sqrtm_and_torchmetrics_on_full_covariances():
    from torchmetrics.image.fid import _compute_fid

    rng = np.random.default_rng(3)
    d = 10
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = _random_cov(d, rng), _random_cov(d, rng)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    ref = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * covmean)
    tm = _compute_fid(*(torch.from_numpy(v) for v in (mu1, s1, mu2, s2))).item()
    got = frechet_distance(mu1, s1, mu2, s2)
    assert got == pytest.approx(ref, rel=1e-8)
    assert got == pytest.approx(tm, rel=1e-8)
    assert frechet_distance(mu2, s2, mu1, s1) == pytest.approx(got, rel=1e-10)  # symmetric


def test_fd_from_features_accepts_torch_and_numpy_alike():
    a, b = _correlated(300, 8, seed=4), _correlated(300, 8, seed=5, shift=0.5)
    fd_np = frechet_distance_from_features(a, b)
    fd_t = frechet_distance_from_features(torch.from_numpy(a).float(), torch.from_numpy(b))
    assert fd_np > 1.0  # shift of 0.5 in 8 dims alone gives ||dmu||^2 ~ 2
    assert fd_t == pytest.approx(fd_np, rel=1e-5)


def test_fd_rejects_mismatched_shapes():
    with pytest.raises(DataError, match="sigma2"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), np.eye(4))
    with pytest.raises(DataError, match="feats"):
        feature_stats(np.zeros(5))


# ---------------------------------------------------------------------------------------------
# KID


def test_kid_near_zero_for_same_distribution_and_positive_for_shifted():
    a, b = _correlated(800, 32, seed=6), _correlated(800, 32, seed=7)
    shifted = _correlated(800, 32, seed=8, shift=0.3)
    same_mean, same_std = kernel_inception_distance(a, b, subsets=20, subset_size=400)
    diff_mean, diff_std = kernel_inception_distance(a, shifted, subsets=20, subset_size=400)
    assert diff_mean > 0
    assert diff_mean > 10 * abs(same_mean)
    assert diff_mean > 5 * diff_std
    assert abs(same_mean) < 3 * same_std + 1e-3


def test_kid_full_subset_matches_torchmetrics_mmd():
    from torchmetrics.image.kid import poly_mmd

    a, b = _correlated(150, 6, seed=9), _correlated(150, 6, seed=10, shift=0.2)
    # One subset of every row is a permutation of the sets; MMD^2_u does not depend on order.
    mean, std = kernel_inception_distance(a, b, subsets=1, subset_size=10_000)
    ref = poly_mmd(torch.from_numpy(a), torch.from_numpy(b)).item()
    assert mean == pytest.approx(ref, rel=1e-9)
    assert std == 0.0


def test_kid_is_reproducible_under_seed():
    a, b = _correlated(200, 5, seed=11), _correlated(200, 5, seed=12)
    first = kernel_inception_distance(a, b, subsets=5, subset_size=50, seed=3)
    assert kernel_inception_distance(a, b, subsets=5, subset_size=50, seed=3) == first
    assert kernel_inception_distance(a, b, subsets=5, subset_size=50, seed=4) != first


# ---------------------------------------------------------------------------------------------
# Inception score


def test_is_is_one_for_uniform_predictions():
    mean, std = inception_score(np.full((200, 10), 0.1))
    assert mean == pytest.approx(1.0, abs=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("k", [2, 7, 10])
def test_is_is_k_for_confident_evenly_spread_predictions(k):
    probs = torch.nn.functional.one_hot(torch.arange(10 * k * 3) % k, k).float()
    mean, std = inception_score(probs, splits=10)
    assert mean == pytest.approx(k, rel=1e-9)
    assert std == pytest.approx(0.0, abs=1e-9)


def test_is_lies_between_one_and_k_for_random_probs():
    probs = np.random.default_rng(13).dirichlet(np.full(5, 0.5), size=300)
    mean, _ = inception_score(probs, splits=3)
    assert 1.0 < mean < 5.0


def test_is_rejects_logits_and_too_many_splits():
    with pytest.raises(DataError, match="probs"):
        inception_score(np.random.default_rng(0).normal(size=(20, 4)))
    with pytest.raises(ConfigError, match="splits"):
        inception_score(np.full((5, 2), 0.5), splits=10)


# ---------------------------------------------------------------------------------------------
# Precision / recall, density / coverage


def test_precision_recall_identical_sets_are_one():
    x = _correlated(300, 16, seed=14)
    assert precision_recall(x, x.copy()) == (1.0, 1.0)


def test_precision_high_recall_low_when_fakes_cover_part_of_reals():
    rng = np.random.default_rng(15)
    real = np.concatenate([rng.normal(size=(400, 4)), rng.normal(size=(400, 4)) + 12.0])
    fake = rng.normal(size=(400, 4))  # only the first cluster
    precision, recall = precision_recall(real, fake)
    # Matched halves give precision ~0.93 at k=3; recall is capped near the covered share, 0.5.
    assert precision > 0.9
    assert recall < 0.55


def test_density_coverage_about_one_for_same_distribution():
    real, fake = _correlated(1000, 8, seed=16), _correlated(1000, 8, seed=17)
    density, coverage = density_coverage(real, fake)
    assert 0.85 < density < 1.15
    assert coverage > 0.9


def test_density_coverage_drop_for_shifted_fakes():
    real, fake = _correlated(500, 8, seed=18), _correlated(500, 8, seed=19, shift=3.0)
    density, coverage = density_coverage(real, fake)
    assert density < 0.2
    assert coverage < 0.2


def test_knn_metrics_do_not_depend_on_chunk_size():
    real = torch.from_numpy(_correlated(257, 12, seed=20))
    fake = torch.from_numpy(_correlated(231, 12, seed=21, shift=0.4))
    pr = [precision_recall(real, fake, k=3, chunk_size=c) for c in (1, 7, 64, 10_000)]
    dc = [density_coverage(real, fake, k=5, chunk_size=c) for c in (1, 7, 64, 10_000)]
    assert all(r == pr[0] for r in pr)
    assert all(r == dc[0] for r in dc)
    assert 0 < pr[0][0] < 1 and 0 < dc[0][1] < 1  # not a degenerate case


def test_knn_metrics_reject_bad_k_and_dims():
    x = np.zeros((4, 3))
    with pytest.raises(ConfigError, match="k=4"):
        precision_recall(x, x, k=4)
    with pytest.raises(DataError, match="dimensions differ"):
        density_coverage(x, np.zeros((4, 2)))


# ---------------------------------------------------------------------------------------------
# Mode counting


def _ring_samples(modes: list[int], per_mode: int, std: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = _ring8()
    return np.concatenate([centres[m] + std * rng.normal(size=(per_mode, 2)) for m in modes])


def test_mode_stats_perfect_ring8():
    std = 0.02
    stats = mixture_mode_stats(_ring_samples(list(range(8)), 500, std, seed=22), _ring8(), std)
    assert stats["modes"] == 8 and stats["modes_strict"] == 8
    assert stats["high_quality"] > 0.97  # P(chi2_2 <= 9) = 0.989
    assert 0.0 <= stats["reverse_kl"] < 0.01
    assert stats["n"] == 4000 and sum(stats["counts"]) <= 4000
    json.dumps(stats)  # plain Python types only


def test_mode_stats_collapse_onto_three_modes():
    std = 0.02
    samples = _ring_samples([1, 4, 6], 300, 0.3 * std, seed=23)  # tight: all high-quality
    stats = mixture_mode_stats(samples, _ring8(), std)
    assert stats["modes"] == 3
    assert stats["high_quality"] == 1.0
    assert stats["reverse_kl"] == pytest.approx(math.log(8 / 3), rel=1e-12)
    assert [i for i, c in enumerate(stats["counts"]) if c] == [1, 4, 6]


def test_mode_stats_blurred_samples_are_low_quality():
    std = 0.02
    stats = mixture_mode_stats(_ring_samples(list(range(8)), 300, 10 * std, seed=24), _ring8(), std)
    assert stats["high_quality"] < 0.15


def test_mode_stats_strict_count_and_fallback_histogram():
    std = 0.02
    samples = _ring_samples([0] * 25 + [3] * 5, 1, 0.1 * std, seed=25)
    stats = mixture_mode_stats(samples, _ring8(), std, strict_min=20)
    assert stats["modes"] == 2 and stats["modes_strict"] == 1
    # No high-quality sample at all: reverse KL uses the nearest-mode histogram (modes 0 and 2).
    far = 0.5 * _ring8()[[0, 0, 2, 2]]
    fallback = mixture_mode_stats(far, _ring8(), std)
    assert fallback["modes"] == 0 and fallback["high_quality"] == 0.0
    assert fallback["reverse_kl"] == pytest.approx(math.log(4), rel=1e-12)


def test_mode_stats_rejects_bad_inputs():
    with pytest.raises(ConfigError, match="std"):
        mixture_mode_stats(np.zeros((3, 2)), _ring8(), 0.0)
    with pytest.raises(DataError, match="samples"):
        mixture_mode_stats(np.zeros((3, 3)), _ring8(), 0.1)


def test_class_histogram_stats_against_uniform_and_real():
    even = np.arange(100) % 10
    s = class_histogram_stats(torch.from_numpy(even), 10)
    assert s["classes_covered"] == 10 and s["kl"] == pytest.approx(0.0, abs=1e-12)
    three = np.arange(99) % 3
    s = class_histogram_stats(three, 10)
    assert s["classes_covered"] == 3
    assert s["kl"] == pytest.approx(math.log(10 / 3), rel=1e-12)
    assert sum(s["histogram"]) == pytest.approx(1.0)
    s = class_histogram_stats(three, 10, real_labels=np.arange(30) % 3)
    assert s["kl"] == pytest.approx(0.0, abs=1e-12)
    json.dumps(s)


def test_class_histogram_stats_class_missing_from_real_is_finite_and_large():
    s = class_histogram_stats(np.array([0, 1, 2, 3]), 4, real_labels=np.array([0, 1, 2]))
    assert math.isfinite(s["kl"]) and s["kl"] > 1.0
    with pytest.raises(DataError, match="pred_labels"):
        class_histogram_stats(np.array([0, 5]), 4)
    with pytest.raises(DataError, match="integer"):
        class_histogram_stats(np.array([0.0, 1.0]), 4)


def test_dominant_mode():
    assert dominant_mode([3, 9, 1, 9]) == 1
    assert dominant_mode(np.array([0, 0, 7])) == 2
    with pytest.raises(DataError):
        dominant_mode([])
