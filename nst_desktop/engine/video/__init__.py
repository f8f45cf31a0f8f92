"""Painting a clip without flicker (paint), with its settings (settings), files (io), optical flow (flow), temporal
loss (temporal), work folder (work) and optional dependencies (deps).

Its public names are loaded on first use (see :mod:`nst_desktop.engine._lazy`)."""

from nst_desktop.engine._lazy import lazy_exports

_WHERE = {
    "VideoSettings": "settings",
    "CHUNK_OVERLAP": "settings",
    "MIN_CHUNK_FRAMES": "settings",
    "VideoError": "deps",
    "WorkFolder": "work",
    "frame_size": "paint",
}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
