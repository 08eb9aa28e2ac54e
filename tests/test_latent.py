"""The latent prior: the three kinds, the mixture's fixed means, and that a run samples from a
checkpoint exactly the prior it trained on."""

import numpy as np
import pytest
import torch

from ganforge.cli import main
from ganforge.config import from_dict
from ganforge.errors import ConfigError
from ganforge.nets.latent import mixture_means, sample_prior
from ganforge.presets import preset_config
from ganforge.runner import make_trainer
from ganforge.sampling.generator import load_generator

from .conftest import TINY


def test_uniform_and_normal_priors_have_their_moments():
    gen = torch.Generator().manual_seed(0)
    u = sample_prior(20000, 4, gen, dist="uniform")
    n = sample_prior(20000, 4, gen, dist="normal")
    assert u.min() >= -1 and u.max() <= 1 and abs(u.var() - 1 / 3) < 0.01
    assert abs(n.mean()) < 0.02 and abs(n.std() - 1) < 0.02


def test_mixture_prior_draws_every_component_tightly_around_fixed_means():
    means = mixture_means(8, 5)
    assert torch.equal(means, mixture_means(8, 5))  # part of the model, not of the run
    z = sample_prior(
        5000, 8, torch.Generator().manual_seed(1), dist="mixture", components=5, component_std=0.05
    )
    d, which = torch.cdist(z, means).min(1)
    # |z - mu_c| ~ 0.05 * chi(8) ~ 0.14; the means are ~4 apart, so no draw lies between them
    assert d.max() < 0.4
    counts = torch.bincount(which, minlength=5)
    assert counts.min() > 850, counts.tolist()


def test_mixture_needs_components_and_is_refused_by_infogan():
    with pytest.raises(ConfigError, match="model.z_components"):
        from_dict({"model": {"z_dist": "mixture", "z_components": 1}})
    with pytest.raises(ConfigError, match="model.z_component_std"):
        from_dict({"model": {"z_dist": "mixture", "z_components": 4, "z_component_std": 0}})
    cfg = preset_config(
        "infogan-digits", {"model.z_dist": "mixture", "model.z_components": 4, **TINY}
    )
    with pytest.raises(ConfigError, match="infogan"):
        make_trainer(cfg, "unused", quiet=True)


def test_checkpoint_samples_the_prior_it_was_trained_on(tmp_path, capsys):
    ov = {
        **TINY,
        "train.steps": 20,
        "model.z_dist": "mixture",
        "model.z_components": 3,
        "model.z_component_std": 0.2,
        "model.z_dim": 4,
    }
    t = make_trainer(preset_config("ring8", ov), tmp_path, quiet=True)
    t.fit()
    g = load_generator(tmp_path)
    z = g.prior(64, torch.Generator().manual_seed(3))
    expect = t.prior(64, torch.Generator().manual_seed(3), device="cpu")
    assert torch.equal(z, expect)
    out = tmp_path / "s.npy"
    assert main(["sample", str(tmp_path), "--n", "50", "--out", str(out)]) == 0
    assert np.load(out).shape == (50, 2)
