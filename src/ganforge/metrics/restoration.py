"""Image-restoration and image-to-image metrics: PSNR, SSIM, L1, cycle error, class kept.

Pure functions on images as torch tensors [N, C, H, W] (C = 1 or 3) in [-1, 1], the generator's
output range. Per-image scores come back as float64 tensors [N] on the CPU; `summarise` turns them
into plain Python numbers for a report.

The super-resolution protocol (Ledig et al. 2017, "Photo-Realistic Single Image Super-Resolution
Using a Generative Adversarial Network" (SRGAN); Lim et al. 2017, "Enhanced Deep Residual Networks
for Single Image Super-Resolution" (EDSR)) scores the saved 8-bit images on the luma (Y) of
ITU-R BT.601 YCbCr in the studio range [16, 235], after cropping `scale` pixels from each side.
`psnr` and `ssim` do the same by default: both images are first quantised to 8-bit levels
(round((x + 1) * 127.5), clamped to [0, 255]), then turned into Y (not rounded again, as in the
widely used BasicSR / EDSR Python evaluation), then cropped. Pass `border=scale` for the SR crop.

Papers:
    PSNR: the usual peak signal-to-noise ratio, 10 log10(peak^2 / MSE).
    SSIM: Wang et al. 2004, "Image Quality Assessment: From Error Visibility to Structural
        Similarity" (11x11 Gaussian window, sigma 1.5, K1 = 0.01, K2 = 0.03).
    Cycle error: Zhu et al. 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent
        Adversarial Networks" (CycleGAN), the L1 cycle-consistency term.
    Class kept: the classifier analogue of the FCN-score of Isola et al. 2017, "Image-to-Image
        Translation with Conditional Adversarial Networks" (pix2pix).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ganforge.errors import ConfigError, DataError

# ITU-R BT.601 luma weights for R, G, B in [0, 1] -> Y in [16, 235] (MATLAB's rgb2ycbcr).
Y_WEIGHTS = (65.481, 128.553, 24.966)
Y_OFFSET = 16.0

# skimage's window for gaussian_weights=True, sigma=1.5: 2 * int(3.5 * 1.5 + 0.5) + 1 = 11 pixels.
SSIM_WINDOW = 11


def _images(x, name: str) -> torch.Tensor:
    """`x` as a finite float64 CPU tensor [N, C, H, W] with C in {1, 3}, or a one-line DataError."""
    t = x.detach() if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    if t.ndim != 4 or t.shape[1] not in (1, 3) or t.shape[0] == 0:
        raise DataError(
            f"{name}: expected images [N, C, H, W] with N >= 1, C 1 or 3, "
            f"got shape {tuple(t.shape)}"
        )
    t = t.to(device="cpu", dtype=torch.float64)
    if not bool(torch.isfinite(t).all()):
        raise DataError(f"{name}: contains NaN or infinite values")
    return t


def _pair(pred, target) -> tuple[torch.Tensor, torch.Tensor]:
    p, t = _images(pred, "pred"), _images(target, "target")
    if p.shape != t.shape:
        raise DataError(f"pred, target: shapes differ ({tuple(p.shape)} vs {tuple(t.shape)})")
    return p, t


def _levels(x: torch.Tensor, quantize: bool) -> torch.Tensor:
    """[-1, 1] -> [0, 255] levels, clamped as a saved image would be; rounded when `quantize`."""
    v = ((x + 1.0) * 127.5).clamp(0.0, 255.0)
    return v.round() if quantize else v


def _y_of_levels(v: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] levels in [0, 255] -> [N, 1, H, W]: BT.601 Y in [16, 235], or the grey level."""
    if v.shape[1] == 1:
        return v
    w = torch.tensor(Y_WEIGHTS, dtype=v.dtype, device=v.device).view(1, 3, 1, 1)
    return Y_OFFSET + (v * w).sum(dim=1, keepdim=True) / 255.0


