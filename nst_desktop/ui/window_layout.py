"""The window's layout and the parts of it remembered between sessions.

:func:`lay_out` places the widgets the window made: the Content pane above the Style list
on the left, the result with the History strip below it in the middle, the settings panel
on the right. :func:`restore_window_state` and :func:`store_window_state` move the
geometry, splitter sizes, zoom, controls and Style list between the window and the
:class:`~nst_desktop.services.settings.Settings`. :func:`show_dock_beside` gives a dock opened
beside the columns the room the result can spare, so that no label of the columns clips.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QRect, QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSplitter,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from nst_desktop.engine import ImageError, load_image
from nst_desktop.engine.net import torchvision_available
from nst_desktop.services import paths
from nst_desktop.services.settings import Settings, StyleEntry
from nst_desktop.ui.image_pane import LoadedImage
from nst_desktop.ui.style_row import WEIGHT_MAX

if TYPE_CHECKING:
    from nst_desktop.ui.main_window import MainWindow

DEFAULT_WINDOW_SIZE = QSize(1280, 800)
#: Room left for the window manager's frame (title bar, borders) while it is not known yet (px).
FRAME_ALLOWANCE = QSize(8, 40)


def _side_panel(w: MainWindow) -> QScrollArea:
    side = QWidget()
    lay = QVBoxLayout(side)
    lay.setContentsMargins(8, 8, 8, 8)
    lay.addWidget(QLabel("<b>Settings</b>"))
    for widget in (w.controls, w.regions_button, w.regions_label):
        lay.addWidget(widget)
    lay.addSpacing(12)
    for widget in (w.stylize_button, w.continue_button, w.progress_bar, w.progress_label):
        lay.addWidget(widget)
    buttons = QHBoxLayout()
    buttons.addWidget(w.save_button)
    buttons.addWidget(w.copy_button)
    lay.addLayout(buttons)
    lay.addStretch(1)
    scroll = QScrollArea()
    scroll.setWidget(side)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setMinimumWidth(side.minimumSizeHint().width())
    return scroll


def lay_out(w: MainWindow) -> None:
    """Place ``w``'s widgets; sets ``w.inputs_splitter``, ``w.main_splitter`` and ``w.status_device``."""
    w.inputs_splitter = QSplitter(Qt.Orientation.Vertical)
    w.inputs_splitter.addWidget(w.content_pane)
    w.inputs_splitter.addWidget(w.style_list)
    w.main_splitter = QSplitter(Qt.Orientation.Horizontal)
    w.main_splitter.addWidget(w.inputs_splitter)
    result_column = QWidget()
    result_lay = QVBoxLayout(result_column)
    result_lay.setContentsMargins(0, 0, 0, 0)
    result_lay.setSpacing(0)
    result_lay.addWidget(w.result_view, 1)
    result_lay.addWidget(w.history)
    w.main_splitter.addWidget(result_column)
    w.main_splitter.addWidget(_side_panel(w))
    for index, stretch in enumerate((0, 1, 0)):
        w.main_splitter.setStretchFactor(index, stretch)
    w.main_splitter.setCollapsible(1, False)  # the result never disappears
    # The Style list scrolls only vertically: its column keeps the width of its rows (whose buttons
    # elide below their whole text) and of a scroll bar.
    bar = w.style_list.scroll.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
    rows = w.style_list.scroll.widget().minimumSizeHint().width()
    w.inputs_splitter.setMinimumWidth(max(w.content_pane.minimumSizeHint().width(), rows + bar))
    w.setCentralWidget(w.main_splitter)
    w.status_device = QLabel()
    w.statusBar().addPermanentWidget(w.status_device)


def show_dock_beside(w: MainWindow, dock: QDockWidget) -> None:
    """Show ``dock`` (the window's only dock, on its left or right) with the width the result
    column can spare (down to its minimum), at most the width the dock asks for: the Content,
    Style and settings columns keep their widths, and the dock's own widgets elide or scroll."""
    sizes = w.main_splitter.sizes()
    was_shown = dock.isVisible()
    dock.show()
    if was_shown or dock.isFloating() or len(sizes) != 3 or not w.isVisible():
        return
    handles = 2 * w.main_splitter.handleWidth()
    separator = w.style().pixelMetric(QStyle.PixelMetric.PM_DockWidgetSeparatorExtent, None, w)
    result_min = w.main_splitter.widget(1).minimumSizeHint().width()
    room = w.width() - separator - handles - sizes[0] - sizes[2] - result_min
    width = max(dock.minimumSizeHint().width(), min(dock.sizeHint().width(), room))
    w.resizeDocks([dock], [width], Qt.Orientation.Horizontal)
    w.layout().activate()
    central = w.main_splitter.width() - handles
    w.main_splitter.setSizes([sizes[0], central - sizes[0] - sizes[2], sizes[2]])


