"""Mode-collapse remedies: D wrappers (packing, minibatch features, spectral norm), the GAN
objective's feature matching / unrolled D / instance noise, the presets, and a remedy that beats
the vanilla GAN on a small budget."""

import dataclasses

import pytest
import torch
from torch.nn.utils.parametrize import is_parametrized

from ganforge.config import ModelConfig
from ganforge.data import DataSpec
from ganforge.errors import ConfigError
from ganforge.metrics import mixture_mode_stats
from ganforge.nets import DCGANDiscriminator, MLPDiscriminator, build_nets
from ganforge.nets.remedies import (
    MinibatchDiscrimination,
    RemedyDiscriminator,
    minibatch_stddev,
    pack,
)
from ganforge.objectives import PhaseInput, build_objective
from ganforge.objectives.gan import instance_noise_std, topk_fraction
from ganforge.presets import PRESETS, preset_config
from ganforge.runner import make_trainer

from .conftest import TINY

POINTS = DataSpec("pts", "points", (2,), num_classes=3)
IMAGES = DataSpec("img", "image", (1, 8, 8), num_classes=10)


def _d(spec=POINTS, **model):
    torch.manual_seed(0)
    m = ModelConfig(**{"d_hidden": 16, "g_hidden": 16, "z_dim": 4, **model})
    return build_nets(m, spec)[1]


def test_pack_groups_consecutive_samples_and_rejects_a_ragged_batch():
    x = torch.arange(16.0).view(8, 2)
    p = pack(x, 4)
    assert p.shape == (2, 8)
    assert torch.equal(p[1], x[4:8].flatten())
    imgs = torch.randn(6, 1, 8, 8)
    assert torch.equal(pack(imgs, 2)[0, 1], imgs[1, 0])  # channels of the pack's 2nd member
    with pytest.raises(ConfigError, match="train.batch_size"):
        pack(torch.randn(6, 2), 4)


def test_minibatch_features_see_the_batch():
    same = torch.ones(8, 5)
    assert torch.allclose(minibatch_stddev(same), torch.zeros(8, 1), atol=1e-3)
    spread = torch.randn(8, 5, generator=torch.Generator().manual_seed(0))
    assert (minibatch_stddev(spread) > 0.3).all()
    mb = MinibatchDiscrimination(5, kernels=3, dim=2)
    h = torch.randn(6, 5, generator=torch.Generator().manual_seed(1))
    m = (h @ mb.T).view(6, 3, 2)
    naive = torch.exp(-(m[:, None] - m[None]).abs().sum(-1)).sum(1) - 1  # Salimans et al. 2016
    assert torch.allclose(mb(h), naive, atol=1e-6)
    # identical samples: every other sample is at distance 0, so o = N - 1 per kernel
    assert torch.allclose(mb(torch.ones(6, 5)), torch.full((6, 3), 5.0))


@pytest.mark.parametrize("spec", [POINTS, IMAGES], ids=["mlp", "dcgan"])
def test_remedies_compose_and_keep_the_d_interface(spec):
    arch = "mlp" if spec.kind == "points" else "dcgan"
    plain = _d(spec, arch=arch, base_channels=8)
    d = _d(
        spec,
        arch=arch,
        base_channels=8,
        pack=2,
        mbstd=True,
        minibatch_disc=True,
        spectral_norm=True,
        conditional=True,
    )
    assert d.num_classes == spec.num_classes
    x = torch.randn(8, *spec.shape)
    y = torch.randint(spec.num_classes, (8,))
    assert d(x, y).shape == (4,)
    feats = d.features(x)
    assert feats.shape[0] == 4 and feats.shape[1] > plain.features(x).shape[1]
    # R1 works through packing: a gradient per real sample
    xr = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(d(xr, y).sum(), xr, create_graph=True)
    assert g.shape == x.shape and g.abs().sum() > 0
    # no remedy: D returned as is, the bare arch net with no spectral-norm parametrisation
    bare = MLPDiscriminator if arch == "mlp" else DCGANDiscriminator
    assert type(plain) is bare and not any(is_parametrized(m) for m in plain.modules())
    # each remedy alone changes D: packing judges pairs, the minibatch features make a sample's
    # logit depend on the rest of its batch (a plain D's does not), spectral norm reparametrises
    others = torch.cat([x[:1], torch.randn(7, *spec.shape)])  # sample 0 in another batch

    def batch_dependent(net):
        net.eval()  # batch-norm statistics aside
        with torch.no_grad():
            return not torch.allclose(net(x)[0], net(others)[0])

    assert plain(x).shape == (8,) and not batch_dependent(plain)
    packed = _d(spec, arch=arch, base_channels=8, pack=2)
    assert type(packed) is RemedyDiscriminator and type(packed.inner) is bare
    assert packed(x).shape == (4,)
    for remedy in ("mbstd", "minibatch_disc"):
        one = _d(spec, arch=arch, base_channels=8, **{remedy: True})
        assert type(one) is RemedyDiscriminator and type(one.inner) is bare, remedy
        assert one(x).shape == (8,) and batch_dependent(one), remedy
    sn = _d(spec, arch=arch, base_channels=8, spectral_norm=True)
    assert type(sn) is bare and any(is_parametrized(m, "weight") for m in sn.modules())


