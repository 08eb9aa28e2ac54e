"""Image-to-image networks: U-Net, PatchGAN, ResNet generator, SRResNet, SRGAN D, the frozen VGG19
and their registry glue, at tiny sizes (shapes, ranges, gradients, errors, rebuild, weights)."""

import json

import pytest
import torch
from safetensors.torch import save_file

from ganforge.errors import CheckpointError, ConfigError, DataError
from ganforge.nets import vgg
from ganforge.nets.registry import rebuild
from ganforge.nets.resnet import ResnetGenerator
from ganforge.nets.srgan import SRGANDiscriminator, SRResNet
from ganforge.nets.translation import init_normal, make_net
from ganforge.nets.unet import PatchDiscriminator, UNetGenerator, patch_receptive_field
from ganforge.nets.vgg import VGG19Features, fetch_vgg19, load_vgg19


def _all_params_get_gradient(net, out):
    out.square().mean().backward()
    dead = [n for n, p in net.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not dead, f"no gradient reaches {dead}"


@pytest.mark.parametrize(
    "size, depth, expect",
    [(16, None, 4), (28, None, 2), (32, None, 5), (64, None, 6), (32, 3, 3), (28, 1, 1)],
)
def test_unet_keeps_the_size_stays_in_tanh_range_and_trains_every_weight(size, depth, expect):
    torch.manual_seed(0)
    g = UNetGenerator(3, 2, base=4, depth=depth, size=None if depth else size)
    assert g.depth == expect
    x = torch.rand(2, 3, size, size) * 2 - 1
    y = g(x)
    assert y.shape == (2, 2, size, size)
    assert y.abs().max() <= 1
    _all_params_get_gradient(g, y)


def test_unet_is_fully_convolutional_and_paper_sized_at_256():
    torch.manual_seed(0)
    g = UNetGenerator(1, 1, base=2, size=32, norm="batch")  # depth 5
    assert g(torch.zeros(2, 1, 64, 96)).shape == (2, 1, 64, 96)
    with torch.device("meta"):  # the layout only: no 54M weights to draw
        ref = UNetGenerator(3, 3, size=256)
    assert ref.depth == 8
    assert len(ref.down) == len(ref.up) == 8
    assert ref.down[-1][-1].out_channels == 512  # 64, 128, 256, 512, 512, 512, 512, 512
    # dropout in the innermost three decoder blocks only
    drops = [i for i, b in enumerate(ref.up) if any(isinstance(m, torch.nn.Dropout) for m in b)]
    assert drops == [5, 6, 7]


def test_unet_rejects_a_size_the_depth_does_not_divide_in_one_line():
    g = UNetGenerator(3, 3, base=2, depth=3)
    with pytest.raises(ConfigError) as e:
        g(torch.zeros(1, 3, 20, 16))
    msg = str(e.value)
    assert "\n" not in msg and "20x16" in msg and "depth=3" in msg
    with pytest.raises(ConfigError):
        UNetGenerator(3, 3)  # neither depth nor size
    with pytest.raises(ConfigError):
        UNetGenerator(3, 3, size=7)  # odd: no down-sampling step fits
    with pytest.raises(ConfigError):
        UNetGenerator(3, 3, depth=2, norm="layer")


def test_instance_norm_unet_differs_between_train_and_eval_only_through_dropout():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    g = UNetGenerator(3, 3, base=4, size=32, dropout=0.0)
    with torch.no_grad():
        assert torch.equal(g.train()(x), g.eval()(x))
    g = UNetGenerator(3, 3, base=4, size=32, dropout=0.5)
    with torch.no_grad():
        ev = g.eval()(x)
        assert torch.equal(ev, g.eval()(x))
        assert not torch.allclose(g.train()(x), ev)


@pytest.mark.parametrize(
    "n_layers, field, size, out", [(1, 16, 32, 14), (2, 34, 32, 6), (3, 70, 64, 6)]
)
def test_patchgan_logit_map_shape_and_receptive_field(n_layers, field, size, out):
    torch.manual_seed(0)
    d = PatchDiscriminator(4, base=4, n_layers=n_layers)
    assert patch_receptive_field(n_layers) == d.receptive_field == field
    y = d(torch.rand(2, 4, size, size) * 2 - 1)
    assert y.shape == (2, 1, out, out) == (2, 1, d.out_size(size), d.out_size(size))
    _all_params_get_gradient(d, y)
    # empirically: the input pixels one interior logit depends on span exactly the field
    # (no norm: instance norm would couple every pixel through its mean)
    d = PatchDiscriminator(1, base=2, n_layers=n_layers, norm="none").double()
    big = 2 * field + 32
    x = torch.randn(1, 1, big, big, dtype=torch.float64, requires_grad=True)
    y = d(x)
    c = y.shape[-1] // 2
    y[0, 0, c, c].backward()
    rows, cols = (x.grad[0, 0] != 0).nonzero(as_tuple=True)
    assert rows.max() - rows.min() + 1 == field
    assert cols.max() - cols.min() + 1 == field


def test_patchgan_too_small_input_and_spectral_norm():
    d = PatchDiscriminator(3, base=4, n_layers=3, norm="none", spectral_norm=True)
    assert d.min_size == 24
    with pytest.raises(ConfigError, match="below the minimum 24"):
        d(torch.zeros(1, 3, 16, 16))
    y = d(torch.zeros(1, 3, 24, 24))
    assert y.shape == (1, 1, 1, 1)
    _all_params_get_gradient(d, d(torch.randn(1, 3, 32, 32)))


@pytest.mark.parametrize("size, blocks", [(16, 2), (32, 6)])
def test_resnet_generator(size, blocks):
    torch.manual_seed(0)
    g = ResnetGenerator(3, 1, base=4, blocks=blocks)
    y = g(torch.rand(2, 3, size, size) * 2 - 1)
    assert y.shape == (2, 1, size, size)
    assert y.abs().max() <= 1
    _all_params_get_gradient(g, y)
    with pytest.raises(ConfigError, match="not divisible by 2\\*\\*n_down = 4"):
        g(torch.zeros(1, 3, 18, 16))


@pytest.mark.parametrize("scale", [2, 4])
@pytest.mark.parametrize("size", [8, 12])
def test_srresnet_upsamples_by_its_scale(scale, size):
    torch.manual_seed(0)
    g = SRResNet(3, scale=scale, base=8, blocks=2)
    y = g(torch.rand(2, 3, size, size) * 2 - 1)
    assert y.shape == (2, 3, scale * size, scale * size)
    _all_params_get_gradient(g, y)


def test_srresnet_skip_starts_at_bicubic_and_learns_the_residual():
    torch.manual_seed(0)
    g = SRResNet(3, scale=4, base=8, blocks=2, skip=True)
    x = torch.rand(2, 3, 10, 10) * 2 - 1
    y = g(x)
    bicubic = torch.nn.functional.interpolate(x, scale_factor=4, mode="bicubic",
                                              align_corners=False)
    assert torch.equal(y, bicubic)  # the zeroed head: exactly bicubic before any step
    y.pow(2).sum().backward()
    assert g.up[-1].weight.grad.abs().sum() > 0  # and the residual head learns from there


def test_sr_skip_is_refused_where_it_does_nothing():
    from ganforge.presets import preset_config

    for preset in ("pix2pix-edges2mnist", "dcgan-mnist"):
        with pytest.raises(ConfigError, match="model.sr_skip"):
            preset_config(preset, {"model.sr_skip": True})


def test_srresnet_rejects_other_scales():
    with pytest.raises(ConfigError, match="scale must be one of"):
        SRResNet(scale=3)


@pytest.mark.parametrize("size", [24, 48])
@pytest.mark.parametrize("sn", [False, True])
def test_srgan_discriminator_gives_one_logit_per_image_at_any_crop(size, sn):
    torch.manual_seed(0)
    d = SRGANDiscriminator(3, base=4, norm="none" if sn else "batch", spectral_norm=sn)
    y = d(torch.rand(3, 3, size, size) * 2 - 1)
    assert y.shape == (3, 1)
    _all_params_get_gradient(d, y)


ARCHS = [
    ("unet", {"in_ch": 3, "out_ch": 3, "base": 4, "size": 16, "dropout": 0.5}, (1, 3, 16, 16)),
    ("patchgan", {"in_ch": 6, "base": 4, "n_layers": 2, "spectral_norm": True}, (1, 6, 32, 32)),
    ("resnet", {"in_ch": 1, "out_ch": 3, "base": 4, "blocks": 2}, (1, 1, 16, 16)),
    ("srresnet", {"channels": 1, "scale": 2, "base": 8, "blocks": 1}, (1, 1, 8, 8)),
    ("srgan-d", {"channels": 3, "base": 4}, (2, 3, 24, 24)),
]


@pytest.mark.parametrize("kind, args, shape", ARCHS)
def test_rebuild_from_the_json_arch_gives_the_same_module(kind, args, shape):
    torch.manual_seed(0)
    net = make_net(kind, **args)
    if kind in ("unet", "patchgan", "resnet"):
        init_normal(net)
    arch = json.loads(json.dumps(net.arch))
    assert arch == {"kind": kind, "args": args}
    twin = rebuild(arch)
    assert type(twin) is type(net)
    twin.load_state_dict(net.state_dict())
    x = torch.rand(shape) * 2 - 1
    net.eval(), twin.eval()
    with torch.no_grad():
        assert torch.equal(net(x), twin(x))


def test_make_net_names_bad_kinds_and_keywords():
    with pytest.raises(ConfigError, match="choose from unet, patchgan"):
        make_net("unet_256", in_ch=3, out_ch=3)
    with pytest.raises(ConfigError, match="blokcs"):
        make_net("resnet", in_ch=3, out_ch=3, blokcs=3)


def test_init_normal_draws_the_pix2pix_init():
    torch.manual_seed(0)
    net = init_normal(make_net("unet", in_ch=3, out_ch=3, base=16, size=32, norm="batch"))
    convs = [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    w = torch.cat([m.weight.flatten() for m in convs])
    assert abs(w.mean()) < 2e-3 and abs(w.std() - 0.02) < 2e-3
    assert all(m.bias is None or not m.bias.any() for m in convs)
    bn = torch.cat([m.weight for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)])
    assert abs(bn.mean() - 1) < 0.01


# ---- VGG19 ----------------------------------------------------------------------------------


def test_vgg19_has_torchvisions_key_layout():
    with torch.device("meta"):
        net = VGG19Features("relu5_4")
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert len(net.features) == 36  # features.0 .. features.35
    assert shapes["features.34.weight"] == (512, 512, 3, 3)
    assert shapes["features.0.weight"] == (64, 3, 3, 3)
    assert shapes["features.28.weight"] == (512, 512, 3, 3)  # conv5_1 follows pool4 at 27
    assert len(shapes) == 32  # 16 convs, weight and bias: mean/std are not saved
    assert len(VGG19Features("relu2_2").features) == 9
    with pytest.raises(ConfigError, match="unknown layer"):
        VGG19Features("relu6_1")


@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory):
    """The first stages of a random VGG19, saved in the pre-zip format of torchvision's 2017 file,
    with a classifier key to ignore (the whole net would be an 80 MB file to write and hash)."""
    torch.manual_seed(0)
    state = VGG19Features("relu2_2").state_dict()
    state["classifier.0.weight"] = torch.zeros(2, 2)
    path = tmp_path_factory.mktemp("vgg") / "vgg19.pth"
    torch.save(state, path, _use_new_zipfile_serialization=False)
    return path, state