def _splitters(w: MainWindow) -> dict[str, QSplitter]:
    return {"main": w.main_splitter, "inputs": w.inputs_splitter}


def restore_window_state(w: MainWindow, s: Settings) -> None:
    """Size, splitters, controls, Style list and zoom from ``s`` (defaults where it has none)."""
    w.resize(DEFAULT_WINDOW_SIZE)
    w.main_splitter.setSizes([300, 660, 320])
    w.inputs_splitter.setSizes([300, 460])
    if s.window_geometry:
        try:
            w.restoreGeometry(QByteArray(base64.b64decode(s.window_geometry, validate=True)))
        except (ValueError, TypeError):
            pass  # a damaged geometry: the default size
    fit_to_screen(w)
    for name, splitter in _splitters(w).items():
        sizes = s.splitters.get(name)
        if sizes and len(sizes) == splitter.count() and sum(sizes) > 0:
            splitter.setSizes(sizes)
    w.controls.apply_settings(s)
    _restore_style_list(w, s.styles)
    w.controls.set_weights_ready("torchvision", torchvision_available(paths.cache_dir()))
    if s.zoom == "100":
        w.result_view.zoom_actual()


def fit_to_screen(w: QWidget, available: QRect | None = None) -> None:
    """Shrink and move ``w`` so that it lies, frame included, within ``available`` (default: the
    available geometry of its screen, in device-independent pixels: a 1600 × 1000 screen at
    scale 1.5 offers 1066 × 666 less its panels). A maximised or full-screen window is left
    alone. It cannot shrink below its minimum size; the settings column scrolls."""
    if w.isMaximized() or w.isFullScreen():
        return
    if available is None:
        screen = w.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return
        available = screen.availableGeometry()
    frame = w.frameGeometry().size() - w.geometry().size()  # the real frame, once shown
    extra = QSize(max(frame.width(), FRAME_ALLOWANCE.width()), max(frame.height(), FRAME_ALLOWANCE.height()))
    size = w.size().boundedTo(available.size() - extra).expandedTo(w.minimumSizeHint())
    if size != w.size():
        w.resize(size)
    top_left = w.frameGeometry().topLeft()
    x = max(available.left(), min(top_left.x(), available.right() + 1 - size.width() - extra.width()))
    y = max(available.top(), min(top_left.y(), available.bottom() + 1 - size.height() - extra.height()))
    if (x, y) != (top_left.x(), top_left.y()):
        w.move(x, y)


def _restore_style_list(w: MainWindow, entries: list[StyleEntry]) -> None:
    """Reopen the remembered paintings with their weights; a file that is gone or no longer an
    image is named in the status bar, and its weight is remembered for that position."""
    items: list[tuple[LoadedImage, int]] = []
    unopened: list[int] = []
    gone: list[str] = []
    for entry in entries:
        weight = round(WEIGHT_MAX * entry.weight)
        if entry.path:
            p = Path(entry.path)
            try:
                items.append((LoadedImage(load_image(p), p.name, p), weight))
                continue
            except ImageError:
                gone.append(p.name)
        unopened.append(weight)
    # The rows that could not be reopened give the weights of the next rows made.
    w.style_list.set_rows(items, [None] * len(items) + unopened)
    if gone:
        w.statusBar().showMessage("Style images from last time not found: " + ", ".join(gone), 15000)


def store_window_state(w: MainWindow, s: Settings) -> None:
    """Copy ``w``'s state into ``s`` (not yet written)."""
    s.window_geometry = base64.b64encode(bytes(w.saveGeometry().data())).decode("ascii")
    s.splitters = {name: list(sp.sizes()) for name, sp in _splitters(w).items()}
    s.zoom = "100" if w.result_view.zoom == 1.0 else "fit"
    w.controls.store_settings(s)
    s.styles = [
        StyleEntry(str(r.loaded.path.resolve()) if r.loaded is not None and r.loaded.path is not None else "",
                   r.weight / WEIGHT_MAX)
        for r in w.style_list.rows
    ]
