"""Feathered regions: the engine softens hard-edged masks where regions meet (engine/image/masks.py)."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from nst_desktop.engine.image.masks import feathered, prepare_masks


def test_masks_are_feathered_where_regions_meet() -> None:
    """Two painted halves and a kept band (hard labels, 400 px): the engine's masks blend over a
    soft edge (several px of partial values) and the photo is not kept where two styles meet."""
    size = (400, 200)
    left, right, keep = (Image.new("L", size, 0) for _ in range(3))
    ImageDraw.Draw(left).rectangle((0, 0, 199, 199), fill=255)
    ImageDraw.Draw(right).rectangle((200, 40, 399, 199), fill=255)
    ImageDraw.Draw(keep).rectangle((200, 0, 399, 39), fill=255)
    m = prepare_masks((200, 400), 2, [left, right], keep)
    assert m is not None and m.styles is not None
    row = m.styles[0, 0, 120]
    soft = ((row > 0.02) & (row < 0.98)).sum().item()
    assert soft >= 8, soft  # hard labels gave 0 (or 1 from resampling)
    assert float(row[:150].min()) == pytest.approx(1.0, abs=1e-3) and float(row[250:].max()) < 1e-3
    both = m.styles[:, 0, 120].sum(dim=0)
    assert float(both.min()) > 0.97  # the two styles share the seam
    assert float(m.keep[0, 0, 120].max()) < 0.03  # the photo is kept nowhere on that row
    kept = m.keep[0, 0, :, 300]  # down through the kept band into the right style's region
    assert float(kept[:30].min()) > 0.97 and float(kept[60:].max()) < 0.03
    assert ((kept > 0.02) & (kept < 0.98)).sum().item() >= 6


def test_small_masks_keep_exact_edges() -> None:
    """Under 100 px the blur would be under a pixel: the mask is used as drawn."""
    m = Image.new("L", (64, 32), 0)
    ImageDraw.Draw(m).rectangle((0, 0, 31, 31), fill=255)
    assert feathered(m) is m
