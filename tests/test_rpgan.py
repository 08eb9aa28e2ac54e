"""RpGAN + R1 + R2 and the R3GAN-style nets (Huang et al. 2024): the losses against hand
computation, the penalties in closed form, the nets' shapes, normalisation-free build and fix-up
initialisation, the ramped hyper-parameters, the config's refusals, and a run that learns."""

import math

import pytest
import torch
from torch import nn

from ganforge import losses
from ganforge.config import ModelConfig
from ganforge.data.base import Batch, DataSpec
from ganforge.errors import ConfigError
from ganforge.metrics import mixture_mode_stats
from ganforge.nets import build_nets
from ganforge.nets.r3gan import GAIN, GROUP, R3GANDiscriminator, ResidualBlock
from ganforge.nets.registry import rebuild
from ganforge.objectives import build_objective
from ganforge.objectives.base import PhaseInput
from ganforge.objectives.rpgan import gamma_at
from ganforge.presets import preset_config
from ganforge.runner import make_trainer
from ganforge.training.optim import ema_decay, half_life, lr_factor, ramp
from ganforge.training.stats import read_jsonl

NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.InstanceNorm2d, nn.LayerNorm, nn.GroupNorm)
DIGITS = {"data.dataset": "digits", "model.base_channels": 8, "model.z_dim": 16,
          "train.batch_size": 16, "train.threads": 1, "train.diagnose": False}


# ---------------------------------------------------------------- losses


def test_relativistic_pairing_losses_match_hand_computation():
    real, fake = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([0.5, 1.0, 0.5])
    sp = lambda t: math.log1p(math.exp(t))
    want_d = (sp(-(2.0 - 0.5)) + sp(-(-1.0 - 1.0)) + sp(0.0)) / 3
    want_g = (sp(-(0.5 - 2.0)) + sp(-(1.0 + 1.0)) + sp(0.0)) / 3
    assert losses.d_relativistic_pair(real, fake).item() == pytest.approx(want_d, rel=1e-6)
    assert losses.g_relativistic_pair(real, fake).item() == pytest.approx(want_g, rel=1e-6)
    # relativistic: shifting every logit by the same amount changes nothing
    assert losses.d_relativistic_pair(real + 7, fake + 7).item() == pytest.approx(want_d, rel=1e-5)
    big = torch.tensor([1000.0, -1000.0])
    assert torch.isfinite(losses.d_relativistic_pair(big, -big))
    assert torch.isfinite(losses.g_relativistic_pair(big, -big))


@pytest.mark.parametrize("penalty", [losses.r1_penalty, losses.r2_penalty])
def test_r1_and_r2_of_a_linear_d_are_its_weight_norm_squared_and_train_the_weight(penalty):
    """D(x) = sum(w * x): grad_x D = w for every sample, so the penalty is ||w||^2, and its
    gradient with respect to w is 2 w (the graph is kept, so the penalty trains D)."""
    w = torch.tensor([[[1.0, -2.0], [0.5, 3.0]]], requires_grad=True)  # [1, 2, 2]
    x = torch.randn(5, 1, 2, 2).requires_grad_(True)
    value = penalty((x * w).flatten(1).sum(1), x)
    assert value.item() == pytest.approx(w.detach().pow(2).sum().item(), rel=1e-6)
    (grad_w,) = torch.autograd.grad(value, w)
    assert torch.allclose(grad_w, 2 * w.detach())


def test_r1_is_the_mean_of_per_sample_squared_gradient_norms_of_a_conv_d():
    torch.manual_seed(0)
    d = R3GANDiscriminator((1, 8, 8), base=8)
    with torch.no_grad():  # leave the identity-at-init branches
        for p in d.parameters():
            p.add_(0.05 * torch.randn_like(p))
    x = torch.randn(3, 1, 8, 8)
    norms = []
    for i in range(3):
        xi = x[i : i + 1].clone().requires_grad_(True)
        (g,) = torch.autograd.grad(d(xi).sum(), xi)
        norms.append(g.pow(2).sum())
    xr = x.clone().requires_grad_(True)
    want = torch.stack(norms).mean().item()
    assert losses.r1_penalty(d(xr), xr).item() == pytest.approx(want, rel=1e-5)