def test_load_vgg19_checks_the_file_and_returns_a_frozen_net(vgg_file, tmp_path):
    from ganforge.data.download import file_digest

    path, state = vgg_file
    digest = file_digest(path, "sha256")
    net = load_vgg19(path, layer="relu2_2", expected_sha256=digest)
    assert not net.training and not any(p.requires_grad for p in net.parameters())
    assert torch.equal(net.features[7].weight, state["features.7.weight"])
    x = torch.rand(2, 1, 16, 16, requires_grad=True)  # grey: repeated to RGB
    f = net(x * 2 - 1)
    assert f.shape == (2, 128, 8, 8) and f.min() >= 0
    f.sum().backward()
    assert x.grad.abs().sum() > 0  # the loss's gradient reaches the images, not VGG

    with pytest.raises(CheckpointError) as e:  # the default digest is torchvision's file's
        load_vgg19(path)
    assert "\n" not in str(e.value) and str(path) in str(e.value) and "sha256" in str(e.value)
    with pytest.raises(CheckpointError, match="cannot read"):
        load_vgg19(tmp_path / "absent.pth")
    with pytest.raises(CheckpointError, match="no VGG19 weights for features.10.weight"):
        load_vgg19(path, layer="relu5_4", expected_sha256=digest)

    st = tmp_path / "vgg19.safetensors"
    save_file({k: v for k, v in state.items() if k.startswith("features.")}, str(st))
    with pytest.raises(CheckpointError, match="expected_sha256"):
        load_vgg19(st)
    net = load_vgg19(st, layer="conv1_1", expected_sha256=file_digest(st, "sha256"))
    assert torch.equal(net.features[0].bias, state["features.0.bias"])


