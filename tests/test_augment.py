"""DiffAugment and ADA: the transforms do what they say and pass gradients, D sees them only in
training, the strength p moves by ADA's rule, lives in the checkpoint and resumes exactly."""

import pytest
import torch

from ganforge.config import Config, apply_overrides
from ganforge.config_rules import AUGMENT_POLICIES
from ganforge.errors import ConfigError
from ganforge.nets.augment import OPS, AugmentedDiscriminator, cutout, diffaugment, translation
from ganforge.nets.registry import rebuild
from ganforge.presets import preset_config
from ganforge.runner import make_trainer, resume_trainer
from ganforge.training.ada import AdaptiveAugment, ada_step, augmented
from ganforge.training.checkpoint import find_checkpoint, load_state

SMALL = {"model.base_channels": 16, "train.batch_size": 32, "train.tick": 10,
         "train.sample_every": 40, "train.checkpoint_every": 20, "train.threads": 1,
         "train.diagnose": False}


def test_the_config_names_exactly_the_transforms():
    assert tuple(OPS) == AUGMENT_POLICIES


def test_translation_moves_a_pixel_by_at_most_an_eighth_and_pads_with_zero():
    torch.manual_seed(0)
    x = torch.zeros(200, 1, 16, 16)
    x[:, :, 8, 8] = 1.0
    out = translation(x)
    where = [torch.nonzero(o[0]) for o in out]
    for w in where:  # still one pixel, moved by at most 2 = 16 / 8 in each axis
        assert len(w) == 1 and (w[0] - 8).abs().max() <= 2
    moved = {tuple(w[0].tolist()) for w in where}
    assert len(moved) > 10  # shifts differ per sample
    edge = torch.ones(50, 1, 8, 8)
    assert (translation(edge) == 0).any()  # zero padding enters from a border


def test_cutout_zeroes_at_most_a_quarter_of_the_image():
    torch.manual_seed(0)
    x = torch.ones(300, 3, 16, 16)
    zero = (cutout(x) == 0).float().mean(dim=(1, 2, 3))
    assert zero.max() <= 0.25 + 1e-6 and zero.min() > 0  # an 8x8 square, clipped at borders
    assert (zero == 0.25).float().mean() > 0.2


def test_color_gradients_flow_and_p_zero_is_the_identity():
    torch.manual_seed(0)
    x = torch.rand(8, 3, 8, 8, requires_grad=True) * 2 - 1
    out = diffaugment(x, AUGMENT_POLICIES)
    (g,) = torch.autograd.grad(out.square().sum(), x)
    assert torch.isfinite(g).all() and g.abs().sum() > 0
    assert torch.equal(diffaugment(x, AUGMENT_POLICIES, torch.tensor(0.0)), x)
    assert not torch.equal(diffaugment(x, AUGMENT_POLICIES, torch.tensor(1.0)), x)


def test_ada_step_follows_the_rule():
    assert ada_step(0.0, 0.9, 0.6, 6400, 100) == pytest.approx(0.064)
    assert ada_step(0.5, 0.2, 0.6, 6400, 100) == pytest.approx(0.436)
    assert ada_step(0.01, 0.0, 0.6, 6400, 100) == 0.0  # clipped
    assert ada_step(0.3, 0.6, 0.6, 6400, 100) == 0.3  # on target: no move


def test_the_augmented_d_is_the_inner_d_in_eval_mode_and_rebuilds_with_its_p(tmp_path):
    cfg = preset_config("digits", {**SMALL, "model.augment": "color,translation,cutout",
                                   "model.augment_p": 0.3, "train.steps": 1})
    t = make_trainer(cfg, tmp_path, quiet=True)
    d = t.nets["D"]
    assert isinstance(d, AugmentedDiscriminator) and float(d.p) == pytest.approx(0.3)
    x = t.data.real_sample(16).x
    d.eval()
    torch.testing.assert_close(d(x), d.inner(x))
    d.train()
    torch.manual_seed(1)
    assert not torch.allclose(d(x), d.inner(x))
    d.p.fill_(0.7)
    again = rebuild(d.arch)
    again.load_state_dict(d.state_dict())
    assert float(again.p) == pytest.approx(0.7)


