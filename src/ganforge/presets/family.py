"""Presets of the GAN family: each variant on `digits` (MLP, CPU minutes) and `mnist` (DCGAN),
and the time-series GAN on synthetic sines and AR(1) series. Merged into `presets.PRESETS`.

Hyper-parameters follow each paper where it gives them: WGAN RMSprop 5e-5, n_critic 5, clip 0.01
(Arjovsky et al. 2017, Alg. 1); WGAN-GP Adam 1e-4, betas (0, 0.9), n_critic 5, lambda 10, no
batch norm in the critic (Gulrajani et al. 2017, Alg. 1); InfoGAN 10-way categorical + 2
continuous codes, 62 noise dims on MNIST, lr 2e-4 (D) / 1e-3 (G) (Chen et al. 2016, App. C).
"""

from __future__ import annotations

from typing import Any


def _opt(**kw) -> dict[str, Any]:
    return {f"{p}.{k}": v for p in ("g_opt", "d_opt") for k, v in kw.items()}


_DIGITS = {
    "data.dataset": "digits",
    "model.arch": "mlp",
    "model.z_dim": 32,
    "model.z_dist": "normal",
    "model.g_hidden": 256,
    "model.d_hidden": 256,
    "model.g_depth": 2,
    "model.d_depth": 2,
    "model.d_leaky": 0.2,
    "train.steps": 6000,
    "train.batch_size": 64,
    "train.sample_every": 500,
    "train.checkpoint_every": 2000,
    **_opt(lr=2e-4, beta1=0.5),
}
# The conditional variants on the digits use the `digits` preset's DCGAN nets: the MLP pair
# learns one image per class on this small set (within-class pixel std 0.01-0.05 against 0.33
# real), the DCGAN pair keeps 0.2-0.28 after 2,000 steps at lr 5e-4 (docs/family.md).
_DIGITS_CONV = {
    "model.arch": "dcgan",
    "model.base_channels": 64,
    "model.init": "dcgan",
    "train.ema": 0.99,
    **_opt(lr=5e-4, beta1=0.5),
}
_MNIST = {
    "data.dataset": "mnist",
    "model.arch": "dcgan",
    "model.z_dim": 100,
    "model.z_dist": "normal",
    "model.base_channels": 32,
    "model.init": "dcgan",
    "train.steps": 5000,
    "train.batch_size": 64,
    "train.sample_every": 500,
    "train.checkpoint_every": 1000,
    **_opt(lr=2e-4, beta1=0.5),
}

# InfoGAN on the digits (`infogan-digits`, measured by tests/test_family.py and
# benchmarks/infogan.py): the DCGAN nets and what lifted the code-class match.
_INFOGAN_DIGITS = {
    **_DIGITS_CONV,
    "model.base_channels": 16,
    "train.steps": 2000,
    # two D (and Q) steps per G step: code-class match 0.677 against 0.641 over 8 seeds
    "train.d_steps": 2,
    # Q's hidden layer 512 wide, not the digits' 256 (the paper's is 128): code-class match
    # 0.695 against 0.666 over 16 seeds, about 0.03 higher in each half of them (docs/family.md)
    "model.d_hidden": 512,
    # minibatch discrimination in D (Salimans et al. 2016): without it G drew some digits 8-10
    # times as often as others (classes 3 and 6 against 0 and 7 in seed 4) and codes shared
    # classes; with it the match is 0.833 over 16 seeds (0.764-0.874) against 0.695 (0.535-0.877)
    "model.minibatch_disc": True,
    "train.tick": 500,
}