def _prepare(pred, target, *, y_channel: bool, border: int, quantize: bool, min_size: int = 1):
    """Both images as float64 levels (Y or all channels), `border` pixels cropped from each side."""
    p, t = _pair(pred, target)
    if isinstance(border, bool) or not isinstance(border, int) or border < 0:
        raise ConfigError(f"border={border!r}: must be an integer >= 0")
    h, w = p.shape[-2] - 2 * border, p.shape[-1] - 2 * border
    if min(h, w) < min_size:
        raise DataError(
            f"border={border}: leaves {h}x{w} of the {p.shape[-2]}x{p.shape[-1]} "
            f"images, need at least {min_size}x{min_size}"
        )
    p, t = _levels(p, quantize), _levels(t, quantize)
    if y_channel:
        p, t = _y_of_levels(p), _y_of_levels(t)
    if border:
        p, t = p[..., border:-border, border:-border], t[..., border:-border, border:-border]
    return p, t


def rgb_to_y(x) -> torch.Tensor:
    """Luma of ITU-R BT.601 in the 8-bit studio range, as super-resolution papers evaluate it.

        Y = 16 + 65.481 R + 128.553 G + 24.966 B,   R, G, B = (x + 1) / 2 in [0, 1]

    (MATLAB's `rgb2ycbcr`, times 255), so white -> 235 and black -> 16. A 1-channel image is taken
    as grey and returned as its level (x + 1) * 127.5 in [0, 255].

    x: [N, C, H, W] in [-1, 1], C = 1 or 3. Returns [N, 1, H, W] float64 on the CPU; neither
    clamped nor rounded (`psnr` and `ssim` quantise before converting).
    """
    t = _images(x, "x")
    return _y_of_levels((t + 1.0) * 127.5)


def psnr(
    pred,
    target,
    *,
    y_channel: bool = True,
    border: int = 0,
    data_range: float = 255.0,
    quantize: bool = True,
) -> torch.Tensor:
    """Peak signal-to-noise ratio per image, in dB, by the SR protocol (Ledig / Lim et al. 2017).

        PSNR = 10 log10(data_range^2 / MSE),   MSE = mean over the (cropped) pixels and channels

    pred, target: [N, C, H, W] in [-1, 1], same shape. Both are mapped to 8-bit levels
    (rounded to integers when `quantize`, as saved images are), then to Y (`y_channel`, the
    default; all channels otherwise), then `border` pixels are cut from each side (use the SR
    scale factor). data_range is the peak, 255 for 8-bit levels even on Y (the papers' choice).

    Returns float64 [N]; +inf where the two (quantised, cropped) images are identical.
    """
    if not data_range > 0:
        raise ConfigError(f"data_range={data_range!r}: must be > 0")
    p, t = _prepare(pred, target, y_channel=y_channel, border=border, quantize=quantize)
    mse = (p - t).pow(2).flatten(1).mean(dim=1)
    # data_range^2 / 0 = inf and log10(inf) = inf: identical images give +inf without a branch.
    return 10.0 * torch.log10(float(data_range) ** 2 / mse)


