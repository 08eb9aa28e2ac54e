"""pix2pix's networks: the U-Net generator and the PatchGAN discriminator (Isola et al. 2017).

U-Net (Sec. 3.2.1, appendix 6.1.1; Ronneberger et al. 2015): `depth` stride-2 4x4 convolutions
down to a bottleneck, as many stride-2 4x4 transposed convolutions back up, each decoder level
fed the concatenation of the level below and the mirrored encoder features, so low-level
structure (edges, layout) shared by input and output skips the bottleneck. Channels base, 2b,
4b, 8b, 8b, ... (capped at 8b); LeakyReLU(0.2) in the encoder, ReLU in the decoder, Tanh out.
The reference "unet_256" is depth 8 (256 -> 1x1).

PatchGAN (Sec. 3.2.2, the reference's "NLayerDiscriminator"): a fully convolutional D whose
every output logit judges one receptive-field-sized patch (70x70 for n_layers=3), so it models
high frequencies only and leaves low frequencies to the L1 term.

`norm_layer` (shared with resnet.py): "instance" is InstanceNorm2d without affine parameters or
running statistics, so train and eval mode normalise alike and the only train/eval difference
left in these nets is dropout (the pix2pix reference's `--eval` confusion does not arise).
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.nets.activations import Tanh

NORMS = ("instance", "batch", "none")


def norm_layer(kind: str, ch: int) -> nn.Module:
    """The normalisation `kind` ("instance" | "batch" | "none") over `ch` channels."""
    if kind == "instance":
        return nn.InstanceNorm2d(ch, affine=False, track_running_stats=False)
    if kind == "batch":
        return nn.BatchNorm2d(ch)
    if kind == "none":
        return nn.Identity()
    raise ConfigError(f"norm must be one of {', '.join(NORMS)}, got {kind!r}")


def auto_depth(size: int) -> int:
    """The most down-sampling steps (at most 8) that divide an image side of `size` exactly:
    28 -> 2, 32 -> 5, 64 -> 6, 256 -> 8."""
    d = 0
    while d < 8 and size % 2 ** (d + 1) == 0:
        d += 1
    return d


class UNetGenerator(nn.Module):
    """images [N, in_ch, H, W] in [-1, 1] -> images [N, out_ch, H, W] in [-1, 1].

    H and W must be divisible by 2**depth (any such size works: the net is fully convolutional);
    `depth` defaults to `auto_depth(size)`. Dropout (p=`dropout`, 0 disables) sits in the
    innermost three decoder blocks, as in the paper's appendix 6.1.1 (CD512-CD1024-CD1024; the
    reference code puts it one level further out, skipping the bottleneck's decoder), never on
    the output layer.

    Laid out as the reference builds it: each encoder level is [LeakyReLU] conv [norm] and keeps
    its pre-activation output as the skip; each decoder level is ReLU convT [norm] [dropout] on
    the concatenation. ReLU(cat(e, d)) passes ReLU(e) to the decoder, what the reference's
    in-place LeakyReLU then ReLU on the skip amounts to. No norm on the outermost encoder layer
    or on the bottleneck (1x1 at depth 8: nothing to normalise over), none on the output layer;
    a conv followed by a norm has no bias (the norm's shift cancels it).
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        *,
        base: int = 64,
        depth: int | None = None,
        size: int | None = None,
        dropout: float = 0.5,
        norm: str = "instance",
    ) -> None:
        super().__init__()
        norm_layer(norm, 1)  # validates the name before anything is built
        if depth is None:
            if size is None:
                raise ConfigError("unet: give depth (down-sampling steps) or size (image side)")
            depth = auto_depth(size)
        if depth < 1:
            raise ConfigError(f"unet: depth must be >= 1, got {depth} (size={size})")
        if size is not None and size % 2**depth:
            raise ConfigError(f"unet: size {size} is not divisible by 2**depth = {2**depth}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"unet: dropout must be in [0, 1), got {dropout}")
        self.depth, self.in_ch, self.out_ch = depth, in_ch, out_ch
        ch = [base * min(2**i, 8) for i in range(depth)]

        self.down = nn.ModuleList()
        for i in range(depth):
            normed = 0 < i < depth - 1
            layers: list[nn.Module] = [nn.LeakyReLU(0.2)] if i > 0 else []
            c_in = in_ch if i == 0 else ch[i - 1]
            layers.append(nn.Conv2d(c_in, ch[i], 4, 2, 1, bias=not normed or norm == "none"))
            if normed:
                layers.append(norm_layer(norm, ch[i]))
            self.down.append(nn.Sequential(*layers))

        # up[i] undoes down[i]: input ch[i] (bottleneck) or 2 * ch[i] (with the skip)
        self.up = nn.ModuleList()
        for i in range(depth):
            c_in = ch[i] if i == depth - 1 else 2 * ch[i]
            layers = [nn.ReLU()]
            if i == 0:
                layers += [nn.ConvTranspose2d(c_in, out_ch, 4, 2, 1), Tanh()]
            else:
                layers += [
                    nn.ConvTranspose2d(c_in, ch[i - 1], 4, 2, 1, bias=norm == "none"),
                    norm_layer(norm, ch[i - 1]),
                ]
                if dropout > 0 and i >= depth - 3:
                    layers.append(nn.Dropout(dropout))
            self.up.append(nn.Sequential(*layers))

    def check_size(self, h: int, w: int) -> None:
        """ConfigError unless an [h, w] input fits this net (both divisible by 2**depth)."""
        step = 2**self.depth
        if h % step or w % step:
            raise ConfigError(
                f"unet: input size {h}x{w} is not divisible by 2**depth = {step} "
                f"(depth={self.depth})"
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_size(x.shape[-2], x.shape[-1])
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
        h = skips.pop()  # the bottleneck is the innermost decoder's input, not a skip
        for block in reversed(self.up[1:]):
            h = torch.cat([skips.pop(), block(h)], dim=1)
        return self.up[0](h)


def _patch_layers(n_layers: int) -> list[tuple[int, int]]:
    """(kernel, stride) of the PatchGAN's convolutions, in order: what the net is built from and
    what its receptive field is computed from."""
    return [(4, 2)] * n_layers + [(4, 1), (4, 1)]


def patch_receptive_field(n_layers: int) -> int:
    """Side of the input patch one PatchGAN logit sees: r_in = (r_out - 1) * stride + kernel,
    walked from the output back (n_layers 1, 2, 3 -> 16, 34, 70)."""
    r = 1
    for k, s in reversed(_patch_layers(n_layers)):
        r = (r - 1) * s + k
    return r


class PatchDiscriminator(nn.Module):
    """images [N, in_ch, H, W] in [-1, 1] -> logits [N, 1, h, w], one per overlapping patch of
    side `receptive_field`.

    Conv4x4 s2 + LeakyReLU(0.2); n_layers - 1 times Conv4x4 s2 (channels doubling, capped at
    8 * base) + norm + LeakyReLU; Conv4x4 s1 + norm + LeakyReLU; Conv4x4 s1 to one channel.
    `spectral_norm=True` wraps every conv (Miyato et al. 2018); it is usually paired with
    norm="none", which is left to the caller. Inputs smaller than `min_size` leave no logit and
    raise ConfigError.
    """

    def __init__(
        self,
        in_ch: int,
        *,
        base: int = 64,
        n_layers: int = 3,
        norm: str = "instance",
        spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        norm_layer(norm, 1)
        if n_layers < 1:
            raise ConfigError(f"patchgan: n_layers must be >= 1, got {n_layers}")
        self.n_layers = n_layers
        self.receptive_field = patch_receptive_field(n_layers)
        spec = _patch_layers(n_layers)
        layers: list[nn.Module] = []
        c_in = in_ch
        for i, (k, s) in enumerate(spec):
            last = i == len(spec) - 1
            c_out = 1 if last else base * min(2**i, 8)
            normed = 0 < i and not last
            conv = nn.Conv2d(c_in, c_out, k, s, 1, bias=not normed or norm == "none")
            if spectral_norm:
                conv = nn.utils.parametrizations.spectral_norm(conv)
            layers.append(conv)
            if normed:
                layers.append(norm_layer(norm, c_out))
            if not last:
                layers.append(nn.LeakyReLU(0.2))
            c_in = c_out
        self.body = nn.Sequential(*layers)
        self.min_size = next(n for n in range(1, 4096) if self.out_size(n) >= 1)

    def out_size(self, n: int) -> int:
        """Side of the logit map for an input side `n` (padding 1 everywhere)."""
        for k, s in _patch_layers(self.n_layers):
            n = (n + 2 - k) // s + 1 if n + 2 >= k else 0
        return n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if min(h, w) < self.min_size:
            raise ConfigError(
                f"patchgan: input size {h}x{w} is below the minimum {self.min_size} for "
                f"n_layers={self.n_layers}"
            )
        return self.body(x)
