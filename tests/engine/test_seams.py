"""The seamless start and content (seams.periodic): no seam across the edges, and none inside."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from nst_desktop.engine.tiling.seams import laplacian_profile, periodic, rolled_half


def _gradient(w: int = 128, h: int = 96) -> Image.Image:
    """A smooth photo whose edges do not match at all (red across, green down)."""
    a = np.zeros((h, w, 3), np.uint8)
    a[..., 0] = np.linspace(0, 255, w)[None, :]
    a[..., 1] = np.linspace(0, 255, h)[:, None]
    a[..., 2] = 128
    return Image.fromarray(a)


def _prominence(image: Image.Image) -> float:
    """The most prominent row or column's mean |Laplacian| over the median row's or column's."""
    rows, cols = laplacian_profile(image)
    values = torch.cat([rows, cols])
    return float(values.max() / values.median())


def test_periodic_has_no_seam_inside_the_tile_nor_where_tiles_meet() -> None:
    """With one half-rolled copy, its seams made a hard cross through the middle of the tile
    (prominence 45 on this gradient; its half-roll 1.3)."""
    photo = _gradient()
    tile = periodic(photo)
    assert _prominence(rolled_half(photo)) > 20  # the measure sees a seam
    assert _prominence(tile) < 6 and _prominence(rolled_half(tile)) < 6
    a = np.asarray(tile).astype(int)
    middle = (slice(48 - 16, 48 + 16), slice(64 - 24, 64 + 24))  # the middle half: the photo alone
    assert np.abs(a[middle] - np.asarray(photo).astype(int)[middle]).max() <= 1


def test_periodic_repeats_at_the_tiles_size_not_at_half_of_it() -> None:
    """Symmetric weights (sin² for the photo, cos² for the rolled copies) made the tile equal to
    itself rolled by half: the texture repeated twice within a tile."""
    a = np.asarray(periodic(_gradient())).astype(float)
    assert np.abs(a - np.roll(a, a.shape[1] // 2, axis=1)).mean() > 10
    assert np.abs(a - np.roll(a, a.shape[0] // 2, axis=0)).mean() > 10
