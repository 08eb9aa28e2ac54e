"""The frozen VGG19 feature extractor behind perceptual losses (SRGAN's VGG22 / VGG54).

VGG19 is configuration E of Simonyan & Zisserman 2015: sixteen 3x3 convolutions with ReLU in
five stages separated by 2x2 max pooling. `VGG19Features` builds that stack in ganforge with
torchvision's module indices (`features.0` = conv1_1, `features.34` = conv5_4, ...), so
torchvision's ImageNet weights load into it unchanged, truncated after the named layer: Ledig
et al. 2017's VGG22 and VGG54 are "relu2_2" and "relu5_4" (the feature map after the j-th
convolution's activation, before the i-th pooling).

The weights are torchvision's `vgg19-dcbb9e9d.pth` (IMAGENET1K_V1, 574,673,361 bytes).
`load_vgg19` checks its full sha256 before unpickling anything: VGG19_SHA256 is the digest
recorded by several independent projects that pin this file (torchvision itself only checks the
"dcbb9e9d" prefix in the name); it was not recomputed here, as this machine is offline.
`fetch_vgg19` downloads it into ganforge's cache. The net is never trained: it is returned in
eval mode with requires_grad off.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from ganforge.errors import CheckpointError, ConfigError, DataError

VGG19_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
VGG19_SHA256 = "dcbb9e9dad569fff7a846263a77324fc34978fea2bfb039c012d710e1776ae44"
VGG19_FILE = "vgg19-dcbb9e9d.pth"

# configuration E: output channels per conv, "M" a 2x2 max pool
_CFG_E = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
          512, 512, 512, 512, "M", 512, 512, 512, 512, "M")  # fmt: skip
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _layer_names() -> dict[str, int]:
    """{"conv1_1": 0, "relu1_1": 1, ..., "pool5": 36}: torchvision's index of each layer."""
    names, stage, conv, i = {}, 1, 1, 0
    for c in _CFG_E:
        if c == "M":
            names[f"pool{stage}"] = i
            stage, conv, i = stage + 1, 1, i + 1
        else:
            names[f"conv{stage}_{conv}"], names[f"relu{stage}_{conv}"] = i, i + 1
            conv, i = conv + 1, i + 2
    return names


LAYERS = _layer_names()


class VGG19Features(nn.Module):
    """images [N, 3 or 1, H, W] in [-1, 1] -> VGG19 features [N, C, H / 2^k, W / 2^k] at `layer`.

    The input is mapped to [0, 1] and normalised with ImageNet's mean and std, the statistics
    the weights were trained with; a grey image is repeated to three channels. Only
    `features.*` is in the state_dict (mean and std are non-persistent buffers), with
    torchvision's indices.
    """

    def __init__(self, layer: str = "relu5_4") -> None:
        super().__init__()
        if layer not in LAYERS:
            raise ConfigError(f"vgg19: unknown layer {layer!r}; choose from {', '.join(LAYERS)}")
        self.layer = layer
        last = LAYERS[layer]
        mods: list[nn.Module] = []
        c_in = 3
        for c in _CFG_E:
            if c == "M":
                mods.append(nn.MaxPool2d(2, 2))
            else:
                # in place: a conv's backward does not need its output, and the activations at
                # full resolution are the bulk of a perceptual loss's memory
                mods += [nn.Conv2d(c_in, c, 3, 1, 1), nn.ReLU(inplace=True)]
                c_in = c
        self.features = nn.Sequential(*mods[: last + 1])
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = ((x + 1) / 2 - self.mean) / self.std
        return self.features(x)


def _read_state(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path), device="cpu")
    state = torch.load(path, weights_only=True, map_location="cpu")
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not a state_dict (a {type(state).__name__})")
    return state


def load_vgg19(
    path: str | os.PathLike, *, layer: str = "relu5_4", expected_sha256: str | None = None
) -> VGG19Features:
    """The frozen VGG19 features up to `layer`, from torchvision's `vgg19-dcbb9e9d.pth` or a
    .safetensors file with the same keys (`classifier.*` and layers past `layer` are ignored).

    The file's sha256 must equal `expected_sha256` (default VGG19_SHA256, the .pth's; a
    .safetensors conversion has no published digest, so pass its own). CheckpointError, one
    line naming the file, when it is missing, unreadable, has another digest or lacks keys.
    """
    from ganforge.data.download import file_digest

    path = Path(path)
    if expected_sha256 is None:
        if path.suffix == ".safetensors":
            raise CheckpointError(
                f"{path}: a .safetensors VGG19 has no published sha256; pass expected_sha256="
            )
        expected_sha256 = VGG19_SHA256
    try:
        digest = file_digest(path, "sha256")
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read VGG19 weights ({e.strerror})") from e
    if digest != expected_sha256.lower():
        raise CheckpointError(
            f"{path}: sha256 {digest} is not the expected {expected_sha256} "
            f"(corrupt, or not torchvision's {VGG19_FILE})"
        )
    net = VGG19Features(layer)
    try:
        state = _read_state(path)
    except CheckpointError:
        raise
    except Exception as e:  # any unpickling or format error is the file's fault
        raise CheckpointError(
            f"{path}: not a readable VGG19 state_dict ({type(e).__name__})"
        ) from e
    wanted = net.state_dict().keys()
    missing = [k for k in wanted if k not in state]
    if missing:
        raise CheckpointError(f"{path}: no VGG19 weights for {', '.join(missing[:4])}")
    try:
        net.load_state_dict({k: state[k] for k in wanted})
    except RuntimeError as e:
        raise CheckpointError(f"{path}: VGG19 weights of the wrong shape for {layer}") from e
    return net.eval().requires_grad_(False)


def fetch_vgg19(dest_dir: str | os.PathLike | None = None, *, download: bool = True) -> Path:
    """Path of torchvision's `vgg19-dcbb9e9d.pth` in `dest_dir` (default: ganforge's cache,
    `$GANFORGE_DATA/vgg19` or `~/.cache/ganforge/vgg19`), downloaded from VGG19_URL when absent
    or corrupt and checked against VGG19_SHA256 (a mismatching download is deleted).

    With download=False a missing file raises DataError saying where to put it; a present one
    is returned as is (`load_vgg19` checks it).
    """
    from ganforge.data.download import cache_dir, download_file, file_digest

    dest = (
        Path(dest_dir).expanduser() if dest_dir is not None else cache_dir("vgg19")
    ) / VGG19_FILE
    if not download:
        if not dest.is_file():
            raise DataError(f"VGG19 weights not found: download {VGG19_URL} to {dest}")
        return dest
    if dest.is_file():
        if file_digest(dest, "sha256") == VGG19_SHA256:
            return dest
        dest.unlink()  # download_file would keep any existing file when given no md5
    download_file(VGG19_URL, dest, md5=None)
    digest = file_digest(dest, "sha256")
    if digest != VGG19_SHA256:
        dest.unlink()
        raise DataError(
            f"download of {VGG19_URL} to {dest} has sha256 {digest}, expected {VGG19_SHA256}"
        )
    return dest
