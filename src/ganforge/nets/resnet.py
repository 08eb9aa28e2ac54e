"""The ResNet image-to-image generator (Johnson et al. 2016), as CycleGAN uses it (Zhu et al. 2017,
appendix 7.2: "c7s1-64, d128, d256, R256 x 9, u128, u64, c7s1-3").

A 7x7 stem, `n_down` stride-2 3x3 convolutions, `blocks` residual blocks at the lowest
resolution, `n_down` stride-2 transposed convolutions back, a 7x7 head and Tanh. Reflection
padding on the 7x7 and residual convolutions (the CycleGAN reference's choice) avoids the border
artefacts zero padding leaves. Unlike the U-Net, nothing bypasses the bottleneck,
which suits translations that change appearance more than layout (horse <-> zebra).
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.nets.activations import Tanh
from ganforge.nets.unet import norm_layer


class ResnetBlock(nn.Module):
    """x [N, C, H, W] -> x + F(x), F = pad-conv3x3-norm-ReLU-pad-conv3x3-norm (no ReLU after the
    sum, as in the CycleGAN reference)."""

    def __init__(self, ch: int, *, norm: str = "instance") -> None:
        super().__init__()
        bias = norm == "none"  # a norm's shift would cancel the bias
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(ch, ch, 3, bias=bias),
            norm_layer(norm, ch),
            nn.ReLU(),
            nn.ReflectionPad2d(1),
            nn.Conv2d(ch, ch, 3, bias=bias),
            norm_layer(norm, ch),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """images [N, in_ch, H, W] in [-1, 1] -> images [N, out_ch, H, W] in [-1, 1].

    H and W must be divisible by 2**n_down (ConfigError otherwise); the reference CycleGAN net is
    base=64, blocks=9, n_down=2 (256x256 images; 6 blocks for 128x128).
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        *,
        base: int = 64,
        blocks: int = 9,
        n_down: int = 2,
        norm: str = "instance",
    ) -> None:
        super().__init__()
        norm_layer(norm, 1)  # validates the name
        if n_down < 0 or blocks < 0:
            raise ConfigError(f"resnet: blocks and n_down must be >= 0, got {blocks}, {n_down}")
        self.n_down, self.in_ch, self.out_ch = n_down, in_ch, out_ch
        bias = norm == "none"
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_ch, base, 7, bias=bias),
            norm_layer(norm, base),
            nn.ReLU(),
        ]
        ch = base
        for _ in range(n_down):
            layers += [
                nn.Conv2d(ch, 2 * ch, 3, 2, 1, bias=bias),
                norm_layer(norm, 2 * ch),
                nn.ReLU(),
            ]
            ch *= 2
        layers += [ResnetBlock(ch, norm=norm) for _ in range(blocks)]
        for _ in range(n_down):
            layers += [
                # output_padding=1 makes the size exactly double (3x3, stride 2, padding 1)
                nn.ConvTranspose2d(ch, ch // 2, 3, 2, 1, output_padding=1, bias=bias),
                norm_layer(norm, ch // 2),
                nn.ReLU(),
            ]
            ch //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ch, out_ch, 7), Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        step = 2**self.n_down
        if h % step or w % step:
            raise ConfigError(
                f"resnet: input size {h}x{w} is not divisible by 2**n_down = {step} "
                f"(n_down={self.n_down})"
            )
        return self.body(x)