def test_spectral_norm_bounds_every_layer():
    d = _d(d_hidden=32, spectral_norm=True)
    for _ in range(30):  # power iteration converges during forwards in train mode
        d(torch.randn(16, 2))
    for mod in d.modules():
        if isinstance(mod, torch.nn.Linear):
            sigma = torch.linalg.matrix_norm(mod.weight.detach(), ord=2)
            assert abs(float(sigma) - 1.0) < 0.05


def test_trainer_rejects_a_batch_not_divisible_by_the_pack(tmp_path):
    cfg = preset_config("ring8", {**TINY, "model.pack": 3, "train.steps": 2})
    with pytest.raises(ConfigError, match="multiple of 3"):
        make_trainer(cfg, tmp_path, quiet=True).fit()


def _objective_and_nets(**loss):
    cfg = preset_config("ring8", {**TINY, **loss})
    torch.manual_seed(0)
    from ganforge.data import load_dataset

    spec = load_dataset("ring8").spec
    g, d = build_nets(cfg.model, spec)
    return cfg, build_objective(cfg), {"G": g, "D": d}, load_dataset("ring8")


def _inp(data, cfg, step=0):
    gen = torch.Generator().manual_seed(3)
    return PhaseInput(
        data.sample(32, gen),
        torch.randn(32, cfg.model.z_dim, generator=gen),
        None,
        step,
        cfg.train.steps,
    )


def test_feature_matching_replaces_the_adversarial_g_loss():
    cfg, obj, nets, data = _objective_and_nets(**{"loss.feature_matching": True})
    terms = obj.compute("G", nets, _inp(data, cfg)).terms
    assert set(terms) == {"G/fm"} and terms["G/fm"] > 0
    assert next(p for p in obj.phases if p.name == "G").needs_real


def test_unrolled_g_loss_is_the_gan_value_at_d_after_k_adam_steps():
    import copy

    from ganforge import losses

    cfg, obj, nets, data = _objective_and_nets(**{"loss.unrolled_steps": 3})
    d0 = {k: v.clone() for k, v in nets["D"].state_dict().items()}
    inp = _inp(data, cfg)
    unrolled = obj.compute("G", nets, inp).terms["G/adv"]
    assert all(torch.equal(d0[k], v) for k, v in nets["D"].state_dict().items())  # functional
    # reference: a copy of D trained 3 steps by torch's Adam (fresh state) on the same batch
    d_k = copy.deepcopy(nets["D"])
    opt = torch.optim.Adam(
        d_k.parameters(), lr=cfg.d_opt.lr, betas=(cfg.d_opt.beta1, cfg.d_opt.beta2)
    )
    with torch.no_grad():
        fake = nets["G"](inp.z)
    for _ in range(3):
        opt.zero_grad()
        sum(losses.d_bce(d_k(inp.real.x), d_k(fake))).backward()
        opt.step()
    # G minimises f(G, D_k) = E log D_k(x) + E log(1 - D_k(G(z))) = -(BCE terms at D_k)
    ref = -sum(losses.d_bce(d_k(inp.real.x), d_k(fake)))
    assert float(unrolled.detach()) == pytest.approx(float(ref.detach()), rel=1e-4)
    now = -sum(losses.d_bce(nets["D"](inp.real.x), nets["D"](fake)))
    assert float(unrolled.detach()) != pytest.approx(float(now.detach()), rel=1e-4)
    # G's gradient flows through the look-ahead
    grads = torch.autograd.grad(unrolled, list(nets["G"].parameters()))
    assert all(torch.isfinite(g).all() for g in grads) and any(g.abs().sum() > 0 for g in grads)


