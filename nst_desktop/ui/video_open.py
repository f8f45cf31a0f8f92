"""File > Open Video…: the dialog's file filter, and what to say when the [video] extra is missing.

Painting a clip needs PyAV and OpenCV (``pip install 'nst-desktop[video]'``). Without them the
window says so, and how to add them, before the file dialog opens (not after a file is picked).
"""

from __future__ import annotations

import sys
from importlib.util import find_spec

from nst_desktop.ui.video_window import VIDEO_SUFFIXES

#: The modules of the [video] extra (PyAV, opencv-python-headless).
VIDEO_MODULES = ("av", "cv2")

VIDEO_EXTRA_TITLE = "Video needs two more packages"
VIDEO_EXTRA_HELP = (
    "Painting a video needs PyAV and OpenCV, which are not installed.\n\n"
    "To add them, quit the app and run, in the Python environment it runs in:\n"
    "    pip install 'nst-desktop[video]'\n"
    "or, in a source checkout:\n"
    "    NST_EXTRAS=video bash packaging/dev/setup.sh\n\n"
    "Then start the app again."
)
#: The same in the packaged app (.deb, .tar.gz, installer), which cannot take more Python packages.
VIDEO_EXTRA_HELP_FROZEN = (
    "Painting a video needs PyAV and OpenCV, which this package does not carry.\n\n"
    "To paint videos, install NST Desktop with pip:\n"
    "    pip install 'nst-desktop[video]'"
)


def video_extra_help(frozen: bool | None = None) -> str:
    """What to say when the [video] extra is missing: how to add it here (``frozen``: the packaged
    app; None: this process's ``sys.frozen``)."""
    frozen = bool(getattr(sys, "frozen", False)) if frozen is None else frozen
    return VIDEO_EXTRA_HELP_FROZEN if frozen else VIDEO_EXTRA_HELP


def video_filter() -> str:
    """The open dialog's name filters: the clips the video window reads, then all files."""
    patterns = " ".join(f"*{s}" for s in sorted(VIDEO_SUFFIXES))
    return f"Videos ({patterns});;All files (*)"


def video_extra_missing() -> bool:
    """True if a module of the [video] extra cannot be imported (looked up, not imported: quick)."""
    for name in VIDEO_MODULES:
        try:
            if find_spec(name) is None:
                return True
        except (ImportError, ValueError):  # a broken or half-removed package
            return True
    return False
