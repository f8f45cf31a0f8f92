"""Tiles: an image too large for the device seen by the network a piece at a time.

Conventions: positions are (row, column) pixels of the image being optimised at one size
of the schedule; intervals are half-open. A :class:`Tile` *owns* the pixels of its inner
rectangle and, at every layer, the feature cells whose first pixel lies in it (a cell of a
layer of stride ``s`` covers ``s x s`` pixels). The network sees the inner rectangle plus a
margin of :func:`context_margin` px on each side, clipped at the image's edges (where the
whole image's network sees its zero padding too) or, for seamless images, wrapped around.
The margin holds the whole receptive field of every owned cell, so each owned cell is
computed exactly as in the whole image, and a loss summed over owned cells has, summed
over the tiles, exactly the whole image's value and gradient (each tile's gradient reaches
into its margin and is added there; see :mod:`tiled_objective`). Tile corners lie on a
grid of :data:`ALIGN` px, so that the pooling cells of a tile are the whole image's.

The grid is shifted by a random offset at every step (:func:`random_offset`): with the
exact sums above it changes nothing but where the margins' extra work falls, and it keeps
rounding differences from lining up at fixed seams.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from nst_desktop.engine.net.vgg import POOL_INDICES, RELU_INDEX
from nst_desktop.engine.net.weights import CONV_INDICES

#: VGG19 halves the image four times before relu5_1: tile corners on multiples of 16 px keep
#: every layer's cells where the whole image has them.
ALIGN = 16
#: A piece of the grid shorter than this share of a tile (at the image's edges) joins its neighbour.
MERGE_SHARE = 0.25
#: Tile inner sides are multiples of this.
TILE_STEP = ALIGN


def context_margin(layers: list[str] | tuple[str, ...] | set[str]) -> int:
    """Pixels of context each side that the cells of ``layers`` need, rounded up to :data:`ALIGN`.

    A cell of a layer after convolutions of 3x3 (padding 1) at strides ``j`` sees ``sum(j)``
    pixels beyond its own block on each side (pooling adds nothing beyond the block): 70 px
    for relu5_1, 38 for relu4_2. Returned: 80 for relu5_1.
    """
    last = max(RELU_INDEX[name] for name in layers)
    reach, stride = 0, 1
    for idx in range(last + 1):
        if idx in CONV_INDICES:
            reach += stride
        elif idx in POOL_INDICES:
            stride *= 2
    return math.ceil(reach / ALIGN) * ALIGN


@dataclass(frozen=True)
class Span:
    """One axis of a tile: owned pixels ``[start, stop)`` and the pixels the network sees,
    ``[crop_start, crop_stop)``. With ``wrap`` the crop may reach below 0 or past the image's
    end, meaning pixels taken modulo the image's length."""

    start: int
    stop: int
    crop_start: int
    crop_stop: int

    @property
    def own(self) -> tuple[int, int]:
        """The owned pixels relative to the crop's first pixel."""
        return self.start - self.crop_start, self.stop - self.crop_start

    def own_cells(self, stride: int) -> tuple[int, int]:
        """The owned cells of a layer of ``stride`` relative to the crop's first cell (floor, as
        pooling does: a crop ending at the image's end ends where the whole image's cells do)."""
        a, b = self.own
        return a // stride, b // stride


@dataclass(frozen=True)
class Tile:
    """A rectangle of the image: its rows and columns (see :class:`Span`)."""

    rows: Span
    cols: Span

    @property
    def crop_hw(self) -> tuple[int, int]:
        return self.rows.crop_stop - self.rows.crop_start, self.cols.crop_stop - self.cols.crop_start


def _cuts(length: int, size: int, offset: int, wrap: bool) -> list[tuple[int, int]]:
    """Owned intervals of one axis: pieces of ``size`` px starting at ``offset`` (mod ``size``);
    a piece under :data:`MERGE_SHARE` of ``size`` at either end joins its neighbour."""
    if wrap:
        n = max(1, math.ceil(length / size))
        starts = [offset + k * size for k in range(n)]
        pieces = [(a, min(a + size, offset + length)) for a in starts]
    else:
        inner = [c for c in range(offset % size, length, size) if 0 < c < length]
        bounds = [0, *inner, length]
        pieces = list(zip(bounds[:-1], bounds[1:], strict=True))
    short = size * MERGE_SHARE
    if len(pieces) > 1 and pieces[-1][1] - pieces[-1][0] < short:
        pieces[-2:] = [(pieces[-2][0], pieces[-1][1])]
    if not wrap and len(pieces) > 1 and pieces[0][1] - pieces[0][0] < short:
        pieces[:2] = [(pieces[0][0], pieces[1][1])]
    return pieces


