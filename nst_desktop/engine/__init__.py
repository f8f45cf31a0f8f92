"""The style-transfer engine: torch and Pillow only, no Qt.

Public entry points: :func:`stylize`, :class:`StyleInputs`, :class:`StyleParams`, :class:`RunOptions`,
:class:`Resume` (a continue), :func:`load_weights`, :func:`load_image`, :func:`save_image`, :func:`read_metadata`.

The names are loaded on first use (PEP 562), so that ``from nst_desktop.engine import StyleParams``
does not import torch: the window is shown before torch is loaded (which takes 1.5-2.7 s).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

#: Each public name and the module that defines it.
_WHERE = {
    "DownloadCancelled": "errors",
    "DownloadError": "errors",
    "EngineError": "errors",
    "ImageError": "errors",
    "NumericalError": "errors",
    "OutOfMemory": "errors",
    "WeightsError": "errors",
    "load_image": "image.images",
    "read_metadata": "image.images",
    "save_image": "image.images",
    "QUALITY_PRESETS": "params",
    "Progress": "params",
    "RunOptions": "params",
    "StyleInputs": "params",
    "StyleParams": "params",
    "StyleResult": "params",
    "preset_for_steps": "params",
    "preset_steps": "params",
    "Resume": "resume",
    "stylize": "stylize",
    "VGGWeights": "net.weights",
    "load_weights": "net.weights",
}

__all__ = [
    "DownloadCancelled",
    "DownloadError",
    "EngineError",
    "ImageError",
    "NumericalError",
    "OutOfMemory",
    "QUALITY_PRESETS",
    "Progress",
    "Resume",
    "RunOptions",
    "StyleInputs",
    "StyleParams",
    "StyleResult",
    "VGGWeights",
    "WeightsError",
    "load_image",
    "load_weights",
    "preset_for_steps",
    "preset_steps",
    "read_metadata",
    "save_image",
    "stylize",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


class _Engine(types.ModuleType):
    """This package. Importing its submodule ``stylize`` makes Python bind that module to the
    package's name ``stylize``; the package's ``stylize`` is the function (as when it was
    imported eagerly), so the binding is redirected to it."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "stylize" and isinstance(value, types.ModuleType):
            value = value.stylize
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Engine


if TYPE_CHECKING:
    from nst_desktop.engine.errors import (
        DownloadCancelled,
        DownloadError,
        EngineError,
        ImageError,
        NumericalError,
        OutOfMemory,
        WeightsError,
    )
    from nst_desktop.engine.image.images import load_image, read_metadata, save_image
    from nst_desktop.engine.net.weights import VGGWeights, load_weights
    from nst_desktop.engine.params import (
        QUALITY_PRESETS,
        Progress,
        RunOptions,
        StyleInputs,
        StyleParams,
        StyleResult,
        preset_for_steps,
        preset_steps,
    )
    from nst_desktop.engine.resume import Resume
    from nst_desktop.engine.stylize import stylize
