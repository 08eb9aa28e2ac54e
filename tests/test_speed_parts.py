"""The parts that make a step cheaper keep the math: LeanAdam updates bit-identically to torch's
fused Adam and shares its state dict, the sigmoid-form tanh matches tanh and its gradient,
channels-last networks compute what contiguous ones do and load the same state dicts, and a
training run never imports torch._dynamo (2.3 s of start-up)."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import torch
from torch import nn

from ganforge.nets.activations import Tanh
from ganforge.training.optim import LeanAdam
from ganforge.training.placement import place

from .conftest import SHARED_MNIST as MNIST_DIR


def _mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 3))


@pytest.mark.parametrize("wd", [0.0, 1e-2])
def test_lean_adam_is_bit_identical_to_torch_fused_adam(wd):
    a_net, b_net = _mlp(), _mlp()
    a = LeanAdam(a_net.parameters(), lr=1e-3, betas=(0.5, 0.99), weight_decay=wd, fused=True)
    b = torch.optim.Adam(b_net.parameters(), lr=1e-3, betas=(0.5, 0.99), weight_decay=wd, fused=True)
    gen = torch.Generator().manual_seed(1)
    for i in range(25):
        x = torch.randn(16, 10, generator=gen)
        for net, opt in ((a_net, a), (b_net, b)):
            opt.param_groups[0]["lr"] = 1e-3 * (1 - i / 50)  # the trainer's schedules do this
            opt.zero_grad()
            net(x).pow(2).mean().backward()
            opt.step()
        if i == 10:  # a resume in the middle: torch's state dict into LeanAdam and back
            a.load_state_dict(copy.deepcopy(b.state_dict()))
            b.load_state_dict(copy.deepcopy(a.state_dict()))
    for p, q in zip(a_net.parameters(), b_net.parameters()):
        assert torch.equal(p, q)
    sa, sb = a.state_dict()["state"], b.state_dict()["state"]
    for k in sb:
        for key in sb[k]:
            assert torch.equal(sa[k][key], sb[k][key]) and sa[k][key].dtype == sb[k][key].dtype


def test_lean_adam_falls_back_to_torch_for_what_it_does_not_cover():
    net, ref = _mlp(), _mlp()
    a = LeanAdam(net.parameters(), lr=1e-2, amsgrad=True, fused=True)
    b = torch.optim.Adam(ref.parameters(), lr=1e-2, amsgrad=True, fused=True)
    for _ in range(5):
        for n, o in ((net, a), (ref, b)):
            o.zero_grad()
            n(torch.ones(4, 10)).sum().backward()
            o.step()
    assert a._lists is None  # AMSGrad: torch's step every time
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), ref.parameters()))


def test_sigmoid_form_tanh_matches_tanh_and_its_gradient():
    x = torch.linspace(-12, 12, 20001, requires_grad=True)
    y = Tanh()(x)
    assert (y - torch.tanh(x)).abs().max() < 3e-7
    assert y.min() >= -1 and y.max() <= 1
    (g,) = torch.autograd.grad(y.sum(), x)
    expected = 1 - torch.tanh(x.detach()).pow(2)
    assert (g - expected).abs().max() < 1e-6
    xd = torch.randn(6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(Tanh(), (xd,))


def test_channels_last_placement_computes_the_same_and_loads_the_same_state():
    from ganforge.nets.dcgan import DCGANDiscriminator, DCGANGenerator

    torch.manual_seed(0)
    g = DCGANGenerator(16, (1, 28, 28), base=8)
    d = DCGANDiscriminator((1, 28, 28), base=8)
    g2, d2 = place(copy.deepcopy(g), torch.device("cpu")), place(copy.deepcopy(d), torch.device("cpu"))
    conv = next(m for m in g2.modules() if isinstance(m, nn.ConvTranspose2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    z = torch.randn(8, 16)
    assert torch.allclose(g(z), g2(z), atol=1e-5)
    x = g(z).detach()
    assert torch.allclose(d(x), d2(x), atol=1e-5)
    fresh = DCGANGenerator(16, (1, 28, 28), base=8)
    fresh.load_state_dict(g2.state_dict())  # checkpoints do not care about the layout
    assert all(torch.equal(p, q) for p, q in zip(fresh.parameters(), g.parameters()))
    mlp = place(_mlp(), torch.device("cpu"))  # no convolutions: left as it is
    assert mlp[0].weight.is_contiguous()


@pytest.mark.skipif(not MNIST_DIR.is_dir(), reason="needs ../shared/data/mnist")
def test_a_training_run_never_imports_torch_dynamo(tmp_path):
    code = (
        "import sys\n"
        "from ganforge.cli import main\n"
        f"rc = main(['train', '--preset', 'seed-mlp-mnist', '--steps', '20', '--data-dir', "
        f"{str(MNIST_DIR)!r}, '--out', {str(tmp_path / 'run')!r}, '--quiet', '--set', "
        "'train.checkpoint_every=10', '--set', 'train.tick=10'])\n"
        "print('dynamo' if 'torch._dynamo' in sys.modules else 'lean', rc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         check=False)
    assert out.stdout.split()[-2:] == ["lean", "0"], out.stdout + out.stderr


def test_device_dataset_draws_bit_identical_batches_from_uint8_levels():
    from ganforge.data.base import DataSpec, TensorDataset
    from ganforge.data.device import DeviceDataset, as_levels

    u = torch.randint(0, 256, (500, 1, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    host = TensorDataset(u.float() / 127.5 - 1, torch.arange(500) % 10, DataSpec("t", "image", (1, 8, 8), 10))
    dev = DeviceDataset(host, torch.device("cpu"))
    assert dev.uint8 and dev.x.dtype == torch.uint8
    a, b = host.sample(64, torch.Generator().manual_seed(3)), dev.sample(64, torch.Generator().manual_seed(3))
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert as_levels(host.x + 1e-3) is None  # not 8-bit data: kept as float32
    assert as_levels(torch.rand(10, 2) * 9) is None


def test_lean_adam_resumed_from_a_state_dict_steps_channels_last_weights_exactly():
    """A checkpoint stores Adam's moments contiguous; loaded beside channels-last weights they
    must take the weights' layout, or the fused kernel pairs elements with other moments."""
    torch.manual_seed(0)
    net = place(nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 4, 3)), torch.device("cpu"))
    x = torch.randn(2, 3, 8, 8).to(memory_format=torch.channels_last)
    opt = LeanAdam(net.parameters(), lr=1e-2, fused=True)
    for _ in range(2):
        opt.zero_grad()
        net(x).square().mean().backward()
        opt.step()
    saved = {k: v.contiguous() if isinstance(v, torch.Tensor) else v
             for k, v in copy.deepcopy(opt.state_dict()).items()}
    saved["state"] = {i: {k: v.contiguous() for k, v in s.items()} for i, s in saved["state"].items()}
    twin = copy.deepcopy(net)
    opt2 = LeanAdam(twin.parameters(), lr=1e-2, fused=True)
    opt2.load_state_dict(saved)
    for n, o in ((net, opt), (twin, opt2)):
        o.zero_grad()
        n(x).square().mean().backward()
        o.step()
    for a, b in zip(net.parameters(), twin.parameters()):
        assert torch.equal(a, b)
