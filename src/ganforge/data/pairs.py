"""Image-to-image datasets: paired (pix2pix), unpaired (CycleGAN) and super-resolution images.

A batch carries `x`, the TARGET images [N, C_b, S, S] in [-1, 1] (domain B, or the
high-resolution image), `a`, the SOURCE images [N, C_a, s, s] in [-1, 1] (domain A, or the
low-resolution input), and `y`, the labels of x when known. Images are stored as uint8 (one
tensor when all sizes agree, else a list) and converted per batch by u / 127.5 - 1.

- PairedImages: pix2pix's random jitter (Isola et al. 2017, "Image-to-Image Translation with
  Conditional Adversarial Networks", appendix, training details: resize 256 -> 286, random
  crop 256, mirroring): one crop offset and one flip per pair, applied identically to a and b.
  Resizing happens at load time (image_size).
- UnpairedImages: CycleGAN's two domains (Zhu et al. 2017), drawn independently.
- SuperResImages: random HR crops; the LR input is `downscale(hr, scale)` (SRGAN, Ledig et al.
  2017: 96x96 HR crops, x4 bicubic).

All randomness of `sample` comes from the generator passed in, drawn in a fixed order: image
indices, then (when cropping) one float64 uniform pair per sample for the crop offset, then
(when flipping) one flip bit per sample; unpaired data draws B's then A's. `real_sample` is
fixed: the first n of a seeded permutation (cycling), centre crops, no flips.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from ganforge.data.base import Batch, Dataset, DataSpec
from ganforge.data.images import uint8_to_signed
from ganforge.errors import ConfigError, DataError

DIRECTIONS = ("AtoB", "BtoA")


def check_direction(name: str, direction: str) -> str:
    if direction not in DIRECTIONS:
        raise ConfigError(f"{name}: direction={direction!r} is not one of {', '.join(DIRECTIONS)}")
    return direction


def _check_crop(name: str, crop_size: int | None) -> int | None:
    if crop_size is not None and (isinstance(crop_size, bool) or not isinstance(crop_size, int)
                                  or crop_size < 1):
        raise ConfigError(f"{name}: crop_size={crop_size!r} must be a positive integer or None")
    return crop_size


def downscale(hr: torch.Tensor, scale: int, *, quantise: bool = True) -> torch.Tensor:
    """The low-resolution input of super-resolution: [N, C, H, W] -> [N, C, H/scale, W/scale].

    Bicubic down-scaling with an antialiasing kernel (torch's antialiased bicubic is Keys' cubic,
    a = -0.5, widened by the scale factor: the kernel of MATLAB's imresize, the SR papers'
    convention, up to border handling). Values in [-1, 1]; quantised (default) to the 256 levels
    of an 8-bit image, as LR inputs are 8-bit images in practice. H and W must divide by scale.
    """
    h, w = hr.shape[-2:]
    if h % scale or w % scale:
        raise ConfigError(f"downscale: image size {h}x{w} is not divisible by scale={scale}")
    lr = F.interpolate(hr.float(), size=(h // scale, w // scale), mode="bicubic",
                       antialias=True, align_corners=False)
    if not quantise:
        return lr.clamp_(-1.0, 1.0)
    return ((lr + 1.0) * 127.5).round_().clamp_(0.0, 255.0) / 127.5 - 1.0


class ImageList:
    """uint8 images [C, H, W] of one domain, with names for error messages.

    Stored as one tensor [N, C, H, W] when all sizes agree, else as a list of tensors.
    """

    def __init__(self, images, names: list[str] | None = None, *, owner: str) -> None:
        if isinstance(images, torch.Tensor):
            if images.dtype != torch.uint8 or images.ndim != 4:
                raise DataError(f"{owner}: images must be uint8 [N, C, H, W], "
                                f"got {images.dtype} {tuple(images.shape)}")
            data = images
        else:
            data = list(images)
            for i, t in enumerate(data):
                if not isinstance(t, torch.Tensor) or t.dtype != torch.uint8 or t.ndim != 3:
                    raise DataError(f"{owner}[{i}]: an image must be a uint8 tensor [C, H, W]")
            if data and all(t.shape == data[0].shape for t in data):
                data = torch.stack(data)
        if len(data) == 0:
            raise DataError(f"{owner}: no images")
        if names is not None and len(names) != len(data):
            raise DataError(f"{owner}: {len(names)} names for {len(data)} images")
        self.data, self.names, self.owner = data, names, owner
        if isinstance(data, torch.Tensor):
            self.sizes = torch.tensor(data.shape[-2:]).expand(len(data), 2)
            chans = [data.shape[1]]
        else:
            self.sizes = torch.tensor([tuple(t.shape[-2:]) for t in data], dtype=torch.int64)
            chans = [t.shape[0] for t in data]
        if any(c != chans[0] for c in chans):
            i = next(i for i, c in enumerate(chans) if c != chans[0])
            raise DataError(f"{self.label(i)}: {chans[i]} channels, but {self.label(0)} has "
                            f"{chans[0]}")
        self.channels = chans[0]

    def __len__(self) -> int:
        return len(self.data)

    def label(self, i: int) -> str:
        return self.names[i] if self.names is not None else f"{self.owner}[{i}]"

    def hw(self, crop: int | None) -> tuple[int, int]:
        """The (H, W) of the images a batch holds: (crop, crop), or the common image size."""
        if crop is not None:
            small = ((self.sizes < crop).any(1)).nonzero()
            if len(small):
                i = int(small[0])
                h, w = self.sizes[i].tolist()
                raise DataError(f"{self.label(i)}: image is {h}x{w}, smaller than "
                                f"crop_size={crop}")
            return crop, crop
        h, w = self.sizes[0].tolist()
        odd = ((self.sizes != self.sizes[0]).any(1)).nonzero()
        if len(odd):
            i = int(odd[0])
            h2, w2 = self.sizes[i].tolist()
            raise DataError(f"{self.owner}: images differ in size ({self.label(0)} is {h}x{w}, "
                            f"{self.label(i)} is {h2}x{w2}); set crop_size")
        return h, w

    def offsets(self, idx: torch.Tensor, u: torch.Tensor | None, crop: int | None):
        """Crop corners [n, 2] (top, left): from uniforms u [n, 2], or centred when u is None."""
        if crop is None:
            return None
        span = self.sizes.index_select(0, idx) - crop
        if u is None:
            return span // 2
        return torch.minimum((u * (span + 1)).long(), span)

    def take(self, idx: torch.Tensor, corners: torch.Tensor | None, crop: int | None):
        """uint8 [n, C, S, S]: images idx, cropped at corners (whole images when crop is None)."""
        if corners is None:
            return self.data.index_select(0, idx)
        return torch.stack([self.data[i][:, t:t + crop, l:l + crop]
                            for i, (t, l) in zip(idx.tolist(), corners.tolist())])

    def shard(self, rank: int, world: int) -> ImageList:
        data = self.data[rank::world]
        names = None if self.names is None else self.names[rank::world]
        return ImageList(data, names, owner=self.owner)


def _flip(x: torch.Tensor, flips: torch.Tensor | None) -> torch.Tensor:
    return x if flips is None else torch.where(flips.view(-1, 1, 1, 1), x.flip(-1), x)


def _fixed_indices(n: int, size: int, g: torch.Generator) -> torch.Tensor:
    return torch.randperm(size, generator=g)[torch.arange(n) % size]


def _labels(name: str, labels, n: int) -> torch.Tensor | None:
    if labels is None:
        return None
    t = torch.as_tensor(labels, dtype=torch.int64)
    if t.shape != (n,):
        raise DataError(f"{name}: {tuple(t.shape)} labels for {n} images")
    return t


class _ImageToImage(Dataset):
    """What the three share: the draws of `sample`, `real_sample`, and rank slicing.

    Subclasses set `crop`, `flip`, `_per_image` (the attributes sliced by `shard`) and
    `_batch(idx, u, flips)`; unpaired data overrides `sample` / `real_sample`.
    """

    crop: int | None
    flip: bool
    _per_image: tuple[str, ...]

    def __len__(self) -> int:
        return len(getattr(self, self._per_image[0]))

    def _uniforms(self, n: int, g: torch.Generator) -> torch.Tensor | None:
        return None if self.crop is None else torch.rand(n, 2, generator=g, dtype=torch.float64)

    def _flips(self, n: int, g: torch.Generator) -> torch.Tensor | None:
        return torch.randint(2, (n,), generator=g).bool() if self.flip else None

    def _side(self, images: ImageList, idx, u, flips) -> torch.Tensor:
        """One domain's batch [n, C, H, W] in [-1, 1]."""
        x = images.take(idx, images.offsets(idx, u, self.crop), self.crop)
        return _flip(uint8_to_signed(x), flips)

    def _batch(self, idx, u, flips) -> Batch:
        raise NotImplementedError

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        idx = torch.randint(len(self), (n,), generator=generator)
        u = self._uniforms(n, generator)
        return self._batch(idx, u, self._flips(n, generator))

    def real_sample(self, n: int, seed: int = 0) -> Batch:
        """The first n of a fixed permutation (cycling when n > len), centre crops, no flips."""
        return self._batch(_fixed_indices(n, len(self), torch.Generator().manual_seed(seed)),
                           None, None)

    def shard(self, rank: int, world: int) -> _ImageToImage:
        """Images rank::world of each domain, same settings and spec."""
        if world == 1:
            return self
        size = min(len(getattr(self, k)) for k in self._per_image if isinstance(
            getattr(self, k), ImageList))
        if not 0 <= rank < world or world > size:
            raise ConfigError(f"{self.spec.name}: cannot give rank {rank} of {world} a shard "
                              f"of {size} images")
        out = copy.copy(self)
        for k in self._per_image:
            v = getattr(self, k)
            if v is not None:
                setattr(out, k, v.shard(rank, world) if isinstance(v, ImageList)
                        else v[rank::world])
        return out


