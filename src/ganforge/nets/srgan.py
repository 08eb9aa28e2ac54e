"""SRGAN's networks (Ledig et al. 2017, Fig. 4): the SRResNet generator and the VGG-style D.

SRResNet: a 9x9 stem, B residual blocks with batch norm, a long skip from the stem around all
of them, then log2(scale) sub-pixel up-sampling stages (conv to 4x the channels + PixelShuffle(2),
Shi et al. 2016: the up-sampling is learned at low resolution and has no checkerboard of
transposed convolutions) and a 9x9 head. Trained alone with MSE it is the paper's "SRResNet";
trained against `SRGANDiscriminator` with a VGG feature loss (`nets.vgg`) it is SRGAN.
`skip=True` adds the bicubic up-scaling of the input to the output, so the net learns only the
residual detail (global residual learning, VDSR, Kim et al. 2016), with the 9x9 head zeroed so
that training starts from bicubic exactly; not in the SRGAN paper, whose net must learn the
whole image, colour included, from its own output.

The discriminator is the paper's eight 3x3 convolutions (stride 2 every other one), then global
average pooling instead of the paper's flatten, so any crop size works (the paper's first dense
layer assumed 96x96 crops), then two dense layers to one logit.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ganforge.errors import ConfigError

SCALES = (2, 4, 8)


class _ResidualBlock(nn.Module):
    """x -> x + BN(conv(PReLU(BN(conv(x))))), the paper's "k3n64s1" block."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(ch, ch, 3, 1, 1, bias=False),  # bias cancelled by the batch norm's shift
            nn.BatchNorm2d(ch),
            nn.PReLU(ch),
            nn.Conv2d(ch, ch, 3, 1, 1, bias=False),
            nn.BatchNorm2d(ch),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SRResNet(nn.Module):
    """low-resolution images [N, C, h, w] in [-1, 1] -> [N, C, scale * h, scale * w].

    No output activation, as in the paper: outputs are nominally in [-1, 1] (the training
    targets' range) but can overshoot it; clamp when writing images. PReLUs have one slope per
    channel (He et al. 2015). `scale` is 2, 4 (the paper's) or 8. `skip`: output = bicubic(x)
    + the net's residual (see the module docstring).
    """

    def __init__(
        self, channels: int = 3, *, scale: int = 4, base: int = 64, blocks: int = 16,
        skip: bool = False,
    ) -> None:
        super().__init__()
        if scale not in SCALES:
            raise ConfigError(f"srresnet: scale must be one of {SCALES}, got {scale}")
        self.channels, self.scale, self.skip = channels, scale, skip
        self.head = nn.Sequential(nn.Conv2d(channels, base, 9, 1, 4), nn.PReLU(base))
        self.body = nn.Sequential(
            *[_ResidualBlock(base) for _ in range(blocks)],
            nn.Conv2d(base, base, 3, 1, 1, bias=False),
            nn.BatchNorm2d(base),
        )
        up: list[nn.Module] = []
        for _ in range(int(math.log2(scale))):
            up += [nn.Conv2d(base, 4 * base, 3, 1, 1), nn.PixelShuffle(2), nn.PReLU(base)]
        self.up = nn.Sequential(*up, nn.Conv2d(base, channels, 9, 1, 4))
        if skip:  # start at bicubic: the residual head outputs 0 until it learns something
            nn.init.zeros_(self.up[-1].weight)
            nn.init.zeros_(self.up[-1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)
        out = self.up(h + self.body(h))  # the long skip around all residual blocks
        if self.skip:
            out = out + nn.functional.interpolate(
                x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return out


class SRGANDiscriminator(nn.Module):
    """images [N, C, H, W] in [-1, 1] (any size, thanks to the pooling; the paper's crops are
    96x96) -> logits [N, 1].

    Convs k3 with channels base, base (s2), 2b, 2b (s2), 4b, 4b (s2), 8b, 8b (s2); LeakyReLU(0.2)
    after each, batch norm after all but the first (`norm="none"` drops it). `spectral_norm=True`
    wraps every conv and dense layer (Miyato et al. 2018), usually with norm="none".
    """

    def __init__(
        self, channels: int = 3, *, base: int = 64, norm: str = "batch", spectral_norm: bool = False
    ) -> None:
        super().__init__()
        if norm not in ("batch", "none"):
            raise ConfigError(f"srgan-d: norm must be 'batch' or 'none', got {norm!r}")

        def sn(layer: nn.Module) -> nn.Module:
            return nn.utils.parametrizations.spectral_norm(layer) if spectral_norm else layer

        layers: list[nn.Module] = []
        c_in = channels
        for i in range(8):
            c_out, stride = base * 2 ** (i // 2), 1 + i % 2
            normed = i > 0 and norm == "batch"
            layers.append(sn(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=not normed)))
            if normed:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2))
            c_in = c_out
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Sequential(
            sn(nn.Linear(c_in, 16 * base)), nn.LeakyReLU(0.2), sn(nn.Linear(16 * base, 1))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
