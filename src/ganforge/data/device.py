"""Training data kept on the training device, 8-bit images as uint8.

On a GPU, copying every batch from host memory costs a transfer per step; the whole dataset
fits on the device instead (MNIST is 7.8 MB as uint8, CIFAR-10 150 MB). 8-bit images are stored
as their integer levels u (a quarter of float32's memory and bandwidth) and turned into
x = u / 127.5 - 1 per batch, the formula the image loaders use, so a batch is bit-identical to
the host dataset's; `on_device` checks that on the whole dataset before it trusts it. Batch
indices still come from the trainer's CPU generator, so the draws (and resumes) do not change.
"""

from __future__ import annotations

import torch

from ganforge.data.base import Batch, Dataset, TensorDataset


def as_levels(x: torch.Tensor) -> torch.Tensor | None:
    """x's uint8 levels u with u / 127.5 - 1 == x exactly, or None when x is not 8-bit data."""
    if x.dtype != torch.float32 or x.numel() == 0:
        return None
    u = ((x + 1) * 127.5).round_()
    if u.min() < 0 or u.max() > 255:
        return None
    u = u.to(torch.uint8)
    return u if torch.equal(u.float() / 127.5 - 1, x) else None


class DeviceDataset(Dataset):
    """A TensorDataset's samples and labels on `device`; images as uint8 levels when exact."""

    def __init__(self, data: TensorDataset, device: torch.device) -> None:
        self.spec, self.device = data.spec, device
        levels = as_levels(data.x) if data.spec.kind == "image" else None
        self.uint8 = levels is not None
        self.x = (levels if self.uint8 else data.x).to(device)
        self.y = None if data.y is None else data.y.to(device)
        self.host = data  # sharding and fixed real samples go through the host copy

    def __len__(self) -> int:
        return len(self.x)

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        idx = torch.randint(len(self.x), (n,), generator=generator).to(self.device, non_blocking=True)
        x = self.x.index_select(0, idx)
        if self.uint8:
            x = x.float() / 127.5 - 1
        return Batch(x, None if self.y is None else self.y.index_select(0, idx))

    def shard(self, rank: int, world: int) -> Dataset:
        return DeviceDataset(self.host.shard(rank, world), self.device)

    def real_sample(self, n: int, seed: int = 0) -> Batch:
        return self.host.real_sample(n, seed)


def on_device(data: Dataset, device: torch.device) -> Dataset:
    """`data` held on a CUDA device when it is an in-memory tensor dataset; else unchanged
    (on the CPU the host tensors already are where the step runs)."""
    if device.type != "cuda" or not isinstance(data, TensorDataset):
        return data
    return DeviceDataset(data, device)