class PairedImages(_ImageToImage):
    """Pairs (a_i, b_i) of equal spatial size; crops and flips applied alike to both sides.

    a, b: uint8 [N, C, H, W] tensors or lists of [C, H, W] (sizes may differ between pairs when
    crop_size is set). labels: [N] class of each pair, or None. direction "BtoA" swaps a and b.
    """

    _per_image = ("b", "a", "y")

    def __init__(self, a, b, *, labels=None, num_classes: int = 0, crop_size: int | None = None,
                 flip: bool = False, direction: str = "AtoB", name: str = "paired",
                 identity: str = "", names_a: list[str] | None = None,
                 names_b: list[str] | None = None) -> None:
        check_direction(name, direction)
        self.crop, self.flip = _check_crop(name, crop_size), bool(flip)
        a, b = ImageList(a, names_a, owner=f"{name} A"), ImageList(b, names_b, owner=f"{name} B")
        if len(a) != len(b):
            raise DataError(f"{name}: {len(a)} A images but {len(b)} B images")
        diff = ((a.sizes != b.sizes).any(1)).nonzero()
        if len(diff):
            i = int(diff[0])
            raise DataError(f"{b.label(i)}: B is {'x'.join(map(str, b.sizes[i].tolist()))} but "
                            f"its A {a.label(i)} is {'x'.join(map(str, a.sizes[i].tolist()))}")
        if direction == "BtoA":
            a, b = b, a
        self.a, self.b, self.y = a, b, _labels(name, labels, len(b))
        hw = b.hw(self.crop)
        self.spec = DataSpec(
            name=name, kind="image", shape=(b.channels, *hw), num_classes=num_classes,
            identity=f"{identity or name}:crop={self.crop}:{direction}", pairing="paired",
            source_shape=(a.channels, *hw),
        )

    def _batch(self, idx, u, flips) -> Batch:
        y = None if self.y is None else self.y.index_select(0, idx)
        return Batch(self._side(self.b, idx, u, flips), y, self._side(self.a, idx, u, flips))