def test_the_d_phase_terms_are_the_pairing_loss_and_gamma_halves_of_r1_and_r2():
    cfg = preset_config("ring8", {"loss.objective": "rpgan", "loss.r1_gamma": 0.4})
    obj = build_objective(cfg)
    torch.manual_seed(0)
    g, d = build_nets(cfg.model, DataSpec("ring8", "points", (2,)))
    real, z = torch.randn(8, 2), torch.randn(8, cfg.model.z_dim)
    out = obj.compute("D", {"G": g, "D": d}, PhaseInput(Batch(real), z, None, 0, 10))
    assert set(out.terms) == {"D/adv", "D/r1", "D/r2"}
    fake = g(z).detach()
    xr, xf = real.clone().requires_grad_(True), fake.clone().requires_grad_(True)
    lr, lf = d(xr), d(xf)
    assert out.terms["D/adv"].item() == pytest.approx(losses.d_relativistic_pair(lr, lf).item())
    assert out.terms["D/r1"].item() == pytest.approx(0.2 * losses.r1_penalty(lr, xr).item())
    assert out.terms["D/r2"].item() == pytest.approx(0.2 * losses.r2_penalty(lf, xf).item())
    g_out = obj.compute("G", {"G": g, "D": d}, PhaseInput(Batch(real), z, None, 0, 10))
    assert g_out.terms["G/adv"].item() == pytest.approx(
        losses.g_relativistic_pair(d(real), d(g(z))).item())
    lazy = build_objective(preset_config("ring8", {"loss.objective": "rpgan", "loss.r1_every": 4}))
    assert [(p.name, p.every) for p in lazy.phases] == [("D", 1), ("Dreg", 4), ("G", 1)]
    assert [p.name for p in build_objective(preset_config(
        "ring8", {"loss.objective": "rpgan", "loss.r1_gamma": 0.0})).phases] == ["D", "G"]


def test_without_pairing_the_terms_are_the_classic_gan_loss_with_the_same_r1_and_r2():
    """loss.pairing=false: Huang et al.'s GAN + R1 + R2 ablation, by hand on the same logits."""
    cfg = preset_config("ring8", {"loss.objective": "rpgan", "loss.r1_gamma": 0.4,
                                  "loss.pairing": False})
    obj = build_objective(cfg)
    assert [(p.name, p.needs_real) for p in obj.phases] == [("D", True), ("G", False)]
    torch.manual_seed(0)
    g, d = build_nets(cfg.model, DataSpec("ring8", "points", (2,)))
    real, z = torch.randn(8, 2), torch.randn(8, cfg.model.z_dim)
    out = obj.compute("D", {"G": g, "D": d}, PhaseInput(Batch(real), z, None, 0, 10))
    lr, lf = d(real), d(g(z))
    hand = (torch.log1p(torch.exp(-lr)).mean() + torch.log1p(torch.exp(lf)).mean()).item()
    assert out.terms["D/adv"].item() == pytest.approx(hand, rel=1e-5)
    assert out.terms["D/adv"].item() != pytest.approx(losses.d_relativistic_pair(lr, lf).item())
    xr, xf = real.clone().requires_grad_(True), g(z).detach().requires_grad_(True)
    assert out.terms["D/r1"].item() == pytest.approx(0.2 * losses.r1_penalty(d(xr), xr).item())
    assert out.terms["D/r2"].item() == pytest.approx(0.2 * losses.r2_penalty(d(xf), xf).item())
    g_out = obj.compute("G", {"G": g, "D": d}, PhaseInput(None, z, None, 0, 10))
    assert g_out.terms["G/adv"].item() == pytest.approx(
        torch.log1p(torch.exp(-lf)).mean().item(), rel=1e-5)
    with pytest.raises(ConfigError, match="loss.pairing"):
        preset_config("ring8", {"loss.pairing": False})


# ---------------------------------------------------------------- networks


def _r3gan(size: int, channels: int, **model):
    m = ModelConfig(**{"arch": "r3gan", "z_dim": 16, "base_channels": 8, **model})
    spec = DataSpec("x", "image", (channels, size, size), num_classes=10)
    return build_nets(m, spec)


