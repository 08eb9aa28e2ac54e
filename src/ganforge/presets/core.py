"""The core presets: the default, the articles' recipe, DCGAN, the modern baseline (RpGAN + R1 + R2
on R3GAN-style nets, Huang et al. 2024) on MNIST and CIFAR-10, and the 2-D mixtures."""

from __future__ import annotations

from typing import Any

_ADAM_DCGAN = {"lr": 2e-4, "beta1": 0.5, "beta2": 0.999}


def _opt(prefix_lr: dict[str, Any]) -> dict[str, Any]:
    return {f"{p}.{k}": v for p in ("g_opt", "d_opt") for k, v in prefix_lr.items()}


# lr 4e-4 (twice the DCGAN paper's) and lazy R1 (Mescheder et al. 2018; gamma 0.1 every 16 steps,
# Karras et al. 2020): what trains the DCGAN presets better at the same nets and loss
_LR4_LAZY_R1 = {**_opt({"lr": 4e-4}), "loss.r1_gamma": 0.1, "loss.r1_every": 16}
_DCGAN_MNIST = {
    "data.dataset": "mnist", "model.arch": "dcgan", "model.z_dim": 100, "model.z_dist": "normal",
    "model.base_channels": 32, "model.init": "dcgan", "train.batch_size": 64, "train.steps": 5000,
    "train.sample_every": 500, "train.checkpoint_every": 1000, **_opt(_ADAM_DCGAN),
}

PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    # lr 4e-4 and lazy R1 (gamma 0.1 every 16 steps), as dcgan-mnist: 3,600 steps of it used
    # less CPU than the former 4,000 at lr 2e-4 without R1 (59-69 against 67-73 CPU-s) and scored
    # FD 9.3, 12.1, 10.2 against 10.8, 12.4, 14.1, class KL 0.029-0.040 against 0.030-0.067
    # (seeds 0-2, classifier features, 1,797 samples against the 1,797 digits; docs/mnist-best.md)
    "digits": (
        "DCGAN on scikit-learn's bundled 8x8 digits (real data, offline): digits in ~1 CPU minute",
        {
            "data.dataset": "digits", "model.arch": "dcgan", "model.z_dim": 32,
            "model.z_dist": "normal", "model.base_channels": 64, "model.init": "dcgan",
            "train.steps": 3600, "train.batch_size": 64, "train.ema": 0.99,
            "train.sample_every": 240, "train.checkpoint_every": 900,
            **_opt({"beta1": 0.5}), **_LR4_LAZY_R1,
        },
    ),
    "seed-mlp-mnist": (
        (
            "the classic articles' recipe: MLP h=128, sigmoid G on pixels in [0, 1], their "
            "xavier_init, z=100 uniform[-1,1], batch 128, Adam defaults, non-saturating G loss "
            "on a fresh z, on MNIST"
        ),
        {
            # as the articles' code (docs/articles-recipe.md: tanh on [-1, 1] with PyTorch's
            # default init and G's step reusing the D step's z collapsed where this does not)
            "data.dataset": "mnist", "model.arch": "mlp", "model.z_dim": 100,
            "model.pixels": "unit", "model.init": "xavier", "train.reuse": False,
            "model.z_dist": "uniform", "model.g_hidden": 128, "model.d_hidden": 128,
            "train.batch_size": 128, "train.steps": 30000, "train.sample_every": 1000,
            "train.checkpoint_every": 5000, **_opt({"lr": 1e-3, "beta1": 0.9, "beta2": 0.999}),
        },
    ),
    "dcgan-mnist-paper": (
        (
            "DCGAN (Radford et al. 2016) on 28x28 MNIST with the paper's Adam 2e-4/0.5: batch "
            "norm in G, LeakyReLU in D (the base of the benchmarks' DCGAN rows)"
        ),
        _DCGAN_MNIST,
    ),
    # The same nets and loss, trained better (_LR4_LAZY_R1). At the 300 CPU-s that bought the paper's settings
    # 4,860 steps, over seeds 0-2 (benchmarks/mnist_best.py, docs/mnist-best.md; 4,300 steps, R1
    # makes a step ~1.13x dearer): FD 80.6, 87.5, 92.3 -> 34.5, 35.4, 47.8, class KL 0.14-0.16 ->
    # 0.03-0.05. R1 alone (seed 0): FD 48.9.
    "dcgan-mnist": (
        (
            "DCGAN (Radford et al. 2016) nets and loss on 28x28 MNIST, trained better: Adam "
            "4e-4/0.5 and lazy R1 (gamma 0.1 every 16 steps)"
        ),
        {**_DCGAN_MNIST, **_LR4_LAZY_R1},
    ),
    "rpgan-mnist": (
        (
            "RpGAN + R1 + R2 (Huang et al. 2024, R3GAN) on 28x28 MNIST: R3GAN-style nets (no "
            "normalisation, grouped inverted bottlenecks, fix-up init), cosine ramps of lr, Adam "
            "beta2, gamma and EMA; CPU-sized (digits in ~2,000 steps, ~10 minutes on one thread), "
            "not tuned"
        ),
        {
            "data.dataset": "mnist", "model.arch": "r3gan", "model.z_dim": 64,
            "model.z_dist": "normal", "model.base_channels": 8, "model.g_depth": 1,
            "model.d_depth": 1, "loss.objective": "rpgan", "loss.r1_gamma": 1.0,
            "loss.gamma_final": 0.1, "train.batch_size": 32, "train.steps": 2000,
            "train.lr_schedule": "cosine", "train.lr_final": 0.25, "train.ema": 0.99,
            "train.ema_final": 0.999, "train.sample_every": 500, "train.checkpoint_every": 1000,
            **_opt({"lr": 5e-4, "beta1": 0.0, "beta2": 0.9, "beta2_final": 0.99}),
        },
    ),
    # R3GAN's CIFAR-10 settings (brownvc/R3GAN train.py, preset CIFAR10; README's command: 8 GPUs,
    # batch 512, --cond=1 --mirror=1 --aug=1), as far as ganforge's options reach; every
    # deviation is listed in docs/cifar10.md. Each schedule there is a cosine over 20 Mimg:
    # lr 2e-4 -> 5e-5, beta2 0.9 -> 0.99, gamma 0.05 -> 0.005, EMA half-life 0 -> 5 Mimg.
    "rpgan-cifar10": (
        (
            "R3GAN's class-conditional CIFAR-10 recipe (Huang et al. 2024; FID 1.96 published): "
            "RpGAN + R1 + R2, r3gan nets of 2 blocks a stage at R3GAN's parameter count, batch "
            "512, 20 Mimg with R3GAN's cosine ramps, DiffAugment p 0.55, bf16; a GPU job "
            "(deviations and cost: docs/cifar10.md)"
        ),
        {
            "data.dataset": "cifar10", "model.arch": "r3gan", "model.conditional": True,
            "model.z_dim": 64, "model.z_dist": "normal",
            # widths 1024/1024/512/256 at 4/8/16/32 px: 21.8M parameters per net (R3GAN: 768
            # at every stage, ~21M); ganforge's r3gan halves the width towards full resolution
            "model.base_channels": 256, "model.g_depth": 2, "model.d_depth": 2,
            # R3GAN ramps the probability of ADA's pipeline 0 -> 0.55; ganforge has no ramp of
            # augment_p, and ADA's sign(D(x)) signal means nothing for RpGAN's shift-free logits
            "model.augment": "color,translation,cutout", "model.augment_p": 0.55,
            "loss.objective": "rpgan", "loss.r1_gamma": 0.05, "loss.gamma_final": 0.005,
            # 39,063 steps x 512 = 20 Mimg, the length of R3GAN's ramps (ganforge's span the run)
            "train.batch_size": 512, "train.steps": 39063, "train.reuse": False,
            "train.lr_schedule": "cosine", "train.lr_final": 0.25,
            # EMA half-life 1 step -> 9,766 steps (5 Mimg at batch 512)
            "train.ema": 0.5, "train.ema_final": 0.99992902, "train.amp": "bf16",
            "train.sample_every": 2000, "train.checkpoint_every": 2000, "train.grid_size": 100,
            **_opt({"lr": 2e-4, "beta1": 0.0, "beta2": 0.9, "beta2_final": 0.99}),
        },
    ),
    "rpgan-cifar10-small": (
        (
            "rpgan-cifar10 shrunk for a CPU smoke test: widths 64/64/32/16, 1 block a stage, "
            "batch 64, 2,000 steps with the same ramps in the same proportions, float32; checks "
            "the pipeline, not a quality run"
        ),
        {
            "data.dataset": "cifar10", "model.arch": "r3gan", "model.conditional": True,
            "model.z_dim": 64, "model.z_dist": "normal", "model.base_channels": 16,
            "model.g_depth": 1, "model.d_depth": 1,
            "model.augment": "color,translation,cutout", "model.augment_p": 0.55,
            "loss.objective": "rpgan", "loss.r1_gamma": 0.05, "loss.gamma_final": 0.005,
            "train.batch_size": 64, "train.steps": 2000, "train.reuse": False,
            "train.lr_schedule": "cosine", "train.lr_final": 0.25,
            # EMA half-life 1 step -> 500 steps: a quarter of the run, as 5 of R3GAN's 20 Mimg
            "train.ema": 0.5, "train.ema_final": 0.99861467,
            "train.sample_every": 500, "train.checkpoint_every": 1000, "train.grid_size": 100,
            **_opt({"lr": 2e-4, "beta1": 0.0, "beta2": 0.9, "beta2_final": 0.99}),
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
