"""The latent prior p(z) that G turns into samples: uniform, normal, or a Gaussian mixture.

One function draws z for the trainer, for `ganforge sample` and for evaluation, so a run samples
exactly the prior it was trained on.

The mixture prior answers a limit of continuous generators on disconnected data. G is continuous,
so it maps a connected prior (uniform or normal) onto a connected set: on ring8 or grid25, some
samples must fall on the bridges between modes, which caps the high-quality share. A prior made of
K well-separated Gaussian bumps has (almost) no mass between bumps, so G can send each bump to a
mode without bridges (DeLiGAN, Gurumurthy et al. 2017; GM-GAN, Ben-Yosef & Weinshall 2018):

    c ~ Uniform{0..K-1},  z = mu_c + s * eps,  eps ~ N(0, I)

The means mu_c ~ N(0, I) are drawn once from a fixed seed, so they depend only on (z_dim, K) and
every run with the same model settings shares them; unlike DeLiGAN they are not learned.
"""

from __future__ import annotations

import functools

import torch

from ganforge.config import ModelConfig

MIXTURE_SEED = 20170705  # fixed: the means are part of the model definition, not of a run


@functools.lru_cache(maxsize=8)
def mixture_means(z_dim: int, components: int, device: torch.device | None = None) -> torch.Tensor:
    """The K fixed component means, [K, z_dim], the same on every call and machine. Cached per
    device, so the training loop never copies them to the GPU again; callers only index it."""
    mu = torch.randn(components, z_dim, generator=torch.Generator().manual_seed(MIXTURE_SEED))
    return mu.to(device) if device is not None else mu


def sample_prior(
    n: int,
    z_dim: int,
    gen: torch.Generator,
    *,
    dist: str,
    components: int = 0,
    component_std: float = 0.1,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """z ~ p(z), [n, z_dim], drawn with `gen` (which must live on `device`)."""
    shape = (n, z_dim)
    if dist == "uniform":
        # one kernel instead of three; the same values as rand * 2 - 1 (x * 2 is exact)
        return torch.empty(shape, device=device).uniform_(-1, 1, generator=gen)
    if dist == "normal":
        return torch.randn(shape, generator=gen, device=device)
    if dist == "mixture":
        c = torch.randint(components, (n,), generator=gen, device=device)
        eps = torch.randn(shape, generator=gen, device=device)
        return mixture_means(z_dim, components, eps.device)[c] + component_std * eps
    raise ValueError(f"unknown latent prior {dist!r}")


def prior_kwargs(model: dict) -> dict:
    """The prior settings of a saved model config (older checkpoints lack the mixture keys and
    get the config's defaults)."""
    d = ModelConfig()
    return {
        "dist": model["z_dist"],
        "components": model.get("z_components", d.z_components),
        "component_std": model.get("z_component_std", d.z_component_std),
    }
