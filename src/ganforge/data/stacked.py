"""Stacked MNIST: three random MNIST digits as the three colour channels, 1,000 modes.

The mode-collapse benchmark of Metz et al. 2017 ("Unrolled Generative Adversarial Networks") and
Srivastava et al. 2017 (VEEGAN), used with 1,000 modes by PacGAN (Lin et al. 2018): each sample
stacks three independently drawn MNIST digits as R, G, B, so its mode is the triple of labels,
y = 100 * y_R + 10 * y_G + y_B in 0..999. The dataset is infinite (fresh triples every draw); the
mode counter classifies each channel separately (see `ganforge.metrics.classifier`) and reports
modes covered of 1,000 and the KL of the mode histogram against uniform, on 26,000 samples by
default as in those papers.
"""

from __future__ import annotations

import torch

from ganforge.data.base import Batch, Dataset, DataSpec, TensorDataset

STACKED_EVAL_SAMPLES = 26_000


class StackedMNIST(Dataset):
    """Images [N, 3, S, S] in [-1, 1] stacked from `base` (an MNIST TensorDataset); y [N] in 0..999.

    `base` is kept as an attribute: the domain classifier of this dataset is MNIST's.
    """

    def __init__(self, base: TensorDataset) -> None:
        if base.y is None or base.spec.num_classes != 10 or base.x.shape[1] != 1:
            raise ValueError(f"{base.spec.name}: stacked-mnist needs labelled 1-channel digits")
        self.base = base
        _, h, w = base.spec.shape
        self.spec = DataSpec(
            name="stacked-mnist",
            kind="image",
            shape=(3, h, w),
            num_classes=1000,
            identity=f"stacked-mnist[{base.spec.identity}]",
        )

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        idx = torch.randint(len(self.base.x), (n, 3), generator=generator)
        x = self.base.x[idx].squeeze(2)  # [n, 3, 1, H, W] -> [n, 3, H, W]
        d = self.base.y[idx]
        return Batch(x, d[:, 0] * 100 + d[:, 1] * 10 + d[:, 2])

    def shard(self, rank: int, world: int) -> StackedMNIST:
        return self if world == 1 else StackedMNIST(self.base.shard(rank, world))

    def real_sample(self, n: int, seed: int = 0) -> Batch:
        return self.sample(n, torch.Generator().manual_seed(seed))


def load_stacked_mnist(
    *,
    data_dir: str | None = None,
    split: str = "train",
    image_size: int | None = None,
    download: bool = True,
) -> StackedMNIST:
    """Stacked MNIST over the MNIST split `split` (options as `load_idx_dataset`)."""
    from ganforge.data.idx import load_idx_dataset

    base = load_idx_dataset(
        "mnist", data_dir=data_dir, split=split, image_size=image_size, download=download
    )
    return StackedMNIST(base)
