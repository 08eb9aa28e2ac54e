"""The core presets: the default, the articles' recipe, DCGAN, and the 2-D mixtures."""

from __future__ import annotations

from typing import Any

_ADAM_DCGAN = {"lr": 2e-4, "beta1": 0.5, "beta2": 0.999}


def _opt(prefix_lr: dict[str, Any]) -> dict[str, Any]:
    return {f"{p}.{k}": v for p in ("g_opt", "d_opt") for k, v in prefix_lr.items()}


PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "digits": (
        "DCGAN on scikit-learn's bundled 8x8 digits (real data, offline): digits in ~1 CPU minute",
        {
            "data.dataset": "digits", "model.arch": "dcgan", "model.z_dim": 32,
            "model.z_dist": "normal", "model.base_channels": 64, "model.init": "dcgan",
            "train.steps": 4000, "train.batch_size": 64, "train.ema": 0.99,
            "train.sample_every": 250, "train.checkpoint_every": 1000,
            **_opt({"lr": 2e-4, "beta1": 0.5}),
        },
    ),
    "seed-mlp-mnist": (
        (
            "the classic articles' recipe: MLP h=128, z=100 uniform[-1,1], batch 128, "
            "Adam defaults, non-saturating G loss, on MNIST"
        ),
        {
            "data.dataset": "mnist", "model.arch": "mlp", "model.z_dim": 100,
            "model.z_dist": "uniform", "model.g_hidden": 128, "model.d_hidden": 128,
            "train.batch_size": 128, "train.steps": 30000, "train.sample_every": 1000,
            "train.checkpoint_every": 5000, **_opt({"lr": 1e-3, "beta1": 0.9, "beta2": 0.999}),
        },
    ),
    "dcgan-mnist": (
        "DCGAN (Radford et al. 2016) on 28x28 MNIST: batch norm in G, LeakyReLU in D, Adam 2e-4/0.5",
        {
            "data.dataset": "mnist", "model.arch": "dcgan", "model.z_dim": 100,
            "model.z_dist": "normal", "model.base_channels": 32, "model.init": "dcgan",
            "train.batch_size": 64, "train.steps": 5000, "train.sample_every": 500,
            "train.checkpoint_every": 1000, **_opt(_ADAM_DCGAN),
        },
    ),
    "ring8": (
        "8 Gaussians on a circle (PacGAN protocol); non-saturating GAN with R1 (gamma 0.1), EMA",
        {
            "data.dataset": "ring8", "model.arch": "mlp", "model.z_dim": 16,
            "model.z_dist": "normal", "model.g_hidden": 128, "model.d_hidden": 128,
            "model.g_depth": 2, "model.d_depth": 2, "loss.r1_gamma": 0.1,
            "train.batch_size": 256, "train.steps": 3000, "train.ema": 0.99,
            "train.sample_every": 250, "train.checkpoint_every": 1000,
            **_opt({"lr": 1e-3, "beta1": 0.5, "beta2": 0.999}),
        },
    ),
    "grid25": (
        "25 Gaussians on a 5x5 grid (PacGAN protocol); non-saturating GAN with R1 (gamma 0.1), EMA",
        {
            "data.dataset": "grid25", "model.arch": "mlp", "model.z_dim": 16,
            "model.z_dist": "normal", "model.g_hidden": 256, "model.d_hidden": 256,
            "model.g_depth": 2, "model.d_depth": 2, "loss.r1_gamma": 0.1,
            "train.batch_size": 256, "train.steps": 5000, "train.ema": 0.99,
            "train.sample_every": 250, "train.checkpoint_every": 1000,
            **_opt({"lr": 1e-3, "beta1": 0.5, "beta2": 0.999}),
        },
    ),
}
