"""The window's layout and the parts of it remembered between sessions.

:func:`lay_out` places the widgets the window made (:class:`Columns`): the Content pane above the
Style list on the left, the result with the History strip below it in the middle, the settings
panel on the right; it returns what it made (:class:`Placed`: the splitters, the device line).
:func:`restore_window_state` and :func:`store_window_state` move the geometry, splitter sizes,
zoom, controls and Style list between the window and the
:class:`~nst_desktop.services.settings.Settings`. :func:`show_dock_beside` gives a dock opened
beside the columns the room the result can spare, so that no label of the columns clips.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QByteArray, QRect, QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
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
from nst_desktop.ui.controls import ControlsPanel
from nst_desktop.ui.image_pane import ImagePane, LoadedImage
from nst_desktop.ui.result_view import ResultView
from nst_desktop.ui.style_list import StyleList
from nst_desktop.ui.style_row import WEIGHT_MAX

DEFAULT_WINDOW_SIZE = QSize(1280, 800)
#: Room left for the window manager's frame (title bar, borders) while it is not known yet (px).
FRAME_ALLOWANCE = QSize(8, 40)


@dataclass(frozen=True)
class Columns:
    """The widgets the window made, for :func:`lay_out` to place (top to bottom in each column)."""

    content_pane: ImagePane
    style_list: StyleList
    result_view: ResultView
    history: QWidget
    controls: ControlsPanel
    regions_button: QWidget
    regions_label: QWidget
    stylize_button: QWidget
    continue_button: QWidget
    progress_bar: QWidget
    progress_label: QWidget
    save_button: QWidget
    copy_button: QWidget


@dataclass(frozen=True)
class Placed:
    """What :func:`lay_out` made: the window keeps it (and the splitters' sizes are remembered)."""

    columns: Columns
    #: The Content pane above the Style list.
    inputs_splitter: QSplitter
    #: The three columns: inputs, result, settings.
    main_splitter: QSplitter
    #: The status bar's permanent line: where the next run paints and how.
    status_device: QLabel


def _side_panel(c: Columns) -> QScrollArea:
    side = QWidget()
    lay = QVBoxLayout(side)
    lay.setContentsMargins(8, 8, 8, 8)
    lay.addWidget(QLabel("<b>Settings</b>"))
    for widget in (c.controls, c.regions_button, c.regions_label):
        lay.addWidget(widget)
    lay.addSpacing(12)
    for widget in (c.stylize_button, c.continue_button, c.progress_bar, c.progress_label):
        lay.addWidget(widget)
    buttons = QHBoxLayout()
    buttons.addWidget(c.save_button)
    buttons.addWidget(c.copy_button)
    lay.addLayout(buttons)
    lay.addStretch(1)
    scroll = QScrollArea()
    scroll.setWidget(side)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setMinimumWidth(side.minimumSizeHint().width())
    return scroll


def lay_out(window: QMainWindow, c: Columns) -> Placed:
    """Place the widgets of ``c`` as ``window``'s central widget and add the device line to its
    status bar; returns the splitters and that line."""
    inputs_splitter = QSplitter(Qt.Orientation.Vertical)
    inputs_splitter.addWidget(c.content_pane)
    inputs_splitter.addWidget(c.style_list)
    main_splitter = QSplitter(Qt.Orientation.Horizontal)
    main_splitter.addWidget(inputs_splitter)
    result_column = QWidget()
    result_lay = QVBoxLayout(result_column)
    result_lay.setContentsMargins(0, 0, 0, 0)
    result_lay.setSpacing(0)
    result_lay.addWidget(c.result_view, 1)
    result_lay.addWidget(c.history)
    main_splitter.addWidget(result_column)
    main_splitter.addWidget(_side_panel(c))
    for index, stretch in enumerate((0, 1, 0)):
        main_splitter.setStretchFactor(index, stretch)
    main_splitter.setCollapsible(1, False)  # the result never disappears
    # The Style list scrolls only vertically: its column keeps the width of its rows (whose buttons
    # elide below their whole text) and of a scroll bar.
    bar = c.style_list.scroll.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
    rows = c.style_list.scroll.widget().minimumSizeHint().width()
    inputs_splitter.setMinimumWidth(max(c.content_pane.minimumSizeHint().width(), rows + bar))
    window.setCentralWidget(main_splitter)
    status_device = QLabel()
    window.statusBar().addPermanentWidget(status_device)
    return Placed(c, inputs_splitter, main_splitter, status_device)


def show_dock_beside(w: QMainWindow, main_splitter: QSplitter, dock: QDockWidget) -> None:
    """Show ``dock`` (the window's only dock, on its left or right) with the width the result
    column (``main_splitter``'s middle) can spare (down to its minimum), at most the width the dock
    asks for: the Content, Style and settings columns keep their widths, and the dock's own widgets
    elide or scroll."""
    sizes = main_splitter.sizes()
    was_shown = dock.isVisible()
    dock.show()
    if was_shown or dock.isFloating() or len(sizes) != 3 or not w.isVisible():
        return
    handles = 2 * main_splitter.handleWidth()
    separator = w.style().pixelMetric(QStyle.PixelMetric.PM_DockWidgetSeparatorExtent, None, w)
    result_min = main_splitter.widget(1).minimumSizeHint().width()
    room = w.width() - separator - handles - sizes[0] - sizes[2] - result_min
    width = max(dock.minimumSizeHint().width(), min(dock.sizeHint().width(), room))
    w.resizeDocks([dock], [width], Qt.Orientation.Horizontal)
    w.layout().activate()
    central = main_splitter.width() - handles
    main_splitter.setSizes([sizes[0], central - sizes[0] - sizes[2], sizes[2]])


def _splitters(p: Placed) -> dict[str, QSplitter]:
    return {"main": p.main_splitter, "inputs": p.inputs_splitter}


def restore_window_state(w: QMainWindow, p: Placed, s: Settings) -> None:
    """``w``'s size, ``p``'s splitters, controls, Style list and zoom from ``s`` (defaults where it has none)."""
    w.resize(DEFAULT_WINDOW_SIZE)
    p.main_splitter.setSizes([300, 660, 320])
    p.inputs_splitter.setSizes([300, 460])
    if s.window_geometry:
        try:
            w.restoreGeometry(QByteArray(base64.b64decode(s.window_geometry, validate=True)))
        except (ValueError, TypeError):
            pass  # a damaged geometry: the default size
    fit_to_screen(w)
    for name, splitter in _splitters(p).items():
        sizes = s.splitters.get(name)
        if sizes and len(sizes) == splitter.count() and sum(sizes) > 0:
            splitter.setSizes(sizes)
    c = p.columns
    c.controls.apply_settings(s)
    _restore_style_list(w, c.style_list, s.styles)
    c.controls.set_weights_ready("torchvision", torchvision_available(paths.cache_dir()))
    if s.zoom == "100":
        c.result_view.zoom_actual()


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


def _restore_style_list(w: QMainWindow, style_list: StyleList, entries: list[StyleEntry]) -> None:
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
    style_list.set_rows(items, [None] * len(items) + unopened)
    if gone:
        w.statusBar().showMessage("Style images from last time not found: " + ", ".join(gone), 15000)


def store_window_state(w: QMainWindow, p: Placed, s: Settings) -> None:
    """Copy ``w``'s geometry and ``p``'s state into ``s`` (not yet written)."""
    s.window_geometry = base64.b64encode(bytes(w.saveGeometry().data())).decode("ascii")
    s.splitters = {name: list(sp.sizes()) for name, sp in _splitters(p).items()}
    s.zoom = "100" if p.columns.result_view.zoom == 1.0 else "fit"
    p.columns.controls.store_settings(s)
    s.styles = [
        StyleEntry(str(r.loaded.path.resolve()) if r.loaded is not None and r.loaded.path is not None else "",
                   r.weight / WEIGHT_MAX)
        for r in p.columns.style_list.rows
    ]
