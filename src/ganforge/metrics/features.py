"""What every feature extractor is: `Features`, the `Extractor` base, and raw point features.

Every extractor maps samples (images [N, C, H, W] in [-1, 1] or points [N, D]) to `Features`:
features [N, D] for the Frechet / kernel / k-NN scores, and, where the extractor classifies,
class probabilities [N, K] for the Inception Score and predicted labels [N] for class counting.
`protocol()` names the extractor, its weights hash and its preprocessing: those go into every
score's protocol record and every real-feature cache key. The extractors themselves live in
inception.py (own port), inception_fid.py (the reference TorchScript of the `inception` extra) and
classifier.py; extractors.py picks one by name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from ganforge.data.download import file_digest
from ganforge.errors import ConfigError


@dataclass
class Features:
    """features: [N, D] float32; probs: [N, K] rows summing to 1, or None; labels: [N] int64 or None."""

    features: torch.Tensor
    probs: torch.Tensor | None = None
    labels: torch.Tensor | None = None


def file_sha256(path: str | os.PathLike) -> str:
    return file_digest(path, "sha256")


def batches(x: torch.Tensor, batch_size: int):
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size={batch_size!r}: must be a positive integer")
    for i in range(0, len(x), batch_size):
        yield x[i : i + batch_size]


class Extractor:
    """Base: `extract(x, batch_size=...) -> Features` and `protocol() -> dict`."""

    name = "base"
    weights_hash = ""
    preprocessing = ""

    def protocol(self) -> dict:
        return {
            "extractor": self.name,
            "weights_sha256": self.weights_hash,
            "preprocessing": self.preprocessing,
        }

    def extract(self, x: torch.Tensor, *, batch_size: int = 500) -> Features:
        raise NotImplementedError


class RawExtractor(Extractor):
    """Point data as its own features: [N, D] -> [N, D] (flattened for anything else)."""

    name = "raw"
    preprocessing = "flatten, float32, data units"

    def extract(self, x: torch.Tensor, *, batch_size: int = 500) -> Features:
        return Features(torch.as_tensor(x).reshape(len(x), -1).float())
