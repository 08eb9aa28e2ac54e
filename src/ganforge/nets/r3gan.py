"""R3GAN-style generator and discriminator (Huang et al. 2024, "The GAN is dead; long live the GAN!
A Modern GAN Baseline": a StyleGAN2-like backbone modernised and stripped of its tricks).

Both networks are stacks of resolution stages with **no normalisation layer** anywhere:
- a stage holds `blocks` residual blocks x + W3 act(W2 act(W1 x)) (an inverted bottleneck, as in
  ConvNeXt / MobileNetV2): W1 a 1x1 convolution expanding the width by EXPANSION = 2, W2 a 3x3
  convolution in groups of GROUP = 16 channels (ResNeXt's cardinality), W3 a 1x1 convolution back,
  act = LeakyReLU(0.2) with a learned bias (the bias of the convolution before it);
- between stages a transition changes width and resolution: G applies a 1x1 convolution and then
  bilinear upsampling by 2; D downsamples by 2 (bilinear at scale 1/2, the mean of each 2x2 block)
  and then applies a 1x1 convolution. The transitions carry no non-linearity, so the trunk of
  either network is linear and every non-linearity sits in a residual branch;
- G starts from a learned s0 x s0 basis (one map per channel) scaled channel-wise by a linear
  function of z; D ends with the mirror image, a learned s0 x s0 depthwise convolution that
  reduces each channel's map to one number, then a linear layer to the logit.

Fix-up initialisation (Zhang et al. 2019, "Fixup initialization"; as in R3GAN): every layer is
drawn N(0, gain^2 / fan_in) (variance-preserving for its activation, gain = sqrt(2 / (1 + 0.2^2))
before a leaky ReLU, He et al. 2015), the layers inside residual branches additionally scaled by
L^(-1/(2m - 2)) with L the network's number of residual blocks and m = 3 layers per branch, and
the last convolution of every branch starts at zero, so each block starts as the identity and the
output's variance does not grow with depth, with no normalisation to hold it.

Sizes s0 * 2^n with s0 in 4..7 and n >= 1, as `nets.dcgan`: 28 (7 * 4), 32 (4 * 8), 64 (4 * 16)
and the 8x8 digits (4 * 2); any number of channels. Stage widths halve towards the full
resolution from at most 4 x `base` (`model.base_channels`) at s0 x s0 down to `base`; `blocks`
is `model.g_depth` (G) and `model.d_depth` (D). Class conditioning as in `nets.dcgan`: a label
embedding concatenated to z in G, a projection term in D (Miyato & Koyama 2018). One departure
from R3GAN: G ends with tanh, so its images lie in [-1, 1] like every other ganforge generator.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import ConfigError
from ganforge.nets.activations import Tanh
from ganforge.nets.dcgan import layout
from ganforge.nets.heads import label_embedding, projection_embedding, projection_logit

LEAKY = 0.2
GAIN = math.sqrt(2.0 / (1.0 + LEAKY**2))  # keeps the second moment through a leaky ReLU
EXPANSION = 2  # inverted bottleneck: a branch works at EXPANSION x the block's width
GROUP = 16  # channels per group of a branch's 3x3 convolution
BRANCH_LAYERS = 3  # m: layers per residual branch (1x1, grouped 3x3, 1x1)
MAX_MULT = 4  # the widest stage is MAX_MULT x base channels


def widths(base: int, n: int) -> list[int]:
    """Channels of stages 0..n (stage i at resolution s0 * 2^i): base * min(2^(n - i), MAX_MULT)."""
    if base % (GROUP // EXPANSION):
        raise ConfigError(f"r3gan: base channels must be a multiple of {GROUP // EXPANSION} "
                          f"(grouped convolutions of {GROUP} channels), got {base}")
    return [base * min(2 ** (n - i), MAX_MULT) for i in range(n + 1)]


def init_layer(layer: nn.Module, gain: float) -> nn.Module:
    """weight ~ N(0, gain^2 / fan_in), fan_in = inputs per output (per group); bias 0."""
    fan_in = layer.weight[0].numel()
    nn.init.normal_(layer.weight, 0.0, gain / math.sqrt(fan_in))
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)
    return layer


class ResidualBlock(nn.Module):
    """x [N, C, H, W] -> x + W3 act(W2 act(W1 x)), same shape; identity at initialisation.

    total_blocks: L, the network's number of residual blocks, for the fix-up scale
    L^(-1/(2m - 2)) of W1 and W2 (m = BRANCH_LAYERS); W3 starts at zero.
    """

    def __init__(self, channels: int, *, total_blocks: int) -> None:
        super().__init__()
        wide = channels * EXPANSION
        scale = total_blocks ** (-1.0 / (2 * BRANCH_LAYERS - 2))
        self.expand = init_layer(nn.Conv2d(channels, wide, 1), GAIN * scale)
        self.conv = init_layer(nn.Conv2d(wide, wide, 3, padding=1, groups=wide // GROUP),
                               GAIN * scale)
        self.project = nn.Conv2d(wide, channels, 1, bias=False)
        nn.init.zeros_(self.project.weight)
        self.act = nn.LeakyReLU(LEAKY)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.project(self.act(self.conv(self.act(self.expand(x)))))


class Upsample(nn.Module):
    """[N, C_in, H, W] -> [N, C_out, 2H, 2W]: a 1x1 convolution (when the width changes), then
    bilinear upsampling (the cheaper order: the convolution runs at the low resolution)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.linear = init_layer(nn.Conv2d(c_in, c_out, 1, bias=False), 1.0) if c_in != c_out \
            else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(self.linear(x), scale_factor=2, mode="bilinear", align_corners=False)


