"""Discriminator rejection sampling: R learns log p_data / p_g, rejection removes the bridges a
connected latent draws between modes, and a run that fitted R samples through it after a reload."""

import numpy as np
import pytest
import torch

from ganforge.errors import ConfigError, GanforgeError
from ganforge.metrics import mixture_mode_stats
from ganforge.presets import preset_config
from ganforge.runner import make_trainer, resume_trainer
from ganforge.sampling.generator import load_generator
from ganforge.sampling.rejection import (
    FourierRatio,
    calibrate_density_ratio,
    fit_density_ratio,
    ratio_from_state,
    rejection_sample,
    sample_points,
)

MODES = np.array([[-1.0, 0.0], [1.0, 0.0]])
STD = 0.05


def _real(gen):
    def draw(n):
        i = torch.randint(2, (n,), generator=gen)
        return torch.as_tensor(MODES, dtype=torch.float32)[i] + STD * torch.randn(n, 2, generator=gen)

    return draw


def _bridged(gen):
    """A 'generator' with the modes at 1:3 and a third of its points on the bridge between them."""

    def draw(n):
        side = torch.where(torch.rand(n, generator=gen) < 0.75, 1.0, -1.0)
        x = torch.stack([side, torch.zeros(n)], 1) + STD * torch.randn(n, 2, generator=gen)
        bridge = torch.rand(n, generator=gen) < 1 / 3
        x[bridge, 0] = torch.rand(int(bridge.sum()), generator=gen) * 2 - 1
        return x

    return draw


def test_rejection_removes_the_bridge_and_rebalances_the_modes():
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    ratio = FourierRatio(2, freq=5.0)
    losses = fit_density_ratio(ratio, _real(gen), _bridged(gen), steps=1500, batch_size=256)
    assert np.mean(losses[-100:]) < np.mean(losses[:100])
    left, mid, right = ratio(torch.tensor([[-1.0, 0.0], [0.0, 0.0], [1.0, 0.0]])).tolist()
    # log p_data / p_g: about log(0.5 / (2/3 * 1/4)) = 1.1 on the rare mode, 0 on the common one,
    # and very negative on the bridge, where the data has no mass
    assert 0.6 < left - right < 1.6 and abs(right) < 0.5, (left, right)
    assert mid < right - 3, (mid, right)
    raw = mixture_mode_stats(_bridged(gen)(4000), MODES, STD)
    x, rate = rejection_sample(_bridged(gen), ratio, 4000, quantile=0.99, gen=gen)
    kept = mixture_mode_stats(x, MODES, STD)
    assert raw["high_quality"] < 0.75 and kept["high_quality"] > 0.95, (raw, kept)
    # the 3:1 modes come back towards the data's 1:1
    assert kept["reverse_kl"] < raw["reverse_kl"] / 3, (raw, kept)
    assert 0.05 < rate < 0.9


def _wide(gen):
    """A 'generator' with the modes at 1:3, the common one three times as wide as the data's."""

    def draw(n):
        i = (torch.rand(n, generator=gen) < 0.75).long()
        width = torch.tensor([STD, 3 * STD])[i, None]
        centre = torch.as_tensor(MODES, dtype=torch.float32)[i]
        return centre + width * torch.randn(n, 2, generator=gen)

    return draw


def _left_share(ratio, gen) -> float:
    """The left mode's share of _wide's points reweighted by exp(R) (the data's: 1/2)."""
    x = _wide(gen)(200_000)
    with torch.no_grad():
        w = torch.exp(ratio(x))
    return float(w[x[:, 0] < 0].sum() / w.sum())


def test_calibration_evens_the_modes_and_reaches_the_kl_bound():
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    ratio = FourierRatio(2, freq=5.0)
    # a short logistic fit leaves the reweighted modes uneven ...
    fit_density_ratio(ratio, _real(gen), _wide(gen), steps=50, batch_size=256)
    before = _left_share(ratio, gen)
    losses = calibrate_density_ratio(ratio, _real(gen), _wide(gen), steps=300, batch_size=1024)
    after = _left_share(ratio, gen)
    # ... and calibration gives each its data share
    assert abs(before - 0.5) > 0.03 and abs(after - 0.5) < 0.02, (before, after)
    # -loss is the Donsker-Varadhan bound, whose sup is KL(p_data || p_g). Here, in closed form:
    # 1/2 log(1/2 / 1/4) + 1/2 [log(1/2 / 3/4) + KL(N(0, s^2 I) || N(0, 9 s^2 I)) in 2-D]
    kl = 0.5 * np.log(2) + 0.5 * (np.log(2 / 3) + 2 * (np.log(3) + 1 / 18 - 0.5))
    assert abs(-np.mean(losses[-50:]) - kl) < 0.05, (np.mean(losses[-50:]), kl)
    assert calibrate_density_ratio(ratio, _real(gen), _wide(gen), steps=0) == []


