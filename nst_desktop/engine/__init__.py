"""The style-transfer engine: torch and Pillow only, no Qt.

Public entry points: :func:`stylize`, :class:`StyleParams`, :class:`Resume` (a continue), :func:`load_weights`,
:func:`load_image`, :func:`save_image`, :func:`read_metadata`.
"""

from nst_desktop.engine.errors import (
    DownloadCancelled,
    DownloadError,
    EngineError,
    ImageError,
    NumericalError,
    OutOfMemory,
    WeightsError,
)
from nst_desktop.engine.images import load_image, read_metadata, save_image
from nst_desktop.engine.params import (
    QUALITY_PRESETS,
    Progress,
    StyleParams,
    StyleResult,
    preset_for_steps,
    preset_steps,
)
from nst_desktop.engine.resume import Resume
from nst_desktop.engine.stylize import stylize
from nst_desktop.engine.weights import VGGWeights, load_weights

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
