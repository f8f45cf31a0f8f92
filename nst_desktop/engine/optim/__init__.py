"""The optimisers behind one interface (optimizers): L-BFGS on the device (lbfgs, device_lbfgs), Adam (adam), and the
reference strong-Wolfe L-BFGS (wolfe).

Its public names are loaded on first use (see :mod:`nst_desktop.engine._lazy`)."""

from nst_desktop.engine._lazy import lazy_exports

_WHERE = {
    "OPTIMIZERS": "optimizers",
    "DeviceLBFGS": "device_lbfgs",
}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