def test_load_vgg19_rejects_a_file_without_the_features(tmp_path):
    from ganforge.data.download import file_digest

    path = tmp_path / "other.pth"
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3)}, path)
    with pytest.raises(CheckpointError, match="no VGG19 weights for features.0.bias"):
        load_vgg19(path, expected_sha256=file_digest(path, "sha256"))


def test_fetch_vgg19_offline_and_from_a_file_url(vgg_file, tmp_path, monkeypatch):
    from ganforge.data.download import file_digest

    with pytest.raises(DataError, match="download https://download.pytorch.org/models/vgg19"):
        fetch_vgg19(tmp_path / "none", download=False)
    path, _ = vgg_file
    monkeypatch.setattr(vgg, "VGG19_URL", path.as_uri())
    monkeypatch.setattr(vgg, "VGG19_SHA256", file_digest(path, "sha256"))
    dest = tmp_path / "cache"
    dest.mkdir()
    (dest / vgg.VGG19_FILE).write_bytes(b"truncated")  # a corrupt earlier download is replaced
    got = fetch_vgg19(dest)
    assert got == dest / vgg.VGG19_FILE and file_digest(got, "sha256") == vgg.VGG19_SHA256
    assert fetch_vgg19(dest, download=False) == got
    monkeypatch.setattr(vgg, "VGG19_SHA256", "0" * 64)
    got.unlink()
    with pytest.raises(DataError, match="has sha256"):
        fetch_vgg19(dest)
    assert not got.exists()