class UnpairedImages(_ImageToImage):
    """Two domains A and B drawn independently (a[i] and x[i] unrelated); sizes may differ.

    labels_a / labels_b: [N_A] / [N_B] classes or None; the batch's y is B's, its ya A's.
    direction "BtoA" swaps the domains (with their labels and class counts).
    """

    _per_image = ("b", "a", "labels_b", "labels_a")

    def __init__(self, a, b, *, labels_a=None, labels_b=None, classes_a: int = 0,
                 classes_b: int = 0, crop_size: int | None = None, flip: bool = False,
                 direction: str = "AtoB", name: str = "unpaired", identity: str = "",
                 names_a: list[str] | None = None, names_b: list[str] | None = None) -> None:
        check_direction(name, direction)
        self.crop, self.flip = _check_crop(name, crop_size), bool(flip)
        a, b = ImageList(a, names_a, owner=f"{name} A"), ImageList(b, names_b, owner=f"{name} B")
        la, lb = _labels(f"{name} A", labels_a, len(a)), _labels(f"{name} B", labels_b, len(b))
        if direction == "BtoA":
            a, b, la, lb, classes_a, classes_b = b, a, lb, la, classes_b, classes_a
        self.a, self.b, self.labels_a, self.labels_b = a, b, la, lb
        self.classes_a = classes_a
        self.spec = DataSpec(
            name=name, kind="image", shape=(b.channels, *b.hw(self.crop)), num_classes=classes_b,
            identity=f"{identity or name}:crop={self.crop}:{direction}", pairing="unpaired",
            source_shape=(a.channels, *a.hw(self.crop)),
        )

    def _pair(self, ib, ia, ub, ua, fb, fa) -> Batch:
        y = None if self.labels_b is None else self.labels_b.index_select(0, ib)
        ya = None if self.labels_a is None else self.labels_a.index_select(0, ia)
        return Batch(self._side(self.b, ib, ub, fb), y, self._side(self.a, ia, ua, fa), ya)

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        g = generator
        ib = torch.randint(len(self.b), (n,), generator=g)
        ia = torch.randint(len(self.a), (n,), generator=g)
        ub, ua = self._uniforms(n, g), self._uniforms(n, g)
        return self._pair(ib, ia, ub, ua, self._flips(n, g), self._flips(n, g))

    def real_sample(self, n: int, seed: int = 0) -> Batch:
        """Each domain: the first n of its own fixed permutation, centre crops, no flips."""
        g = torch.Generator().manual_seed(seed)
        ib, ia = _fixed_indices(n, len(self.b), g), _fixed_indices(n, len(self.a), g)
        return self._pair(ib, ia, None, None, None, None)


