"""The classic articles' recipe as options of the MLP nets (`model.pixels=unit`,
`model.init=xavier`): the nets must compute exactly what the articles' code computes (a sigmoid G
on pixels in [0, 1] that D reads in [0, 1]) while the rest of ganforge sees [-1, 1]."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganforge.config import Config, apply_overrides
from ganforge.data.base import DataSpec
from ganforge.errors import ConfigError
from ganforge.nets import build_generator, build_nets, init_weights
from ganforge.presets import preset_config

SPEC = DataSpec("mnist", "image", (1, 28, 28), 10, identity="test")


def _nets(**model):
    cfg = preset_config("seed-mlp-mnist", {f"model.{k}": v for k, v in model.items()})
    torch.manual_seed(0)
    return build_nets(cfg.model, SPEC)


def test_unit_pixels_match_the_articles_sigmoid_nets_value_and_gradient():
    g, d = _nets(pixels="unit")
    d = getattr(d, "inner", d)  # no remedies in this preset: d is the MLP itself
    # the articles' nets with the same weights: sigmoid G, D on [0, 1]
    g_ref = nn.Sequential(nn.Linear(100, 128), nn.ReLU(), nn.Linear(128, 784), nn.Sigmoid())
    d_ref = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 1))
    g_ref[0].load_state_dict(g.body[0].state_dict())
    g_ref[2].load_state_dict(g.out.state_dict())
    d_ref[0].load_state_dict(d.body[0].state_dict())
    d_ref[2].load_state_dict(d.out.state_dict())
    z = torch.rand(16, 100) * 2 - 1
    x8 = torch.randint(0, 256, (16, 784))
    fake = g(z)
    assert fake.shape == (16, 1, 28, 28) and fake.min() >= -1 and fake.max() <= 1
    torch.testing.assert_close((fake.flatten(1) + 1) / 2, g_ref(z), atol=1e-6, rtol=0)
    # D's loss on (real, fake) and its gradients in every parameter, both nets
    real = (x8.float() / 127.5 - 1).view(16, 1, 28, 28)  # ganforge's pixels
    loss = F.softplus(-d(real)).mean() + F.softplus(d(fake)).mean() + F.softplus(-d(g(z))).mean()
    ref = (F.softplus(-d_ref(x8.float() / 255)).mean() + F.softplus(d_ref(g_ref(z))).mean()
           + F.softplus(-d_ref(g_ref(z))).mean())
    torch.testing.assert_close(loss, ref, atol=1e-5, rtol=1e-5)
    mine = torch.autograd.grad(loss, [*g.parameters(), *d.parameters()])
    theirs = torch.autograd.grad(ref, [*g_ref.parameters(), *d_ref.parameters()])
    for a, b in zip(mine, theirs, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_unit_pixels_rebuild_from_the_arch_record_and_old_records_stay_tanh():
    g, _ = _nets(pixels="unit")
    again = build_generator(g.arch["args"])
    again.load_state_dict(g.state_dict())
    z = torch.randn(4, 100)
    torch.testing.assert_close(again(z), g(z))
    old, _ = _nets(pixels="signed")
    assert "unit" not in old.arch["args"]  # the signed default records nothing new
    assert isinstance(old.out_act, type(build_generator(old.arch["args"]).out_act))


def test_xavier_init_is_the_articles_normal_with_zero_biases():
    net = nn.Sequential(nn.Linear(784, 512), nn.Conv2d(64, 32, 3))
    torch.manual_seed(0)
    init_weights(net, "xavier")
    lin, conv = net
    assert lin.bias.abs().max() == 0 and conv.bias.abs().max() == 0
    # N(0, 2 / fan_in): sample std within 2% of sqrt(2/784) and sqrt(2/(64*9))
    assert abs(float(lin.weight.detach().std()) / math.sqrt(2 / 784) - 1) < 0.02
    assert abs(float(conv.weight.detach().std()) / math.sqrt(2 / 576) - 1) < 0.02


def test_unit_pixels_are_refused_outside_the_mlp_image_nets():
    with pytest.raises(ConfigError, match="model.pixels=unit"):
        apply_overrides(Config(), {"model.arch": "dcgan", "model.pixels": "unit",
                           "data.dataset": "mnist"})
    with pytest.raises(ConfigError, match="model.pixels"):
        apply_overrides(Config(), {"model.pixels": "zero-one"})
    cfg = preset_config("ring8", {"model.pixels": "unit"})
    with pytest.raises(ConfigError, match="needs image data"):
        build_nets(cfg.model, DataSpec("ring8", "points", (2,), 0, identity="t"))
