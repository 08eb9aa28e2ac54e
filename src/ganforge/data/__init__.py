"""Real and synthetic datasets behind one entry point, `load_dataset(name, ...)`.

Every dataset is a `Dataset` (see base.py) answering `sample(n, generator)`: synthetic mixtures
(`ring8`, `grid25`), user point files (`points`), and images (`digits`, `mnist`, `fashion-mnist`,
`cifar10`, `folder`) as [N, C, H, W] float32 in [-1, 1], and image-to-image data whose batches
also carry the source images `a` (pairs.py): folders (`paired`, `unpaired`, `superres`), offline
protocols on bundled data (bundled.py) and the standard downloadable sets (translation_sets.py).
Options a dataset does not use are ignored.
"""

from __future__ import annotations

from ganforge.data.base import Batch, Dataset, DataSpec, TensorDataset
from ganforge.errors import ConfigError

STANDARD_SETS = ("facades", "maps", "edges2shoes", "cityscapes", "horse2zebra", "apple2orange",
                 "monet2photo", "div2k", "set5", "set14")
DATASETS = ("ring8", "grid25", "points", "digits", "lfw-faces", "mnist", "fashion-mnist", "cifar10", "folder",
            "sines", "ar1", "sequences", "stacked-mnist", "paired", "unpaired", "superres",
            "edges2mnist", "digits2mnist", "grey2color-photos", "photos-sr", *STANDARD_SETS)

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
    crop_size: int | None = None,
    flip: bool = False,
    scale: int = 4,
    direction: str = "AtoB",
    mode_weights: str | None = None,
) -> Dataset:
    """Build the dataset `name` (one of DATASETS).

    Which options each uses: ring8 (n_modes, radius, std, mode_weights); grid25 (n_modes,
    spacing, std, mode_weights);
    points (data_file); digits (split, image_size); lfw-faces (image_size); mnist / fashion-mnist / cifar10 (data_dir,
    split, image_size, download); folder (data_dir, image_size, channels). split is one of
    "train", "test", "all"; sines / ar1 (seq_len, n_samples); sequences (data_file: .npy N x T x F
    or long-format .csv). Image-to-image data (crop_size None: whole images, or the protocol's
    default crop; flip: random mirror of both sides alike; direction "AtoB" or "BtoA"):
    paired / unpaired (data_dir, split, image_size, crop_size, flip, direction, channels);
    superres (data_dir, scale, crop_size [96], flip, channels); edges2mnist / digits2mnist
    (data_dir, split, crop_size, flip, direction, download); grey2color-photos (split,
    image_size, crop_size [64], flip, direction); photos-sr (split, image_size, scale,
    crop_size [96], flip); the standard sets (data_dir or the cache, split, download, and the
    options of their loader). Raises ConfigError for an unknown name or bad option value,
    DataError for missing or malformed data.
    """
    # Imports are local so that `import ganforge.data` stays cheap (sklearn, PIL load lazily).
    if name == "ring8":
        from ganforge.data.mixtures import ring8

        return ring8(n_modes=n_modes, radius=radius, std=std, weights=mode_weights)
    if name == "grid25":
        from ganforge.data.mixtures import grid25

        return grid25(n_modes=n_modes, spacing=spacing, std=std, weights=mode_weights)
    if name == "points":
        from ganforge.data.points import load_points

        return load_points(data_file)
    if name == "digits":
        from ganforge.data.images import load_digits_dataset

        return load_digits_dataset(split=split, image_size=image_size)
    if name == "lfw-faces":
        from ganforge.data.images import load_lfw_faces

        return load_lfw_faces(image_size=image_size)
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
    if name in ("paired", "unpaired", "superres"):
        from ganforge.data import pair_folders

        if name == "superres":
            return pair_folders.load_superres(data_dir, scale=scale, flip=flip, channels=channels,
                                       crop_size=96 if crop_size is None else crop_size)
        load = pair_folders.load_paired if name == "paired" else pair_folders.load_unpaired
        return load(data_dir, split=split, image_size=image_size, crop_size=crop_size, flip=flip,
                    direction=direction, channels=channels)
    if name in ("edges2mnist", "digits2mnist"):
        from ganforge.data import bundled

        return getattr(bundled, name)(data_dir=data_dir, split=split, crop_size=crop_size,
                                      flip=flip, direction=direction, download=download)
    if name == "grey2color-photos":
        from ganforge.data.bundled import grey2color_photos

        return grey2color_photos(split=split, flip=flip, direction=direction,
                                 image_size=image_size,
                                 crop_size=64 if crop_size is None else crop_size)
    if name == "photos-sr":
        from ganforge.data.bundled import photos_sr

        return photos_sr(split=split, scale=scale, flip=flip, image_size=image_size,
                         crop_size=96 if crop_size is None else crop_size)
    if name in STANDARD_SETS:
        from ganforge.data.translation_sets import load_standard

        return load_standard(name, root=data_dir, split=split, download=download,
                             image_size=image_size, crop_size=crop_size, flip=flip,
                             direction=direction, channels=channels, scale=scale)
    raise ConfigError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")


def load_data(d) -> Dataset:
    """The dataset a `DataConfig` names, with every one of its options passed on: the one entry
    point of `train`, `sample` and `eval`, so no option is accepted and then dropped."""
    data = load_dataset(
        d.dataset, data_dir=d.data_dir, data_file=d.data_file, split=d.split,
        image_size=d.image_size, channels=d.channels, n_modes=d.n_modes, radius=d.radius,
        spacing=d.spacing, std=d.std, download=d.download, seq_len=d.seq_len,
        n_samples=d.n_samples, crop_size=d.crop_size, flip=d.flip, scale=d.scale,
        direction=d.direction, mode_weights=d.mode_weights,
    )
    if d.subset is None:
        return data
    if not isinstance(data, TensorDataset) or data.spec.kind != "image":
        raise ConfigError(f"data.subset: takes images held in memory; {d.dataset!r} is not")
    return data.subset(d.subset)