class SuperResImages(_ImageToImage):
    """High-resolution images of any sizes; x = an HR crop, a = downscale(x, scale)."""

    _per_image = ("images",)

    def __init__(self, images, *, scale: int = 4, crop_size: int | None = 96, flip: bool = False,
                 name: str = "superres", identity: str = "",
                 names: list[str] | None = None) -> None:
        if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
            raise ConfigError(f"{name}: scale={scale!r} must be a positive integer")
        self.crop, self.flip, self.scale = _check_crop(name, crop_size), bool(flip), scale
        self.images = ImageList(images, names, owner=name)
        h, w = self.images.hw(self.crop)
        if h % scale or w % scale:
            what = f"crop_size={self.crop}" if self.crop is not None else f"image size {h}x{w}"
            raise ConfigError(f"{name}: {what} is not divisible by scale={scale}")
        c = self.images.channels
        self.spec = DataSpec(
            name=name, kind="image", shape=(c, h, w),
            identity=f"{identity or name}:crop={self.crop}:x{scale}", pairing="superres",
            source_shape=(c, h // scale, w // scale),
        )

    def _batch(self, idx, u, flips) -> Batch:
        x = self._side(self.images, idx, u, flips)
        return Batch(x, None, downscale(x, self.scale))


# ---------------------------------------------------------------- folders