def test_instance_noise_anneals_to_zero_and_resumes_exactly():
    assert instance_noise_std(0.2, 0, 100) == pytest.approx(0.2)
    assert instance_noise_std(0.2, 50, 100) == pytest.approx(0.1)
    assert instance_noise_std(0.2, 100, 100) == 0.0
    cfg, obj, nets, data = _objective_and_nets(**{"loss.instance_noise": 0.5})
    _, flat, _, _ = _objective_and_nets()
    early, late = _inp(data, cfg, 0), _inp(data, cfg, cfg.train.steps)
    noisy = obj.compute("D", nets, early).terms["D/real"]
    assert float(noisy.detach()) != pytest.approx(
        float(flat.compute("D", nets, early).terms["D/real"].detach())
    )
    assert float(obj.compute("D", nets, late).terms["D/real"].detach()) == pytest.approx(
        float(flat.compute("D", nets, late).terms["D/real"].detach())
    )
    state = obj.state_dict()
    a = obj.compute("D", nets, early).terms["D/real"]
    _, again, _, _ = _objective_and_nets(**{"loss.instance_noise": 0.5})
    again.load_state_dict(state)
    assert torch.equal(again.compute("D", nets, early).terms["D/real"], a)


def test_topk_g_loss_learns_only_from_the_fakes_d_rates_highest():
    assert topk_fraction(0.5, 0.95, 0) == 1.0
    assert topk_fraction(0.5, 0.95, 100) == pytest.approx(0.95)
    assert topk_fraction(0.5, 0.95, 10_000) == 0.5
    cfg, obj, nets, data = _objective_and_nets(**{"loss.topk": 0.25, "loss.topk_decay": 0.5})
    inp = _inp(data, cfg, step=1000)  # past the annealing: k = 8 of 32
    z = inp.z.clone().requires_grad_(True)
    inp = dataclasses.replace(inp, z=z)
    loss = obj.compute("G", nets, inp).terms["G/adv"]
    (grad_z,) = torch.autograd.grad(loss, z)
    with torch.no_grad():
        logits = nets["D"](nets["G"](inp.z)).reshape(-1)
    kept = grad_z.abs().sum(1) > 0
    assert int(kept.sum()) == 8
    assert torch.equal(kept, logits >= logits.topk(8).values.min())  # the 8 best, no others
    assert float(loss.detach()) == pytest.approx(
        float(torch.nn.functional.softplus(-logits.topk(8).values).mean())
    )
    with pytest.raises(ConfigError, match="loss.topk"):
        preset_config("ring8", {"loss.topk": 0.0})
    with pytest.raises(ConfigError, match="loss.objective=gan"):
        preset_config("ring8", {"loss.topk": 0.5, "loss.objective": "wgan-gp"})


def test_gan_gp_term_when_the_config_asks_for_it():
    cfg, obj, nets, data = _objective_and_nets()
    assert "D/gp" not in obj.compute("D", nets, _inp(data, cfg)).terms
    gp = build_objective(dataclasses.replace(cfg, loss=dataclasses.replace(cfg.loss, gan_gp=10.0)))
    assert gp.compute("D", nets, _inp(data, cfg)).terms["D/gp"] > 0


def test_remedy_presets_resolve():
    for name in (
        "ring8-vanilla",
        "ring8-pacgan",
        "ring8-best",
        "grid25-vanilla",
        "grid25-pacgan",
        "grid25-best",
    ):
        cfg = preset_config(name)
        assert cfg.train.batch_size % cfg.model.pack == 0
    assert preset_config("ring8-pacgan").model.pack == 4
    assert "stacked-mnist-pacgan" in PRESETS


def _ring8(tmp_path, **extra):
    cfg = preset_config(
        "ring8-vanilla",
        {
            "train.steps": 1000,
            "train.threads": 1,
            "train.batch_size": 128,
            "train.tick": 500,
            "train.sample_every": 10**6,
            "train.checkpoint_every": 10**6,
            "train.diagnose": False,
            **extra,
        },
    )
    t = make_trainer(cfg, tmp_path, quiet=True)
    t.fit()
    with torch.no_grad():
        x = t.sample_net().eval()(
            torch.randn(2500, cfg.model.z_dim, generator=torch.Generator().manual_seed(7))
        )
    return mixture_mode_stats(x, t.spec.modes, t.spec.mode_std)


@pytest.mark.slow
def test_a_remedy_beats_the_vanilla_gan_on_a_small_budget(tmp_path):
    vanilla = _ring8(tmp_path / "vanilla")
    fixed = _ring8(tmp_path / "fm", **{"loss.feature_matching": True})
    assert vanilla["modes_strict"] <= 3, vanilla
    assert fixed["modes_strict"] >= vanilla["modes_strict"] + 3, fixed
    assert fixed["reverse_kl"] < vanilla["reverse_kl"] - 0.5, (fixed, vanilla)