def test_ada_raises_p_when_d_memorises_and_resumes_bit_exactly(tmp_path):
    # 64 real digits: D separates them from fakes quickly, so E[sign D(x)] passes the target
    over = {**SMALL, "model.augment": "translation,cutout", "model.augment_p": 0.0,
            "train.ada_target": 0.3, "train.ada_kimg": 5, "data.subset": 64, "train.steps": 80}
    full = make_trainer(preset_config("digits", over), tmp_path / "full", quiet=True)
    full.fit()
    p_full = float(augmented(full.nets["D"]).p)
    assert p_full > 0.05, p_full
    ck = load_state(find_checkpoint(tmp_path / "full"))
    assert float(ck["nets"]["D"]["p"]) == pytest.approx(p_full)
    half = make_trainer(preset_config("digits", {**over, "train.steps": 40}), tmp_path / "half",
                        quiet=True)
    half.fit()
    resumed = resume_trainer(tmp_path / "half", overrides={"train.steps": 80}, quiet=True)
    resumed.fit(resumed=True)
    for k, net in full.nets.items():
        for (n, a), b in zip(net.state_dict().items(), resumed.nets[k].state_dict().values()):
            assert torch.equal(a, b), f"{k}.{n}"


def test_ada_probe_reads_self_conditioning_clusters_and_raises_p(tmp_path):
    # self-conditioned D judges (image, cluster): ADA's probe must give real images their
    # clusters, as the D phase does, not the data's digit labels
    over = {**SMALL, "model.arch": "dcgan", "model.self_cond": 10, "model.augment": "translation",
            "model.augment_p": 0.0, "train.ada_target": 0.3, "train.ada_kimg": 5,
            "data.subset": 64, "train.steps": 60}
    tr = make_trainer(preset_config("digits", over), tmp_path / "run", quiet=True)
    tr.fit()
    d = augmented(tr.nets["D"])
    assert float(d.p) > 0.05, float(d.p)
    ada = AdaptiveAugment(tr)
    batch = tr.data.real_sample(64, seed=tr.step)
    clusters = tr.objective.coder.assign(batch.x)
    assert not torch.equal(clusters, batch.y)  # the digits' own labels would be a different D input
    torch.manual_seed(7)
    rt = ada.signal(tr)
    torch.manual_seed(7)
    with torch.no_grad():
        want = float(torch.sign(d(batch.x, clusters).float()).mean())
    assert rt == pytest.approx(want)


@pytest.mark.parametrize("over, match", [
    ({"model.augment": "color,blur"}, "model.augment="),
    ({"model.augment_p": 0.5}, "needs model.augment"),
    ({"model.augment": "color", "model.augment_p": 1.5}, "model.augment_p"),
    ({"train.ada_target": 0.6}, "needs model.augment"),
    ({"model.augment": "color", "train.ada_kimg": 50}, "train.ada_kimg"),
    ({"model.augment": "color", "train.ada_target": 0.6, "loss.objective": "rpgan"},
     "no real/fake threshold"),
    ({"model.augment": "color", "model.augment_p": 0.0}, "no transform would ever apply"),
    ({"loss.objective": "pix2pix", "model.arch": "unet", "data.dataset": "edges2mnist",
      "model.augment": "color"}, "not applied"),
])
def test_augment_options_that_would_do_nothing_are_refused(over, match):
    with pytest.raises(ConfigError, match=match):
        apply_overrides(Config(), over)


def test_point_data_cannot_be_augmented(tmp_path):
    with pytest.raises(ConfigError, match="augments images"):
        make_trainer(preset_config("ring8", {"model.augment": "color", "train.steps": 1}),
                     tmp_path, quiet=True)


def test_data_subset_keeps_n_fixed_images_and_names_them(tmp_path):
    from ganforge.data import load_data

    cfg = preset_config("digits", {"data.subset": 100})
    a, b = load_data(cfg.data), load_data(cfg.data)
    assert len(a) == 100 and torch.equal(a.x, b.x)
    assert a.spec.identity.endswith("|subset100")
    with pytest.raises(ConfigError, match="data.subset=5000"):
        load_data(preset_config("digits", {"data.subset": 5000}).data)
    with pytest.raises(ConfigError, match="data.subset"):
        load_data(preset_config("ring8", {"data.subset": 10}).data)


def test_ebgan_refuses_augmentation_its_autoencoder_d_would_never_see():
    from ganforge.objectives import check_objective

    cfg = apply_overrides(Config(), {"model.augment": "color", "loss.objective": "ebgan"})
    with pytest.raises(ConfigError, match="no effect under loss.objective=ebgan"):
        check_objective(cfg)
