"""Tiled inference: run a fully convolutional image net on a photo too large to process at once.

`apply_tiled` cuts the input into overlapping tiles of `tile` x `tile` pixels, runs `fn` on them
`batch` at a time and blends the outputs, so the peak activation memory is that of `batch` tiles,
not of the whole image. The layout:

- Along each axis the tiles start every `tile - overlap` pixels; the last one is shifted inward to
  end at the image border, so every tile has the full size and none is padded (padding would give
  the net an edge it never sees in the whole image). An axis shorter than `tile` is one tile.
- Each tile's output is weighted by a separable window. On a side that touches the image border
  the weight is 1 (the whole-image run sees the same border there). On an inner side, the first
  `margin` pixels of the overlap get weight 0 (outputs that the tile's own edge has corrupted),
  and the next `overlap - 2 * margin` pixels ramp up linearly, cross-fading with the neighbour
  (the ramps of two neighbours sum to 1). The blend is the weighted sum divided by the sum of
  weights, which also covers the wider overlap of the shifted last tile.

If `margin` is at least the net's receptive-field radius (in input pixels), every pixel is taken
from tiles that saw its whole neighbourhood, and the result equals running `fn` on the whole image
up to float round-off. Nets with per-image statistics (instance norm) or global context differ
per tile; the cross-fade then hides the seams, as in the usual feathered tiling of SR tools.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ganforge.errors import ConfigError, DataError

Progress = Callable[[int, int], object]


def _positive_int(value: int, name: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name}={value!r}: must be an integer >= {minimum}")
    return value


def _starts(length: int, tile: int, overlap: int) -> list[int]:
    """Tile start positions along one axis of `length` pixels (one tile if length <= tile)."""
    if length <= tile:
        return [0]
    # range() stops before length - tile, which is then appended: the shifted-in last tile.
    return list(range(0, length - tile, tile - overlap)) + [length - tile]


def tile_count(height: int, width: int, tile: int = 128, overlap: int = 16) -> int:
    """Number of tiles `apply_tiled` runs for a height x width image.

    Per axis of length L: 1 if L <= tile, else ceil((L - tile) / (tile - overlap)) + 1.
    E.g. 1000 x 700 with tile 128, overlap 16: 9 x 7 = 63.
    """
    _check_layout(tile, overlap)
    h, w = (_positive_int(v, n) for v, n in ((height, "height"), (width, "width")))
    return len(_starts(h, tile, overlap)) * len(_starts(w, tile, overlap))


def _check_layout(tile: int, overlap: int) -> None:
    _positive_int(tile, "tile")
    _positive_int(overlap, "overlap", minimum=0)
    if overlap >= tile:
        raise ConfigError(f"overlap={overlap}: must be smaller than tile={tile}")


def _ramp(overlap: int, margin: int, dtype: torch.dtype) -> torch.Tensor:
    """Weights [overlap] by distance j from an inner tile edge: 0 for j < margin, then linear.

    r(j) = clamp((j - margin + 0.5) / (overlap - 2 margin), 0, 1), so r(j) + r(overlap - 1 - j) = 1:
    two neighbours at the regular stride cross-fade to a partition of unity.
    """
    j = torch.arange(overlap, dtype=torch.float64)
    return ((j - margin + 0.5) / (overlap - 2 * margin)).clamp(0.0, 1.0).to(dtype)


def _window(size: int, ramp: torch.Tensor, *, inner_start: bool, inner_end: bool) -> torch.Tensor:
    """1-D weights [size] of one tile: the ramp on each inner side, 1 elsewhere."""
    w = torch.ones(size, dtype=ramp.dtype)
    n = min(ramp.numel(), size)
    if inner_start:
        w[:n] = torch.minimum(w[:n], ramp[:n])
    if inner_end:
        w[size - n :] = torch.minimum(w[size - n :], ramp[:n].flip(0))
    return w


def apply_tiled(
    fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    *,
    tile: int = 128,
    overlap: int = 16,
    scale: int = 1,
    batch: int = 4,
    margin: int | None = None,
    progress: bool | Progress = False,
) -> torch.Tensor:
    """Run a fully convolutional image function on x in overlapping, feathered tiles.

    fn: [n, C, h, w] -> [n, C', h * scale, w * scale], e.g. a generator in eval mode; it is called
        under torch.no_grad with up to `batch` tiles of one image at a time.
    x: [N, C, H, W], any H and W (images are processed one after another; N = 1 for a photo).
    tile, overlap: tile side and the overlap of neighbours, in input pixels (0 <= overlap < tile).
    scale: the integer factor fn up-samples by (1 for image-to-image, 2 or 4 for SR).
    margin: input pixels at each inner tile edge whose outputs are dropped (default overlap // 4);
        the remaining overlap - 2 * margin pixels are cross-faded. Set it to at least fn's
        receptive-field radius for a result equal to fn(x) (needs 2 * margin < overlap).
    progress: True shows a tqdm bar on stderr (ganforge's convention for long loops); a callable
        is called as progress(n_done, n_total) in tiles after each call of fn; False: silent.

    Returns [N, C', H * scale, W * scale] on x's device and in x's dtype (blended in float32 at
    least, so half-precision outputs do not lose the weights' precision).
    """
    _check_layout(tile, overlap)
    scale = _positive_int(scale, "scale")
    batch = _positive_int(batch, "batch")
    margin = overlap // 4 if margin is None else _positive_int(margin, "margin", minimum=0)
    if overlap and 2 * margin >= overlap:
        raise ConfigError(f"margin={margin}: must be less than half of overlap={overlap}")
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or 0 in x.shape:
        raise DataError(f"x: expected a tensor [N, C, H, W], got {getattr(x, 'shape', type(x))}")

    n_img, _, height, width = x.shape
    ys, xs = _starts(height, tile, overlap), _starts(width, tile, overlap)
    th, tw = min(tile, height), min(tile, width)
    boxes = [(y0, x0) for y0 in ys for x0 in xs]
    total = n_img * len(boxes)
    acc_dtype = torch.promote_types(x.dtype, torch.float32)

    # Separable windows in output pixels, one per row / column start.
    ramp = _ramp(overlap * scale, margin * scale, acc_dtype)
    wy = {
        y0: _window(th * scale, ramp, inner_start=y0 > 0, inner_end=y0 + th < height) for y0 in ys
    }
    wx = {x0: _window(tw * scale, ramp, inner_start=x0 > 0, inner_end=x0 + tw < width) for x0 in xs}
    # The tiles form a full grid, so the sum of the 2-D windows is the outer product of the 1-D
    # sums; each 1-D sum is > 0 everywhere (a window is 1 away from its ramps).
    sum_y = torch.zeros(height * scale, dtype=acc_dtype)
    sum_x = torch.zeros(width * scale, dtype=acc_dtype)
    for y0 in ys:
        sum_y[y0 * scale : (y0 + th) * scale] += wy[y0]
    for x0 in xs:
        sum_x[x0 * scale : (x0 + tw) * scale] += wx[x0]
    norm = (sum_y[:, None] * sum_x[None, :]).to(x.device)
    wy = {k: v.to(x.device) for k, v in wy.items()}
    wx = {k: v.to(x.device) for k, v in wx.items()}

    bar = None
    if progress is True:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc="tiles", unit="tile", leave=False)
    report = progress if callable(progress) else None

    outputs, done = [], 0
    try:
        with torch.no_grad():
            for i in range(n_img):
                acc = None
                for b in range(0, len(boxes), batch):
                    chunk = boxes[b : b + batch]
                    tiles = torch.cat(
                        [x[i : i + 1, :, y0 : y0 + th, x0 : x0 + tw] for y0, x0 in chunk]
                    )
                    y = fn(tiles)
                    if (
                        not isinstance(y, torch.Tensor)
                        or y.ndim != 4
                        or y.shape[0] != len(chunk)
                        or tuple(y.shape[-2:]) != (th * scale, tw * scale)
                    ):
                        raise DataError(
                            f"fn: expected output [{len(chunk)}, C', {th * scale}, {tw * scale}] "
                            f"for {th}x{tw} tiles with scale={scale}, "
                            f"got {getattr(y, 'shape', type(y))}"
                        )
                    if acc is None:
                        acc = torch.zeros(
                            y.shape[1],
                            height * scale,
                            width * scale,
                            dtype=acc_dtype,
                            device=x.device,
                        )
                    for (y0, x0), t in zip(chunk, y):
                        sy = slice(y0 * scale, (y0 + th) * scale)
                        sx = slice(x0 * scale, (x0 + tw) * scale)
                        acc[:, sy, sx] += t.to(acc_dtype) * (wy[y0][:, None] * wx[x0][None, :])
                    done += len(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
                    if report is not None:
                        report(done, total)
                outputs.append((acc / norm).to(x.dtype))
    finally:
        if bar is not None:
            bar.close()
    return torch.stack(outputs)