def test_rejection_sample_refuses_what_it_cannot_keep():
    gen = torch.Generator().manual_seed(0)
    ratio = FourierRatio(2, freq=5.0)
    with pytest.raises(ConfigError, match="quantile"):
        rejection_sample(_bridged(gen), ratio, 10, quantile=0.0, gen=gen)
    with pytest.raises(ConfigError, match="fewer than 500: train with a lower train.drs_quantile"):
        rejection_sample(_bridged(gen), ratio, 500, quantile=1.0, gen=gen, pool=10, max_draws=2)


def test_drs_config_errors_name_the_value(tmp_path):
    with pytest.raises(ConfigError, match="train.drs_quantile: must be in"):
        preset_config("grid25-best", {"train.drs_quantile": 0.0})
    with pytest.raises(ConfigError, match="train.drs_calib_steps: must be >= 0, got -1"):
        preset_config("grid25-best", {"train.drs_calib_steps": -1})
    cfg = preset_config("digits", {"train.drs_steps": 10, "train.steps": 2})
    with pytest.raises(ConfigError, match="train.drs_steps=10: rejection sampling is for unconditional point"):
        make_trainer(cfg, tmp_path / "run", quiet=True)


def test_a_run_with_drs_samples_sharper_and_keeps_r_in_its_checkpoint(tmp_path):
    cfg = preset_config(
        "grid25-best",
        {"train.steps": 1500, "train.drs_steps": 800, "train.drs_calib_steps": 100,
         "train.threads": 1, "train.tick": 500, "train.sample_every": 1500,
         "train.checkpoint_every": 1500, "train.diagnose": False},
    )
    t = make_trainer(cfg, tmp_path / "run", quiet=True, log=lambda *a: None)
    t.fit()
    modes, std = t.spec.modes, t.spec.mode_std
    raw = mixture_mode_stats(sample_points(t, 2500, torch.Generator().manual_seed(1), rejection=False),
                             modes, std)
    kept = mixture_mode_stats(sample_points(t, 2500, torch.Generator().manual_seed(1)), modes, std)
    # 1,500 steps leave G blurry; R trained for 800 steps on the CPU sharpens it several-fold
    assert kept["high_quality"] > max(0.5, 2 * raw["high_quality"]), (raw, kept)
    assert kept["modes"] >= raw["modes"] - 1

    rng = torch.get_rng_state()
    ratio_from_state({"arch": t.callback("rejection").ratio.arch, "state": t.callback("rejection").ratio.state_dict()})
    assert torch.equal(torch.get_rng_state(), rng)  # rebuilding R spares the caller's RNG
    g = load_generator(tmp_path / "run")  # what `ganforge sample` reads
    assert g.ratio is not None and g.quantile == cfg.train.drs_quantile
    assert len(list(g.parameters())) == len(list(g.net.parameters()))  # R is not G's weight
    with pytest.raises(GanforgeError, match="not class-conditional"):
        g.sample(10, y=3)
    x = torch.randn(16, 2)
    assert torch.equal(g.ratio(x), t.callback("rejection").ratio(x))
    again = mixture_mode_stats(g.sample(2500, seed=3), modes, std)
    plain = mixture_mode_stats(g.sample(2500, seed=3, rejection=False), modes, std)
    assert again["high_quality"] > 2 * plain["high_quality"], (plain, again)
    assert torch.equal(g.sample(100, seed=5), g.sample(100, seed=5))  # seeded

    resumed = resume_trainer(tmp_path / "run", quiet=True, log=lambda *a: None)
    assert torch.equal(resumed.callback("rejection").ratio(x), t.callback("rejection").ratio(x))
    # training on drops the R of the old G and fits a new one at the new last step
    more = resume_trainer(tmp_path / "run", overrides={"train.steps": 1600}, quiet=True,
                          log=lambda *a: None)
    more.fit()
    assert more.step == 1600 and not torch.equal(more.callback("rejection").ratio(x), t.callback("rejection").ratio(x))
