"""Planning a run: the coarse-to-fine schedule (schedule), the memory model (memory), which sizes run whole or in tiles
(sizing), and out-of-memory handling (oom).

Its public names are loaded on first use (see :mod:`nst_desktop.engine._lazy`)."""

from nst_desktop.engine._lazy import lazy_exports

_WHERE = {
    "LBFGS_HISTORY": "memory",
    "estimate_peak_bytes": "memory",
}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