def ssim(
    pred,
    target,
    *,
    y_channel: bool = True,
    border: int = 0,
    quantize: bool = True,
) -> torch.Tensor:
    """Structural similarity per image (Wang et al. 2004), by the SR protocol.

        SSIM(x, y) = mean over windows of
                     (2 mu_x mu_y + C1)(2 s_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2))
        C1 = (0.01 L)^2, C2 = (0.03 L)^2, L = 255

    computed by `skimage.metrics.structural_similarity` with the settings of the paper's MATLAB
    code that SR papers reuse: 11x11 Gaussian window of sigma 1.5 (gaussian_weights=True),
    population (not sample) covariances, data_range 255, in float64, averaging the map over the
    positions where the whole window fits (MATLAB's 'valid' filtering). With `y_channel=False` the
    channels are scored separately and averaged.

    pred, target: [N, C, H, W] in [-1, 1], same shape; quantised, converted and cropped as in
    `psnr`. The cropped images must be at least 11x11. Returns float64 [N] in [-1, 1] (1 for
    identical images). Needs scikit-image (`pip install 'ganforge[images]'`).
    """
    try:
        from skimage.metrics import structural_similarity
    except ImportError as e:  # optional dependency: a one-line hint instead of a traceback
        raise ConfigError("ssim needs scikit-image: pip install 'ganforge[images]'") from e
    p, t = _prepare(
        pred, target, y_channel=y_channel, border=border, quantize=quantize, min_size=SSIM_WINDOW
    )
    p, t = p.numpy(), t.numpy()
    out = [
        structural_similarity(
            a,
            b,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=255.0,
            channel_axis=0,
        )
        for a, b in zip(p, t)
    ]
    return torch.tensor(out, dtype=torch.float64)


def l1(pred, target) -> torch.Tensor:
    """Mean absolute error per image, mean |pred - target| over C, H, W.

    pred, target: [N, C, H, W] in [-1, 1], same shape (no quantisation). Returns float64 [N] in
    [-1, 1] units, so in [0, 2].
    """
    p, t = _pair(pred, target)
    return (p - t).abs().flatten(1).mean(dim=1)


def cycle_error(x, x_rec) -> torch.Tensor:
    """Cycle-consistency error per image, mean |F(G(x)) - x| (Zhu et al. 2017, CycleGAN).

    x: [N, C, H, W] the source images in [-1, 1]; x_rec: F(G(x)), their round trip through both
    generators, same shape. Returns float64 [N] in [0, 2], 0 for a perfect reconstruction. This is
    the per-image value of CycleGAN's L1 cycle loss (without its weight lambda).
    """
    return l1(x_rec, x)


def class_kept(pred_labels, true_labels) -> float:
    """Share of translated images whose class survives the translation.

        class_kept = 1 / N * sum_i 1[c(G(x_i)) = y_i]

    pred_labels: [N] integer classes of the outputs G(x_i), as read by a classifier trained on
    the target domain; true_labels: [N] the source images' classes y_i. A task-level check that
    the translation keeps the content (pix2pix's FCN-score, for classes). Returns a float in
    [0, 1].
    """
    p, t = (
        (v.detach().cpu() if isinstance(v, torch.Tensor) else torch.as_tensor(np.asarray(v)))
        for v in (pred_labels, true_labels)
    )
    for name, v in (("pred_labels", p), ("true_labels", t)):
        if v.ndim != 1 or v.dtype.is_floating_point or v.dtype == torch.bool:
            raise DataError(
                f"{name}: expected a 1-D integer array [N] of class labels, "
                f"got shape {tuple(v.shape)} dtype {v.dtype}"
            )
    if p.shape != t.shape or p.shape[0] == 0:
        raise DataError(
            f"pred_labels, true_labels: need equal, non-zero lengths ({p.shape[0]} vs {t.shape[0]})"
        )
    return float((p == t).double().mean())


def summarise(values) -> dict:
    """Mean, standard deviation (ddof=0) and count of per-image scores, as plain Python numbers.

    values: [N] tensor or sequence, N >= 1. Returns {"mean": float, "std": float, "n": int}. An
    infinite value (PSNR of an identical pair) makes the mean inf and the std nan, on purpose:
    averaging it away would hide it.
    """
    v = values.detach().cpu() if isinstance(values, torch.Tensor) else torch.as_tensor(values)
    v = v.to(torch.float64).reshape(-1)
    if v.numel() == 0:
        raise DataError("values: empty, nothing to summarise")
    mean = float(v.mean())
    std = float(v.std(correction=0)) if math.isfinite(mean) else math.nan
    return {"mean": mean, "std": std, "n": int(v.numel())}
