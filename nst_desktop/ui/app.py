"""Application start-up: ``nst-desktop [CONTENT [STYLE]]`` opens the window with those images.

When a window is open already, the launch hands the images to it and exits
(:mod:`nst_desktop.ui.single_instance`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from nst_desktop.app_info import APP_ID, APP_NAME, APP_VERSION, ORGANIZATION, icon_svg_path
from nst_desktop.ui import gc_guard

if TYPE_CHECKING:  # the window imports torch: only when it is built, so --version/--help stay quick
    from nst_desktop.ui.main_window import MainWindow
    from nst_desktop.ui.single_instance import SingleInstance


def parse_args(args: Sequence[str]) -> argparse.Namespace:
    """Parse the command line left after Qt removed its own options (``-platform`` ...)."""
    parser = argparse.ArgumentParser(
        prog="nst-desktop", description=f"{APP_NAME}: paint a photo in the style of a painting."
    )
    parser.add_argument("content", nargs="?", help="content photo to open")
    parser.add_argument("style", nargs="?", help="style image (painting) to open")
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {APP_VERSION}")
    return parser.parse_args(list(args))


def app_icon() -> QIcon:
    """The application icon (an empty icon if the SVG is missing)."""
    try:
        path = icon_svg_path()
    except (ModuleNotFoundError, OSError):
        return QIcon()
    return QIcon(str(path)) if path.is_file() else QIcon()


def ensure_app(args: Sequence[str] = ()) -> QApplication:
    """The QApplication (created with ``args`` if none exists), named for settings and desktops."""
    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "nst-desktop", *args])
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(APP_VERSION)
    app.setOrganizationName(ORGANIZATION)
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon())
    gc_guard.install(app)  # cycles holding Qt objects must never be collected in the worker thread
    return app


def create_main_window(content: str | None = None, style: str | None = None) -> MainWindow:
    """Build and show the main window with the given images loaded."""
    from nst_desktop.ui.main_window import MainWindow

    window = MainWindow(speed_test=True, engine_later=True)  # shown first, torch loaded after
    window.load_inputs(content, style)
    window.show()
    return window


def _exec(app: QApplication) -> int:
    return app.exec()


def _single_instance() -> SingleInstance | None:
    try:
        from nst_desktop.ui.single_instance import SingleInstance
    except ImportError:  # a build without QtNetwork: every launch has its own window (still safe)
        return None
    return SingleInstance()


def run_app(args: list[str]) -> int:
    """Start the GUI; ``args`` are the command-line arguments after the program name. When a window is
    open already, hand it the images and return 0 at once.

    Qt's own options (``-platform offscreen`` ...) are removed by QApplication first.
    """
    created = QApplication.instance() is None
    app = ensure_app(args)
    ns = parse_args(app.arguments()[1:] if created else args)
    instance = _single_instance()
    if instance is not None and instance.start(ns.content, ns.style):
        return 0
    window = create_main_window(ns.content, ns.style)
    if instance is not None:
        instance.openRequested.connect(window.open_from_launch)
    previous_hook = sys.excepthook
    sys.excepthook = window.errors.excepthook  # a bug in a slot: a sentence, Details, the log
    try:
        code = _exec(app)
    finally:
        sys.excepthook = previous_hook
        if instance is not None:
            instance.close()
    window.deleteLater()
    return code
