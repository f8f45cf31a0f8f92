"""The estimate's line about tiles: true for print sizes and for seamless textures alike.

A seamless texture is always painted wrapped around its edges (engine/plan/memory.py, plan_size): where it
fits, as one tile the size of the whole picture. That is not "in tiles because it does not fit",
and the estimate once said so for a 256 × 192 px texture with gigabytes free.
"""

from __future__ import annotations


def tiles_note(tile: int, width: int, height: int, seamless: bool) -> str | None:
    """The estimate's line for a run planned in tiles of ``tile`` px (0: whole) at ``width`` ×
    ``height`` px; None when there is nothing to say."""
    if not tile:
        return None
    if seamless and tile >= max(width, height):
        return "Painted wrapped around its edges, so that it repeats without a seam"
    wrapped = " wrapped around its edges" if seamless else ""
    return f"Painted in tiles of {tile} px{wrapped}: the whole picture does not fit in memory at once"