@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_r3gan_nets_have_the_data_shape_and_no_normalisation_layer(size, channels):
    torch.manual_seed(0)
    g, d = _r3gan(size, channels)
    x = g(torch.randn(4, 16))
    assert x.shape == (4, channels, size, size) and x.abs().max() <= 1
    assert d(x).shape == (4,) and d.features(x).shape[0] == 4
    for net in (g, d):
        norms = [type(m).__name__ for m in net.modules() if isinstance(m, NORMS)]
        assert not norms, norms
        assert not any("norm" in type(m).__name__.lower() for m in net.modules())
    g2 = rebuild(g.arch)  # a checkpoint rebuilds the same module from its JSON
    g2.load_state_dict(g.state_dict())
    z = torch.randn(2, 16)
    assert torch.equal(g2(z), g(z))


def test_r3gan_blocks_are_grouped_inverted_bottlenecks_with_fixup_init():
    torch.manual_seed(0)
    g, d = _r3gan(28, 1, base_channels=32, g_depth=2, d_depth=2)
    for net in (g, d):
        blocks = [m for m in net.modules() if isinstance(m, ResidualBlock)]
        assert len(blocks) == 3 * 2  # three stages (7, 14, 28 px) of two blocks
        scale = len(blocks) ** (-1 / 4)  # L^(-1/(2m-2)) with m = 3 layers per branch
        for b in blocks:
            wide = b.expand.out_channels
            assert wide == 2 * b.expand.in_channels and b.conv.groups == wide // GROUP
            assert b.conv.kernel_size == (3, 3) and b.project.kernel_size == (1, 1)
            assert torch.count_nonzero(b.project.weight) == 0  # the branch's last layer
            x = torch.randn(2, b.expand.in_channels, 7, 7)
            assert torch.equal(b(x), x)  # every block starts as the identity
            std = GAIN * scale / math.sqrt(b.expand.in_channels)
            assert b.expand.weight.std().item() == pytest.approx(std, rel=0.15)
            assert b.conv.weight.std().item() == pytest.approx(GAIN * scale / math.sqrt(GROUP * 9),
                                                               rel=0.15)


def test_r3gan_conditional_nets_and_bad_sizes():
    g, d = _r3gan(32, 3, conditional=True)
    y = torch.arange(4)
    x = g(torch.randn(4, 16), y)
    assert d(x, y).shape == (4,) and g.num_classes == d.num_classes == 10
    with pytest.raises(ConfigError, match="s0 \\* 2\\^n"):
        _r3gan(30, 1)


# ---------------------------------------------------------------- schedules


def test_ramps_at_start_middle_and_end():
    for kind in ("linear", "cosine"):
        beta2 = [ramp(kind, t, 0.9, 0.99) for t in (0.0, 0.5, 1.0)]
        assert beta2 == pytest.approx([0.9, 0.945, 0.99])
        gamma = [gamma_at(2.0, 0.2, kind, s, 100) for s in (0, 50, 100)]
        assert gamma == pytest.approx([2.0, 1.1, 0.2])
    assert ramp("cosine", 0.25, 1.0, 0.0) == pytest.approx(0.5 + 0.5 * math.cos(math.pi / 4))
    assert gamma_at(2.0, 0.2, "cosine", 25, 100) == pytest.approx(ramp("cosine", 0.25, 2.0, 0.2))
    assert ramp("linear", 0.25, 1.0, 0.0) == pytest.approx(0.75)
    assert gamma_at(2.0, None, "cosine", 50, 100) == 2.0 and ramp("constant", 0.5, 3.0, 1.0) == 3.0
    # the lr schedule through `ramp` gives the same floats as the formulas it had before
    for s in range(0, 101, 7):
        t = s / 100
        assert lr_factor("linear", s, 100, 0.1) == 1.0 - (1.0 - 0.1) * t
        cosine = 0.25 + (1.0 - 0.25) * 0.5 * (1.0 + math.cos(math.pi * t))
        assert lr_factor("cosine", s, 100, 0.25) == cosine


def test_ema_half_life_ramps_and_an_unramped_ema_keeps_its_decay():
    cfg = preset_config("rpgan-mnist", {"train.steps": 100, "train.ema": 0.9,
                                        "train.ema_final": 0.99})
    t = cfg.train
    assert half_life(0.5) == pytest.approx(1.0)
    assert half_life(0.99) == pytest.approx(68.97, rel=1e-3)
    assert ema_decay(t, 0) == pytest.approx(0.9)
    assert ema_decay(t, 100) == pytest.approx(0.99)
    mid = (half_life(0.9) + half_life(0.99)) / 2  # half a cosine is halfway at half the run
    assert half_life(ema_decay(t, 50)) == pytest.approx(mid)
    assert ema_decay(preset_config("digits").train, 1234) == 0.99  # the very same float