# variant -> (description, overrides shared by both datasets, extra for mnist only[, extra for
# digits only])
_VARIANTS: dict[str, tuple] = {
    "cgan": (
        (
            "conditional GAN, projection discriminator (Miyato & Koyama 2018); --set "
            "model.d_cond=concat for label concatenation; sample with --class"
        ),
        {"model.conditional": True},
        {},
        _DIGITS_CONV,
    ),
    "acgan": (
        "AC-GAN (Odena et al. 2017): conditional G, D with an auxiliary class head",
        {"model.conditional": True, "loss.objective": "acgan", "loss.aux_weight": 1.0},
        {},
        _DIGITS_CONV,
    ),
    "infogan": (
        (
            "InfoGAN (Chen et al. 2016): 10-way categorical + 2 continuous codes, Q head on D; "
            "`ganforge traverse RUN` draws the codes"
        ),
        {
            "loss.objective": "infogan",
            "loss.info_categorical": 10,
            "loss.info_continuous": 2,
            "loss.info_weight": 1.0,
            # digits: the one-hot code x6 next to the noise carries the digit class (code-class
            # match 0.72 against 0.57 at x1, seeds 0-3) at half the within-code pixel std
            # (0.09 against 0.18); docs/family.md
            "loss.info_code_scale": 6.0,
            "model.z_dim": 44,
            "model.z_dist": "uniform",
            "g_opt.lr": 1e-3,
            "d_opt.lr": 2e-4,
        },
        # MNIST keeps x1: at x6 the 200-s run of docs/family.md lost all recall (FD 363 vs 96);
        # minibatch discrimination: code accuracy 0.69 against 0.43, FD 12 against 43 (200 s)
        {"model.z_dim": 74, "loss.info_code_scale": 1.0, "model.minibatch_disc": True},
        _INFOGAN_DIGITS,
    ),
    "ebgan": (
        (
            "EBGAN (Zhao et al. 2017): autoencoder D, energy = reconstruction MSE, margin 0.5, "
            "pulling-away term 0.1"
        ),
        {
            "loss.objective": "ebgan",
            "loss.margin": 0.5,
            "loss.pt_weight": 0.1,
            "model.d_hidden": 128,
            **_opt(lr=5e-4, beta1=0.5),
        },
        {},
    ),
    "wgan": (
        "WGAN (Arjovsky et al. 2017): weight clipping 0.01, RMSprop 5e-5, n_critic 5",
        {
            "loss.objective": "wgan",
            "loss.clip": 0.01,
            "train.d_steps": 5,
            **_opt(name="rmsprop", lr=5e-5),
        },
        {"model.d_norm": "none"},
    ),
    "wgan-gp": (
        (
            "WGAN-GP (Gulrajani et al. 2017): gradient penalty 10 on interpolates, Adam 1e-4 "
            "(0, 0.9), n_critic 5"
        ),
        {
            "loss.objective": "wgan-gp",
            "loss.gp_lambda": 10.0,
            "train.d_steps": 5,
            **_opt(lr=1e-4, beta1=0.0, beta2=0.9),
        },
        {"model.d_norm": "none"},
    ),
    "lsgan": (
        "LSGAN (Mao et al. 2017): least-squares losses, a=0, b=c=1",
        {"loss.objective": "lsgan"},
        {},
    ),
    "hinge": (
        "hinge-loss GAN (Lim & Ye 2017; Miyato et al. 2018)",
        {"loss.objective": "hinge"},
        {},
    ),
}

PRESETS: dict[str, tuple[str, dict[str, Any]]] = {}
for _name, (_desc, _common, _mnist, *_digits) in _VARIANTS.items():
    _d = _digits[0] if _digits else {}
    _net = "DCGAN" if _d.get("model.arch") == "dcgan" else "MLP"
    PRESETS[f"{_name}-digits"] = (
        f"{_desc}; {_net} on 8x8 digits", {**_DIGITS, **_common, **_d}
    )
    PRESETS[f"{_name}-mnist"] = (f"{_desc}; DCGAN on MNIST", {**_MNIST, **_common, **_mnist})

# The best unconditional MNIST preset at 300 CPU-s (benchmarks/mnist_best.py, docs/mnist-best.md):
# dcgan-mnist's nets, no labels; self-conditioning (Liu et al. 2020) on 20 spectral clusters of the
# pixels (purer than k-means: class KL ~0.002) with the G/cluster term at 1, minibatch
# discrimination, an EMA of G, lr 4e-4 and lazy R1 (gamma 0.1 every 16 steps; lowers FD on every
# seed): FD 7.0, 9.5, 7.6 and KL 0.001-0.002 over 3 seeds. A step costs 1.09x the k-means
# recipe's (measured interleaved), so 3,140 steps stay inside the 300 quiet CPU-s that bought
# that recipe 3,550.
PRESETS["mnist-best"] = (
    (
        "unconditional MNIST, the 300-CPU-s best: DCGAN nets self-conditioned on 20 spectral "
        "clusters (G/cluster term 1), minibatch discrimination, EMA 0.999, lr 4e-4, lazy R1, "
        "3,140 steps"
    ),
    {**_MNIST, "train.steps": 3140, "train.ema": 0.999, "model.minibatch_disc": True,
     "model.self_cond": 20, "model.self_cond_method": "spectral", "loss.self_cond_weight": 1.0,
     "loss.r1_gamma": 0.1, "loss.r1_every": 16, "g_opt.lr": 4e-4, "d_opt.lr": 4e-4},
)

_SEQ = {
    "model.arch": "conv1d",
    "model.z_dim": 16,
    "model.z_dist": "normal",
    "model.g_hidden": 64,
    "model.d_hidden": 64,
    "train.steps": 3000,
    "train.batch_size": 64,
    "train.diagnose": False,
    "train.sample_every": 500,
    "train.checkpoint_every": 1000,
    **_opt(lr=2e-4, beta1=0.5),
}
PRESETS["tsgan-sines"] = (
    (
        "time-series GAN: 1-D conv G and D on sines of random frequency (0.05-0.15 cycles/step) and "
        "phase, T=32"
    ),
    {**_SEQ, "data.dataset": "sines"},
)
PRESETS["tsgan-ar1"] = (
    "time-series GAN: GRU G and D on AR(1) series (phi 0.8, sigma 0.5), T=32",
    {**_SEQ, "data.dataset": "ar1", "model.arch": "gru"},
)

