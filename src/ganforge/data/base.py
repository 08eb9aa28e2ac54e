"""The one batch type and dataset interface every ganforge dataset implements.

Two kinds of data exist: finite in-memory tensors (images, point files) and infinite synthetic
mixtures. Both answer `sample(n, generator)`, so the trainer draws batches the same way and an
exact resume needs nothing but the state of the `torch.Generator` it passes in.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch

from ganforge.errors import ConfigError


@dataclass(frozen=True)
class Batch:
    """One minibatch.

    x: images as [N, C, H, W] float32 in [-1, 1], points as [N, D] float32 in data units.
    y: class labels [N] int64, or None when the dataset has none (the trainer swaps in cluster
       labels [N, P] for a self-conditioned model).
    a: image-to-image data only: the source of each pair, [N, C_a, h, w] in [-1, 1] (domain A,
       or the low-resolution input of super-resolution); `x` is then the target (domain B, or
       the high-resolution image). For unpaired data, a[i] and x[i] are unrelated draws.
    ya: unpaired data with labelled domains only: the classes of a, [N] int64 (`y` is x's).
    """

    x: torch.Tensor
    y: torch.Tensor | None = None
    a: torch.Tensor | None = None
    ya: torch.Tensor | None = None

    def to(self, device: torch.device | str) -> Batch:
        move = lambda t: None if t is None else t.to(device)
        return Batch(self.x.to(device), move(self.y), move(self.a), move(self.ya))


@dataclass(frozen=True)
class DataSpec:
    """What the networks, metrics and pictures need to know about a dataset.

    kind: "image" or "points".
    shape: one sample's shape, (C, H, W) or (D,).
    num_classes: number of label classes, 0 when unlabelled.
    modes: mixture centres [K, D] for synthetic mixtures, else None.
    mode_std: the mixture components' standard deviation, else None.
    mode_weights: the mixture's mode probabilities (K, summing to 1) when they are not equal,
        else None (equal weights).
    identity: a string naming the data exactly (name, split, size, file hash...), used as a cache key.
    pairing: image-to-image data only: "paired" (a[i] translates to x[i]), "unpaired" (two
        domains drawn independently) or "superres" (a = x down-scaled); "" otherwise.
    source_shape: image-to-image data only: one source image's shape (C_a, h, w).
    """

    name: str
    kind: str
    shape: tuple[int, ...]
    num_classes: int = 0
    modes: torch.Tensor | None = field(default=None, compare=False)
    mode_std: float | None = None
    identity: str = ""
    pairing: str = ""
    source_shape: tuple[int, ...] | None = None
    mode_weights: tuple[float, ...] | None = None

    def summary(self) -> dict:
        """The part a sampler or plot needs, for checkpoints (JSON values and the modes tensor)."""
        return {
            "name": self.name, "kind": self.kind, "shape": list(self.shape),
            "num_classes": self.num_classes, "modes": self.modes, "mode_std": self.mode_std,
            "identity": self.identity, "pairing": self.pairing,
            "source_shape": None if self.source_shape is None else list(self.source_shape),
            "mode_weights": None if self.mode_weights is None else list(self.mode_weights),
        }


class Dataset:
    """Base class: `spec`, `sample(n, generator)`, `shard(rank, world)`, `real_sample(n, seed)`."""

    spec: DataSpec

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        raise NotImplementedError

    def shard(self, rank: int, world: int) -> Dataset:
        """The part of the data rank `rank` of `world` draws from (disjoint for finite data)."""
        raise NotImplementedError

    def real_sample(self, n: int, seed: int = 0) -> Batch:
        """A fixed, reproducible set of n real samples (for metrics and plots)."""
        return self.sample(n, torch.Generator().manual_seed(seed))


class TensorDataset(Dataset):
    """A finite dataset held in memory; batches are drawn uniformly with replacement."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor | None, spec: DataSpec) -> None:
        if y is not None and len(y) != len(x):
            raise ValueError(f"{spec.name}: {len(x)} samples but {len(y)} labels")
        self.x, self.y, self.spec = x, y, spec

    def __len__(self) -> int:
        return len(self.x)

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        idx = torch.randint(len(self.x), (n,), generator=generator)
        # index_select gathers whole rows 2.6x faster than x[idx] on CPU; same values
        return Batch(self.x.index_select(0, idx), None if self.y is None else self.y.index_select(0, idx))

    def shard(self, rank: int, world: int) -> TensorDataset:
        if world == 1:
            return self
        sl = slice(rank, None, world)
        return TensorDataset(self.x[sl], None if self.y is None else self.y[sl], self.spec)

    def real_sample(self, n: int, seed: int = 0) -> Batch:
        """The first n samples of a fixed permutation: no repeats while n <= len(self)."""
        perm = torch.randperm(len(self.x), generator=torch.Generator().manual_seed(seed))[:n]
        return Batch(self.x[perm], None if self.y is None else self.y[perm])

    def subset(self, n: int) -> TensorDataset:
        """The first n samples of a fixed permutation (seed 0), named as such in the identity:
        the small-data setting (a few hundred or thousand images)."""
        if not 0 < n <= len(self.x):
            raise ConfigError(f"data.subset={n}: {self.spec.name} has {len(self.x)} samples")
        keep = torch.randperm(len(self.x), generator=torch.Generator().manual_seed(0))[:n]
        spec = replace(self.spec, identity=f"{self.spec.identity}|subset{n}")
        return TensorDataset(self.x[keep], None if self.y is None else self.y[keep], spec)
