"""The video features' optional dependencies (PyAV, OpenCV), imported lazily, and their error.

Video needs ``pip install 'nst-desktop[video]'``; without it every video entry point raises
:class:`VideoError` with :func:`install_hint` instead of an ImportError traceback. The packaged
app (PyInstaller) does not carry them (packaging/README.md says why), and nothing can be added to
it: there the hint points to the pip-installed app.
"""

from __future__ import annotations

import sys
from types import ModuleType

from nst_desktop.engine.errors import EngineError

#: The one line that tells how to get the video features (installed from source or with pip).
INSTALL_HINT = "video needs PyAV and OpenCV: pip install 'nst-desktop[video]'"
#: The same in the packaged app (.deb, .tar.gz, installer), which cannot take more Python packages.
FROZEN_HINT = ("video is not part of this package (it would need PyAV and OpenCV); "
               "to paint videos, install NST Desktop with pip: pip install 'nst-desktop[video]'")


def install_hint(frozen: bool | None = None) -> str:
    """How to get the video features here: :data:`FROZEN_HINT` in the packaged app, else :data:`INSTALL_HINT`."""
    frozen = bool(getattr(sys, "frozen", False)) if frozen is None else frozen
    return FROZEN_HINT if frozen else INSTALL_HINT


class VideoError(EngineError):
    """A video could not be read, written or painted. The message names the file and the problem."""


class VideoDepsMissing(VideoError):
    """PyAV or OpenCV is not installed (the message is :func:`install_hint`)."""


def import_av() -> ModuleType:
    """The ``av`` module (PyAV, which ships FFmpeg); :class:`VideoDepsMissing` without it."""
    try:
        import av
    except ImportError:
        raise VideoDepsMissing(install_hint()) from None
    return av


def import_cv2() -> ModuleType:
    """The ``cv2`` module (opencv-python-headless); :class:`VideoDepsMissing` without it."""
    try:
        import cv2
    except ImportError:
        raise VideoDepsMissing(install_hint()) from None
    return cv2


def available() -> bool:
    """Whether the video features can run (both modules import)."""
    try:
        import_av()
        import_cv2()
    except VideoDepsMissing:
        return False
    return True
