"""Tests for ganforge.metrics.restoration and ganforge.sampling.tiles.

PSNR and SSIM are checked against hand computations and against torchmetrics' implementations
(a test-only dependency) on the same 8-bit Y levels; apply_tiled against running the function on
the whole image.
"""

from __future__ import annotations

import math
import sys

import pytest
import torch
from torch import nn
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

from ganforge.errors import ConfigError, DataError
from ganforge.metrics.restoration import (
    class_kept,
    cycle_error,
    l1,
    psnr,
    rgb_to_y,
    ssim,
    summarise,
)
from ganforge.sampling.tiles import apply_tiled, tile_count


def _from_levels(levels) -> torch.Tensor:
    """8-bit levels in [0, 255] -> the [-1, 1] images the metrics take."""
    return torch.as_tensor(levels, dtype=torch.float64) / 127.5 - 1.0


def _pair(n=3, c=3, h=24, w=20, noise=0.1, seed=0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    target = torch.rand(n, c, h, w, generator=g) * 2 - 1
    pred = (target + noise * torch.randn(n, c, h, w, generator=g)).clamp(-1, 1)
    return pred, target


def _levels_y(x: torch.Tensor) -> torch.Tensor:
    """The Y levels the protocol scores: quantised to 8 bits, then BT.601 luma (not rounded)."""
    return rgb_to_y(_from_levels(((x.double() + 1) * 127.5).round().clamp(0, 255)))


# ----------------------------------------------------------------------------------------------
# Metrics


def test_rgb_to_y_studio_range():
    white, black = torch.ones(1, 3, 2, 2), -torch.ones(1, 3, 2, 2)
    assert torch.allclose(rgb_to_y(white), torch.full((1, 1, 2, 2), 235.0, dtype=torch.float64))
    assert torch.allclose(rgb_to_y(black), torch.full((1, 1, 2, 2), 16.0, dtype=torch.float64))
    grey = torch.tensor([-1.0, 1.0]).view(1, 1, 1, 2)
    assert rgb_to_y(grey).flatten().tolist() == [0.0, 255.0]
    with pytest.raises(DataError):
        rgb_to_y(torch.zeros(1, 2, 4, 4))


def test_psnr_hand_computed_and_identical_is_inf():
    target = _from_levels(torch.zeros(1, 1, 2, 2))
    pred = _from_levels(torch.tensor([[[[255.0, 0.0], [0.0, 0.0]]]]))
    # MSE = 255^2 / 4 -> PSNR = 10 log10(4)
    assert psnr(pred, target).item() == pytest.approx(10 * math.log10(4), abs=1e-12)
    # RGB on Y: one pixel is pure red (Y = 16 + 65.481) against black (Y = 16)
    t = _from_levels(torch.zeros(1, 3, 2, 2))
    p = t.clone()
    p[0, 0, 0, 0] = 1.0
    expected = 10 * math.log10(255.0**2 / (65.481**2 / 4))
    assert psnr(p, t).item() == pytest.approx(expected, abs=1e-9)
    assert psnr(t, t).tolist() == [math.inf]
    assert psnr(p, t, data_range=1.0).item() == pytest.approx(expected - 20 * math.log10(255))


@pytest.mark.parametrize("y_channel", [True, False])
def test_psnr_matches_torchmetrics(y_channel):
    pred, target = _pair()
    ours = psnr(pred, target, y_channel=y_channel, border=2)
    if y_channel:
        p, t = _levels_y(pred), _levels_y(target)
    else:
        p, t = (((x.double() + 1) * 127.5).round() for x in (pred, target))
    p, t = p[..., 2:-2, 2:-2], t[..., 2:-2, 2:-2]
    ref = peak_signal_noise_ratio(p, t, data_range=255.0, reduction="none", dim=(1, 2, 3))
    # torchmetrics takes log(data_range) of a float32 tensor: ~1e-6 dB apart from float64.
    assert torch.allclose(ours, ref, atol=1e-5, rtol=0)


@pytest.mark.parametrize("y_channel", [True, False])
def test_ssim_matches_torchmetrics(y_channel):
    # Same SSIM map (Gaussian 11x11, sigma 1.5, population covariances, K1 0.01, K2 0.03), but a
    # different average: skimage (like the MATLAB code) averages the 'valid' positions where the
    # window fits, torchmetrics 1.9 the whole reflect-padded map. Cropping torchmetrics' full map
    # by the window radius (5) makes them agree to float64 round-off; uncropped they differ by
    # ~1e-3 on images this small (less on large ones, as the border's share shrinks).
    pred, target = _pair(n=2, h=32, w=27, noise=0.2, seed=1)
    ours = ssim(pred, target, y_channel=y_channel, border=1)
    if y_channel:
        p, t = _levels_y(pred), _levels_y(target)
    else:
        p, t = (((x.double() + 1) * 127.5).round() for x in (pred, target))
    p, t = p[..., 1:-1, 1:-1], t[..., 1:-1, 1:-1]
    whole, full = structural_similarity_index_measure(
        p,
        t,
        gaussian_kernel=True,
        sigma=1.5,
        kernel_size=11,
        data_range=255.0,
        reduction="none",
        return_full_image=True,
    )
    valid = full[..., 5:-5, 5:-5].flatten(1).mean(dim=1)
    assert ours.shape == (2,)
    assert torch.allclose(ours, valid, atol=1e-9, rtol=0), (ours, valid)
    assert torch.allclose(ours, whole, atol=1e-2, rtol=0)
    assert 0.0 < float(ours.min()) < 1.0
    assert ssim(target, target).tolist() == pytest.approx([1.0, 1.0], abs=1e-12)


def test_ssim_small_image_and_missing_skimage(monkeypatch):
    pred, target = _pair(h=12, w=12)
    with pytest.raises(DataError, match="11x11"):
        ssim(pred, target, border=1)
    monkeypatch.setitem(sys.modules, "skimage.metrics", None)
    with pytest.raises(ConfigError, match=r"pip install 'ganforge\[images\]'"):
        ssim(pred, target)


def test_border_crop_ignores_errors_in_the_border():
    target = torch.zeros(2, 3, 16, 16)
    pred = target.clone()
    pred[..., :2, :] = 0.5  # the error lives in the top two rows only
    pred[..., :, -1] = -0.5  # and in the last column
    assert torch.isfinite(psnr(pred, target)).all()
    assert psnr(pred, target, border=2).tolist() == [math.inf, math.inf]
    assert ssim(pred, target, border=2).tolist() == pytest.approx([1.0, 1.0])
    assert float(ssim(pred, target).max()) < 1.0
    with pytest.raises(DataError):
        psnr(pred, target, border=8)
    with pytest.raises(ConfigError):
        psnr(pred, target, border=-1)


def test_quantize_on_off():
    target = _from_levels(torch.randint(0, 256, (2, 3, 8, 8)))
    pred = target + 0.001  # 0.13 of a level: gone once saved as 8 bits
    assert psnr(pred, target).tolist() == [math.inf, math.inf]
    exact = psnr(pred, target, quantize=False, y_channel=False)
    # On all channels, except where +0.001 is clamped at level 255.
    levels = ((target + 1) * 127.5).clamp(0, 255)
    mse = (((pred + 1) * 127.5).clamp(0, 255) - levels).pow(2).flatten(1).mean(1)
    assert torch.allclose(exact, 10 * torch.log10(255.0**2 / mse))
    assert bool(torch.isfinite(exact).all())


def test_l1_cycle_error_class_kept():
    a = torch.zeros(2, 1, 2, 2)
    b = torch.tensor([0.5, -0.5]).view(2, 1, 1, 1).expand(2, 1, 2, 2).clone()
    b[1, 0, 0, 0] = 1.5
    assert l1(a, b).tolist() == pytest.approx([0.5, (0.5 * 3 + 1.5) / 4])
    assert cycle_error(a, b).tolist() == pytest.approx(l1(b, a).tolist())
    assert cycle_error(a, a).tolist() == [0.0, 0.0]
    assert class_kept(torch.tensor([1, 2, 3, 4]), [1, 2, 0, 4]) == 0.75
    with pytest.raises(DataError):
        class_kept(torch.tensor([0.1, 0.9]), torch.tensor([0, 1]))
    with pytest.raises(DataError):
        class_kept([1, 2], [1])
    with pytest.raises(DataError):
        l1(a, b[:1])


def test_summarise():
    s = summarise(torch.tensor([1.0, 2.0, 3.0]))
    assert s == {"mean": 2.0, "std": pytest.approx(math.sqrt(2 / 3)), "n": 3}
    assert summarise([30.0, math.inf])["mean"] == math.inf
    with pytest.raises(DataError):
        summarise([])


# ----------------------------------------------------------------------------------------------
# Tiled inference


def _conv_net(scale: int, seed: int = 0) -> nn.Module:
    """A fixed random fully convolutional net, receptive-field radius 2 input pixels."""
    torch.manual_seed(seed)
    layers = [nn.Conv2d(3, 8, 3, padding="same"), nn.Tanh(), nn.Conv2d(8, 4, 3, padding="same")]
    if scale > 1:
        layers.append(nn.Upsample(scale_factor=scale, mode="nearest"))
    return nn.Sequential(*layers).eval()


def test_tile_count():
    assert tile_count(1000, 700, tile=128, overlap=16) == 9 * 7 == 63
    assert tile_count(100, 50, tile=128, overlap=16) == 1
    assert tile_count(128, 129, tile=128, overlap=16) == 2
    with pytest.raises(ConfigError):
        tile_count(100, 100, tile=16, overlap=16)


@pytest.mark.parametrize("size", [(70, 45), (20, 25), (70, 20), (32, 32)])
@pytest.mark.parametrize("scale", [1, 2])
def test_apply_tiled_matches_whole_image(size, scale):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, *size, generator=g) * 2 - 1
    net = _conv_net(scale)
    with torch.no_grad():
        whole = net(x)
    # margin 3 >= the net's radius 2; overlap 12 leaves a 6-pixel cross-fade.
    tiled = apply_tiled(net, x, tile=32, overlap=12, margin=3, scale=scale, batch=3)
    assert tiled.shape == whole.shape
    assert torch.allclose(tiled, whole, atol=1e-5, rtol=0)
    if scale == 1:
        same = apply_tiled(lambda t: t, x, tile=32, overlap=12, batch=2)
        assert torch.allclose(same, x, atol=1e-6, rtol=0)


def test_apply_tiled_default_layout_progress_and_dtype():
    x = torch.rand(1, 3, 1000, 700, dtype=torch.float64) * 2 - 1
    calls = []
    out = apply_tiled(lambda t: t * 2, x, batch=8, progress=lambda d, n: calls.append((d, n)))
    assert out.dtype == torch.float64 and out.shape == x.shape
    assert torch.allclose(out, x * 2, atol=1e-12, rtol=0)
    assert calls[-1] == (63, 63) and len(calls) == math.ceil(63 / 8)


def test_apply_tiled_rejects_bad_fn_and_settings():
    x = torch.zeros(1, 3, 40, 40)
    with pytest.raises(DataError, match="scale=2"):
        apply_tiled(lambda t: t, x, tile=32, overlap=8, scale=2)
    with pytest.raises(ConfigError):
        apply_tiled(lambda t: t, x, tile=32, overlap=8, margin=4)
    with pytest.raises(ConfigError):
        apply_tiled(lambda t: t, x, tile=32, overlap=40)