def _spans(length: int, size: int, offset: int, margin: int, wrap: bool) -> list[Span]:
    out = []
    for a, b in _cuts(length, size, offset, wrap):
        if wrap:
            out.append(Span(a, b, a - margin, b + margin))
        else:
            out.append(Span(a, b, max(0, a - margin), min(length, b + margin)))
    return out


def tile_grid(
    hw: tuple[int, int], size: int, margin: int, offset: tuple[int, int] = (0, 0), wrap: bool = False
) -> list[Tile]:
    """The tiles of an image of ``hw`` px: inner squares of ``size`` px (a multiple of
    :data:`ALIGN`) on a grid shifted by ``offset`` = (rows, columns) px (multiples of ALIGN),
    each seen with ``margin`` px of context. With ``wrap`` the image is treated as a torus
    (seamless textures; ``hw`` must then be multiples of ALIGN) and every tile has its margin,
    so a ``size`` at least the image's gives one tile: the whole image, wrapped around."""
    if size % ALIGN or margin % ALIGN or offset[0] % ALIGN or offset[1] % ALIGN:
        raise ValueError(f"tile size, margin and offset must be multiples of {ALIGN} px")
    if wrap and (hw[0] % ALIGN or hw[1] % ALIGN):
        raise ValueError(f"a wrapped (seamless) image must be a multiple of {ALIGN} px on each side, not {hw}")
    rows = _spans(hw[0], size, offset[0] % max(size, ALIGN), margin, wrap)
    cols = _spans(hw[1], size, offset[1] % max(size, ALIGN), margin, wrap)
    return [Tile(r, c) for r in rows for c in cols]


def random_offset(size: int, generator: torch.Generator) -> tuple[int, int]:
    """A grid offset (rows, columns), each uniform over the multiples of :data:`ALIGN` below ``size``."""
    cells = max(1, size // ALIGN)
    r, c = torch.randint(0, cells, (2,), generator=generator).tolist()
    return r * ALIGN, c * ALIGN


def _index(span: Span, length: int, device: torch.device) -> torch.Tensor | slice:
    if 0 <= span.crop_start and span.crop_stop <= length:
        return slice(span.crop_start, span.crop_stop)
    return torch.arange(span.crop_start, span.crop_stop, device=device) % length


def take(image: torch.Tensor, tile: Tile) -> torch.Tensor:
    """The pixels of ``image`` ``(N, C, H, W)`` that the network sees for ``tile`` (a copy)."""
    h, w = image.shape[-2:]
    rows, cols = _index(tile.rows, h, image.device), _index(tile.cols, w, image.device)
    out = image[..., rows, :] if isinstance(rows, slice) else image.index_select(-2, rows)
    out = out[..., cols] if isinstance(cols, slice) else out.index_select(-1, cols)
    return out.clone() if isinstance(rows, slice) and isinstance(cols, slice) else out


def add_into(total: torch.Tensor, tile: Tile, part: torch.Tensor) -> None:
    """Add ``part`` (shaped like :func:`take` of ``tile``) into ``total`` at the tile's pixels
    (wrapped pixels are added where they came from)."""
    h, w = total.shape[-2:]
    rows, cols = _index(tile.rows, h, total.device), _index(tile.cols, w, total.device)
    if isinstance(cols, slice):
        target = total[..., cols]  # a view: adding into it adds into total
        if isinstance(rows, slice):
            target[..., rows, :] += part
        else:
            target.index_add_(-2, rows, part)
        return
    strip = torch.zeros(*part.shape[:-1], w, dtype=part.dtype, device=part.device).index_add_(-1, cols, part)
    if isinstance(rows, slice):
        total[..., rows, :] += strip
    else:
        total.index_add_(-2, rows, strip)


def layer_hw(hw: tuple[int, int], stride: int) -> tuple[int, int]:
    """The cells of a layer of ``stride`` for an image of ``hw`` px (each 2x2 pooling floors)."""
    h, w = hw
    s = 1
    while s < stride:
        h, w, s = h // 2, w // 2, s * 2
    return h, w
