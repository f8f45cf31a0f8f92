"""The video features' optional dependencies (PyAV, OpenCV), imported lazily, and their error.

Video needs ``pip install 'nst-desktop[video]'``; without it every video entry point raises
:class:`VideoError` with :data:`INSTALL_HINT` instead of an ImportError traceback.
"""

from __future__ import annotations

from types import ModuleType

from nst_desktop.engine.errors import EngineError

#: The one line that tells how to get the video features.
INSTALL_HINT = "video needs PyAV and OpenCV: pip install 'nst-desktop[video]'"


class VideoError(EngineError):
    """A video could not be read, written or painted. The message names the file and the problem."""


class VideoDepsMissing(VideoError):
    """PyAV or OpenCV is not installed (the message is :data:`INSTALL_HINT`)."""


def import_av() -> ModuleType:
    """The ``av`` module (PyAV, which ships FFmpeg); :class:`VideoDepsMissing` without it."""
    try:
        import av
    except ImportError:
        raise VideoDepsMissing(INSTALL_HINT) from None
    return av


def import_cv2() -> ModuleType:
    """The ``cv2`` module (opencv-python-headless); :class:`VideoDepsMissing` without it."""
    try:
        import cv2
    except ImportError:
        raise VideoDepsMissing(INSTALL_HINT) from None
    return cv2


def available() -> bool:
    """Whether the video features can run (both modules import)."""
    try:
        import_av()
        import_cv2()
    except VideoDepsMissing:
        return False
    return True
