"""The network and what is minimised: VGG19 (vgg), its weights (weights, download), the losses, the targets at one
size, the objective, and the number format it runs in (precision).

Its public names are loaded on first use (see :mod:`nst_desktop.engine._lazy`)."""

from nst_desktop.engine._lazy import lazy_exports

_WHERE = {
    "VGGWeights": "weights",
    "load_weights": "weights",
    "bundled_path": "weights",
    "load_torchvision": "weights",
    "torchvision_available": "weights",
    "DownloadProgress": "download",
    "Precision": "precision",
    "cpu_auto_bf16": "precision",
}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
