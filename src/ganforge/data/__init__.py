"""Real and synthetic datasets behind one entry point, `load_dataset(name, ...)`.

Every dataset is a `Dataset` (see base.py) answering `sample(n, generator)`: synthetic mixtures
(`ring8`, `grid25`), user point files (`points`), and images (`digits`, `mnist`, `fashion-mnist`,
`cifar10`, `folder`) as [N, C, H, W] float32 in [-1, 1]. Options a dataset does not use are ignored.
"""

from __future__ import annotations

from ganforge.data.base import Batch, Dataset, DataSpec, TensorDataset
from ganforge.errors import ConfigError

DATASETS = ("ring8", "grid25", "points", "digits", "mnist", "fashion-mnist", "cifar10", "folder",
            "sines", "ar1", "sequences", "stacked-mnist")

__all__ = [
    "DATASETS", "Batch", "DataSpec", "Dataset", "TensorDataset", "load_data", "load_dataset",
]


def load_dataset(
    name: str,
    *,
    data_dir: str | None = None,
    data_file: str | None = None,
    split: str = "train",
    image_size: int | None = None,
    channels: int | None = None,
    n_modes: int | None = None,
    radius: float | None = None,
    spacing: float | None = None,
    std: float | None = None,
    download: bool = True,
    seq_len: int | None = None,
    n_samples: int | None = None,
) -> Dataset:
    """Build the dataset `name` (one of DATASETS).

    Which options each uses: ring8 (n_modes, radius, std); grid25 (n_modes, spacing, std);
    points (data_file); digits (split, image_size); mnist / fashion-mnist / cifar10 (data_dir,
    split, image_size, download); folder (data_dir, image_size, channels). split is one of
    "train", "test", "all"; sines / ar1 (seq_len, n_samples); sequences (data_file: .npy N x T x F
    or long-format .csv). Raises ConfigError for an unknown name or bad option value, DataError
    for missing or malformed data.
    """
    # Imports are local so that `import ganforge.data` stays cheap (sklearn, PIL load lazily).
    if name == "ring8":
        from ganforge.data.mixtures import ring8

        return ring8(n_modes=n_modes, radius=radius, std=std)
    if name == "grid25":
        from ganforge.data.mixtures import grid25

        return grid25(n_modes=n_modes, spacing=spacing, std=std)
    if name == "points":
        from ganforge.data.points import load_points

        return load_points(data_file)
    if name == "digits":
        from ganforge.data.images import load_digits_dataset

        return load_digits_dataset(split=split, image_size=image_size)
    if name in ("mnist", "fashion-mnist"):
        from ganforge.data.idx import load_idx_dataset

        return load_idx_dataset(
            name, data_dir=data_dir, split=split, image_size=image_size, download=download
        )
    if name == "cifar10":
        from ganforge.data.images import load_cifar10

        return load_cifar10(
            data_dir=data_dir, split=split, image_size=image_size, download=download
        )
    if name == "stacked-mnist":
        from ganforge.data.stacked import load_stacked_mnist

        return load_stacked_mnist(
            data_dir=data_dir, split=split, image_size=image_size, download=download
        )
    if name == "folder":
        from ganforge.data.images import load_folder

        return load_folder(data_dir, image_size=image_size, channels=channels)
    if name in ("sines", "ar1"):
        from ganforge.data import sequences

        return getattr(sequences, name)(seq_len=seq_len, n_samples=n_samples)
    if name == "sequences":
        from ganforge.data.sequences import load_sequences

        return load_sequences(data_file)
    raise ConfigError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")


def load_data(d) -> Dataset:
    """The dataset a `DataConfig` names, with every one of its options passed on: the one entry
    point of `train`, `sample` and `eval`, so no option is accepted and then dropped."""
    return load_dataset(
        d.dataset, data_dir=d.data_dir, data_file=d.data_file, split=d.split,
        image_size=d.image_size, channels=d.channels, n_modes=d.n_modes, radius=d.radius,
        spacing=d.spacing, std=d.std, download=d.download, seq_len=d.seq_len,
        n_samples=d.n_samples,
    )