def test_trainer_ramps_beta2_and_objective_ramps_gamma(tmp_path):
    cfg = preset_config("rpgan-mnist", {**DIGITS, "train.steps": 10, "train.tick": 5})
    t = make_trainer(cfg, tmp_path, quiet=True)
    got = {}
    for step in (0, 5, 10):
        t.step = step
        t._set_lr()
        got[step] = [o.param_groups[0]["betas"] for o in t.opts.values()]
    for step, want in ((0, 0.9), (5, 0.945), (10, 0.99)):
        assert all(b == (0.0, pytest.approx(want)) for b in got[step]), got
    gam = [t.objective.gamma(PhaseInput(None, None, None, s, 10)) for s in (0, 5, 10)]
    assert gam == pytest.approx([1.0, 0.55, 0.1])
    t.step = 0
    t.fit()  # the ramps run inside the loop; gamma is logged as D/gamma
    log = read_jsonl(tmp_path / "log.jsonl")
    assert log[-1]["step"] == 10 and 0.1 < log[-1]["D/gamma"] < 0.55


# ---------------------------------------------------------------- config


@pytest.mark.parametrize(
    "over,needle",
    [
        ({"train.lr_schedule": "constant", "train.lr_final": 0.0}, "ramps along train.lr_schedule's curve"),
        ({"g_opt.name": "sgd"}, "g_opt.name=sgd has no beta2"),
        ({"d_opt.beta2_final": 1.0}, "d_opt.beta2_final: must be in [0, 1)"),
        ({"train.ema": 0.0}, "train.ema_final=0.999: must be in (0, 1) and ramps from train.ema"),
        ({"loss.r1_gamma": 0.0}, "ramps from loss.r1_gamma"),
        ({"loss.objective": "gan"}, "loss.gamma_final=0.1: has no effect under loss.objective=gan"),
        ({"model.init": "dcgan"}, "keep their fix-up initialisation"),
        ({"model.d_norm": "none"}, "no normalisation layers"),
        ({"model.base_channels": 12}, "multiple of 8"),
    ],
)
def test_meaningless_or_broken_ramp_and_r3gan_options_are_one_line_errors(over, needle):
    with pytest.raises(ConfigError) as e:
        preset_config("rpgan-mnist", over)
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_the_preset_and_the_new_options_default_to_the_old_behaviour():
    c = preset_config("rpgan-mnist")
    assert (c.data.dataset, c.model.arch, c.loss.objective) == ("mnist", "r3gan", "rpgan")
    assert (c.g_opt.beta1, c.g_opt.beta2, c.g_opt.beta2_final, c.train.lr_schedule) == \
        (0.0, 0.9, 0.99, "cosine")
    from ganforge.presets import PRESETS

    for name in PRESETS:
        o = preset_config(name)
        if o.loss.objective != "rpgan":
            assert o.loss.gamma_final is o.train.ema_final is o.g_opt.beta2_final is \
                o.d_opt.beta2_final is None, name


# ---------------------------------------------------------------- learning


def test_rpgan_with_r1_and_r2_learns_the_ring_of_eight_gaussians(tmp_path):
    """RpGAN + R1 + R2 on the 2-D ring (MLP nets, the ring8 preset's R1 replaced by the
    objective's penalties): after 1,500 steps the samples sit on (nearly) every mode."""
    cfg = preset_config("ring8", {
        "loss.objective": "rpgan", "loss.r1_gamma": 0.1, "train.steps": 1500,
        "train.threads": 1, "train.diagnose": False, "train.tick": 500,
        "train.sample_every": 10**6, "train.checkpoint_every": 10**6,
    })
    t = make_trainer(cfg, tmp_path, quiet=True)
    t.fit()
    with torch.no_grad():
        x = t.sample_net().eval()(torch.randn(2500, cfg.model.z_dim,
                                              generator=torch.Generator().manual_seed(7)))
    stats = mixture_mode_stats(x, t.spec.modes, t.spec.mode_std)
    assert stats["modes_strict"] >= 7, stats
    assert stats["reverse_kl"] <= 0.2, stats  # seeds 0-2: 8 modes, reverse KL 0.005-0.044
    assert stats["high_quality"] >= 0.15, stats  # seeds 0-2: 0.27-0.39 within 3 std of a mode
