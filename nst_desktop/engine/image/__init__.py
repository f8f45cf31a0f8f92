"""Pictures in and out and what a run is given: files (images, tiff16), the inputs of a run (inputs), colour
preservation (color), the palette start (palette) and regions (masks).

Its public names are loaded on first use (see :mod:`nst_desktop.engine._lazy`)."""

from nst_desktop.engine._lazy import lazy_exports

_WHERE = {
    "load_image": "images",
    "save_image": "images",
    "read_metadata": "images",
    "decode_image": "images",
    "resize_long_side": "images",
    "scaled_size": "images",
    "SAVE_FORMATS": "images",
    "save_tiff16": "tiff16",
    "working_hw": "inputs",
}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