class Downsample(nn.Module):
    """[N, C_in, H, W] -> [N, C_out, H/2, W/2]: the mean of each 2x2 block (bilinear resampling
    at scale 1/2), then a 1x1 convolution (when the width changes)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.linear = init_layer(nn.Conv2d(c_in, c_out, 1, bias=False), 1.0) if c_in != c_out \
            else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(F.avg_pool2d(x, 2))


class R3GANGenerator(nn.Module):
    """z [N, z_dim] (and labels y [N]) -> images [N, C, H, H] in [-1, 1]."""

    def __init__(
        self, z_dim: int, out_shape: tuple[int, int, int], *, base: int = 32, blocks: int = 1,
        num_classes: int = 0,
    ) -> None:
        super().__init__()
        c, h, w = out_shape
        if h != w:
            raise ConfigError(f"r3gan: images must be square, got {h}x{w}")
        self.z_dim, self.out_shape, self.num_classes = z_dim, tuple(out_shape), num_classes
        s0, n = layout(h, "r3gan")
        ws = widths(base, n)
        total = blocks * (n + 1)
        emb = z_dim if num_classes else 0
        self.embed = label_embedding(num_classes, emb) if num_classes else None
        # the learned s0 x s0 basis, one map per channel, scaled channel-wise by a linear map of z
        self.basis = nn.Parameter(torch.randn(ws[0], s0, s0))
        self.modulate = init_layer(nn.Linear(z_dim + emb, ws[0], bias=False), 1.0)
        stages = []
        for i in range(n + 1):
            layers = [Upsample(ws[i - 1], ws[i])] if i else []
            layers += [ResidualBlock(ws[i], total_blocks=total) for _ in range(blocks)]
            stages.append(nn.Sequential(*layers))
        self.stages = nn.Sequential(*stages)
        self.to_image = init_layer(nn.Conv2d(ws[-1], c, 1), 1.0)
        self.out = Tanh()

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            z = torch.cat([z, self.embed(y)], dim=1)
        x = self.basis * self.modulate(z)[:, :, None, None]
        return self.out(self.to_image(self.stages(x)))


class R3GANDiscriminator(nn.Module):
    """images [N, C, H, H] (and labels y [N]) -> logits [N]; `features(x)` -> [N, F]."""

    def __init__(
        self, in_shape: tuple[int, int, int], *, base: int = 32, blocks: int = 1,
        num_classes: int = 0,
    ) -> None:
        super().__init__()
        c, h, w = in_shape
        if h != w:
            raise ConfigError(f"r3gan: images must be square, got {h}x{w}")
        self.num_classes = num_classes
        s0, n = layout(h, "r3gan")
        ws = widths(base, n)
        total = blocks * (n + 1)
        layers: list[nn.Module] = [init_layer(nn.Conv2d(c, ws[n], 1), 1.0)]
        for i in range(n, -1, -1):
            stage = [ResidualBlock(ws[i], total_blocks=total) for _ in range(blocks)]
            stage += [Downsample(ws[i], ws[i - 1])] if i else []
            layers.append(nn.Sequential(*stage))
        # the learned s0 x s0 basis: a depthwise convolution reducing each map to one number
        basis = init_layer(nn.Conv2d(ws[0], ws[0], s0, groups=ws[0], bias=False), 1.0)
        self.body = nn.Sequential(*layers, basis, nn.Flatten())
        self.out = init_layer(nn.Linear(ws[0], 1), 1.0)
        self.embed = projection_embedding(num_classes, ws[0]) if num_classes else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The basis layer's output [N, F], F = the s0 x s0 stage's width."""
        return self.body(x)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return projection_logit(self.out, self.embed, self.features(x), y)
