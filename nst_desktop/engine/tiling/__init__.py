"""Print sizes and seamless textures: the tile grid (grid), the objective computed tile by tile (objective), and the
seam measure (seams).

Its public names are loaded on first use (see :mod:`nst_desktop.engine._lazy`)."""

from nst_desktop.engine._lazy import lazy_exports

_WHERE = {
    "Tiles": "objective",
    "tile_grid": "grid",
    "TiledObjective": "objective",
}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
