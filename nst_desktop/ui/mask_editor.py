"""Painting regions over the content photo (spatial control, Gatys et al. 2017).

The regions are a label image (``QImage.Format_Grayscale8``, at most
:data:`MAX_MASK_SIDE` px on the long side, the content's aspect ratio): 0 = not painted,
``style_label(i)`` (= i + 1: :data:`STYLE1`, :data:`STYLE2`, ...) = paint with the
painting in row i of the Style list, :data:`KEEP` = keep the photo. The engine resizes
masks to the content, so a smaller label image is fine. Painting happens in the GUI
thread with QPainter (no antialiasing, so labels stay exact); the engine gets one
white-on-black mask per style (see :func:`RegionCanvas.engine_masks`). Pixels painted
with no style keep the photo, as the engine does with pixels no mask covers.

Regions belong to rows of the Style list, not to image files: a painting replaced in
its row keeps the row's region. Removing row i (:meth:`RegionCanvas.remove_style`)
unpaints its region (those pixels become "not painted") and moves the labels of the
rows below it up by one, so every remaining painting keeps its own region; the undo
history is relabelled the same way, so Undo never brings back a removed row's label
under another painting. A row whose weight is 0 % is left out of the run, and so is
its region (its pixels keep the photo, like any pixel painted with no style).

The labels stay hard-edged here; the engine feathers the masks where regions meet
(:mod:`nst_desktop.engine.image.masks`). The window has Undo (Ctrl+Z) and Redo (Ctrl+Shift+Z),
a brush outline at the brush's size under the pointer, a Fill mode (a click fills the
connected area of one label, :func:`flood_region`), and OK / Cancel: Cancel (or Esc, or
closing it) puts back the regions it was opened with.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal, Slot
from PySide6.QtGui import QAction, QColor, QImage, QKeySequence, QMouseEvent, QPainter, QPaintEvent, QPen, QShowEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from nst_desktop.ui.image_canvas import fit_rect
from nst_desktop.ui.qimage_convert import pil_to_qimage

#: Labels: 0 = eraser / not painted, 1 .. MAX_REGION_STYLES = the styles, KEEP = keep the photo.
ERASE, STYLE1, STYLE2 = 0, 1, 2
KEEP = 255
#: Most style labels the label image can hold (the Style list holds fewer).
MAX_REGION_STYLES = 254
#: Overlay colours (semi-transparent) of the styles, in row order (repeating after the last).
STYLE_COLOURS = (
    QColor(230, 60, 40, 120), QColor(40, 110, 230, 120), QColor(240, 170, 20, 120), QColor(150, 60, 200, 120),
    QColor(230, 60, 170, 120), QColor(20, 190, 210, 120), QColor(140, 90, 40, 120), QColor(120, 120, 120, 120),
)
KEEP_COLOUR = QColor(40, 200, 90, 120)
MAX_MASK_SIDE = 1024
MAX_UNDO = 30
#: Style brushes per line of the Paint Regions window.
STYLE_BUTTONS_PER_ROW = 4


def style_label(index: int) -> int:
    """Label of the style in row ``index`` (0-based) of the Style list."""
    if not 0 <= index < MAX_REGION_STYLES:
        raise ValueError(f"style index {index} is outside 0 .. {MAX_REGION_STYLES - 1}")
    return index + 1


def region_colour(label: int) -> QColor:
    """Overlay colour of a label (transparent for ERASE)."""
    if label == KEEP:
        return KEEP_COLOUR
    if label == ERASE:
        return QColor(0, 0, 0, 0)
    return STYLE_COLOURS[(label - 1) % len(STYLE_COLOURS)]


def region_name(label: int, file_name: str | None = None) -> str:
    """Button text of a label: "Style 2", "Style 2: pastel.png", "Keep photo", "Eraser"."""
    if label == KEEP:
        return "Keep photo"
    if label == ERASE:
        return "Eraser"
    return f"Style {label}" + (f": {file_name}" if file_name else "")


def label_size(w: int, h: int) -> tuple[int, int]:
    """Size of the label image for a ``w`` x ``h`` photo (long side at most MAX_MASK_SIDE)."""
    scale = min(1.0, MAX_MASK_SIDE / max(w, h))
    return max(1, round(w * scale)), max(1, round(h * scale))


def labels_to_pil(labels: QImage) -> Image.Image:
    """A Grayscale8 label image as a Pillow "L" image (the label values, not scaled)."""
    img = labels.convertToFormat(QImage.Format.Format_Grayscale8)
    data = bytes(img.constBits())
    return Image.frombytes("L", (img.width(), img.height()), data, "raw", "L", img.bytesPerLine())


def pil_to_labels(lab: Image.Image) -> QImage:
    """A Pillow "L" image of label values as a Grayscale8 QImage (owning its pixels)."""
    lab = lab.convert("L") if lab.mode != "L" else lab
    return QImage(lab.tobytes(), lab.width, lab.height, lab.width, QImage.Format.Format_Grayscale8).copy()


def _relabel(labels: QImage, table: list[int]) -> QImage:
    return pil_to_labels(labels_to_pil(labels).point(table))


def removal_table(index: int) -> list[int]:
    """The label table of removing row ``index``: its label becomes ERASE, later ones move up by one."""
    gone = style_label(index)
    table = list(range(256))
    table[gone] = ERASE
    for v in range(gone + 1, MAX_REGION_STYLES + 1):
        table[v] = v - 1
    return table


def _spread_along_rows(grown: np.ndarray, region: np.ndarray) -> np.ndarray:
    """``grown`` widened to every whole run (along rows) of ``region`` pixels it touches."""
    before = np.zeros_like(region)
    before[:, 1:] = region[:, :-1]
    run = np.cumsum((region & ~before).ravel()).reshape(region.shape) * region  # run number, 0 outside
    hit = np.zeros(int(run.max()) + 1, dtype=bool)
    hit[run[grown & region]] = True
    hit[0] = False
    return hit[run]


def flood_region(labels: np.ndarray, x: int, y: int) -> np.ndarray:
    """The pixels connected to (x, y) (4-neighbours) that have its label, as a bool array.

    Whole runs along rows, then along columns, are taken in turn until nothing grows (a few
    passes for ordinary shapes; vectorised, so a 1024 px label image fills in milliseconds).
    """
    region = labels == labels[y, x]
    grown = np.zeros_like(region)
    grown[y, x] = True
    while True:
        wider = _spread_along_rows(grown, region)
        wider = _spread_along_rows(wider.T, region.T).T
        if np.array_equal(wider, grown):
            return grown
        grown = wider


class RegionCanvas(QWidget):
    """The photo with the painted regions over it; drag to paint with the current tool.

    ``changed`` fires after every stroke, undo and clear.
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 180)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self._photo: QImage | None = None
        self.labels: QImage | None = None
        self._overlay: QImage | None = None
        self._undo: list[QImage] = []
        self._redo: list[QImage] = []
        self._last: QPointF | None = None
        #: Where the pointer is over the canvas (widget px), for the brush outline; None: away.
        self.hover: QPointF | None = None
        #: The label a stroke paints (ERASE for the eraser) and the brush diameter in label px.
        self.tool = STYLE1
        self.brush = 40
        #: Fill mode: a click fills the connected area of the clicked label (no strokes).
        self.fill_mode = False
        self.setMouseTracking(True)

    # --- state ---------------------------------------------------------------
    def set_photo(self, photo: QImage | None) -> None:
        """Show ``photo`` (a new content photo): the regions and the undo history are cleared."""
        self._photo = photo
        self._redo = []
        if photo is None:
            self.labels, self._undo = None, []
        else:
            w, h = label_size(photo.width(), photo.height())
            self.labels = QImage(w, h, QImage.Format.Format_Grayscale8)
            self.labels.fill(0)
            self._undo = []
        self._overlay = None
        self.update()

    def is_empty(self) -> bool:
        """True when nothing is painted."""
        return self.labels is None or labels_to_pil(self.labels).getbbox() is None

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    @Slot()
    def undo(self) -> None:
        if self._undo and self.labels is not None:
            self._redo.append(self.labels)
            self.labels = self._undo.pop()
            self._changed()

    @Slot()
    def redo(self) -> None:
        if self._redo and self.labels is not None:
            self._undo.append(self.labels)
            self.labels = self._redo.pop()
            self._changed()

    def snapshot(self) -> tuple[QImage | None, list[QImage], list[QImage]]:
        """The labels and the undo and redo histories (copies), for :meth:`restore`."""
        return (self.labels.copy() if self.labels is not None else None, list(self._undo), list(self._redo))

    def restore(self, state: tuple[QImage | None, list[QImage], list[QImage]]) -> None:
        """Put back what :meth:`snapshot` returned (for the same photo)."""
        labels, undo, redo = state
        if labels is not None and self.labels is not None and labels.size() == self.labels.size():
            self.labels, self._undo, self._redo = labels.copy(), list(undo), list(redo)
            self._changed()

    def fill_at(self, pos: QPointF) -> bool:
        """Fill the connected area of one label under ``pos`` (label px) with the current tool's
        label (undoable). False if ``pos`` is outside the image or the area has that label."""
        if self.labels is None:
            return False
        x, y = int(pos.x()), int(pos.y())
        if not (0 <= x < self.labels.width() and 0 <= y < self.labels.height()):
            return False
        lab = np.array(labels_to_pil(self.labels))
        if lab[y, x] == self.tool:
            return False
        self._push_undo()
        lab[flood_region(lab, x, y)] = self.tool
        self.labels = pil_to_labels(Image.fromarray(lab, "L"))
        self._changed()
        return True

    @Slot()
    def clear(self) -> None:
        if self.labels is not None and not self.is_empty():
            self._push_undo()
            self.labels.fill(0)
            self._changed()

    def engine_masks(
        self, n_styles: int, rows: Sequence[int] | None = None
    ) -> tuple[list[Image.Image] | None, Image.Image | None]:
        """``(masks, keep_mask)`` for :func:`nst_desktop.engine.stylize` with ``n_styles`` styles.

        ``rows``: the Style-list rows (0-based) that go into the run, one per style, in
        order (default: rows 0 .. n_styles-1); the regions of other rows (a painting with
        weight 0) are left out, so their pixels keep the photo. Nothing painted:
        ``(None, None)`` (an ordinary run). Only "Keep photo" painted (or only left-out
        rows): ``(None, keep)`` (the styles apply everywhere else). Any used style region
        painted: one mask per style (a style with no region gets an empty mask), and
        pixels painted with no used style keep the photo.
        """
        if self.labels is None:
            return None, None
        used = list(range(n_styles)) if rows is None else list(rows)
        if len(used) != n_styles:
            raise ValueError(f"{n_styles} styles but {len(used)} rows")
        lab = labels_to_pil(self.labels)
        present = {v for v, count in enumerate(lab.histogram()) if count}
        style_labels = [style_label(i) for i in used]
        keep = lab.point(lambda v: 255 if v == KEEP else 0) if KEEP in present else None
        if not present & set(style_labels):
            return None, keep
        return [lab.point(lambda v, k=k: 255 if v == k else 0) for k in style_labels], keep

    def painted_styles(self) -> set[int]:
        """Rows (0-based) whose style has a painted region."""
        if self.labels is None:
            return set()
        hist = labels_to_pil(self.labels).histogram()
        return {v - 1 for v in range(1, MAX_REGION_STYLES + 1) if hist[v]}

    def remove_style(self, index: int) -> None:
        """Row ``index`` of the Style list was removed: unpaint its region and move the
        labels of the later rows up by one (in the undo history too; see the module)."""
        gone = style_label(index)
        table = removal_table(index)
        if self.labels is not None:
            before = labels_to_pil(self.labels).histogram()
            self.labels = _relabel(self.labels, table)
            self._undo = [_relabel(u, table) for u in self._undo]
            self._redo = [_relabel(u, table) for u in self._redo]
            if self.tool == gone:
                self.tool = STYLE1
            elif gone < self.tool <= MAX_REGION_STYLES:
                self.tool -= 1
            if any(before[v] for v in range(gone, MAX_REGION_STYLES + 1)):
                self._changed()
        elif self.tool >= gone and self.tool != KEEP:
            self.tool = STYLE1 if self.tool == gone else self.tool - 1

    def set_engine_masks(self, masks: Sequence[Image.Image | None] | None, keep_mask: Image.Image | None) -> bool:
        """Paint the regions of engine masks (white = this style / keep), e.g. of a saved result.

        ``masks[i]`` becomes row i's region (None: no region for that row); the keep mask
        is painted last, over them. Masks of any size are resized to the label image
        (nearest neighbour after a 50 % threshold, so labels stay exact). Replaces what
        was painted (undoable). False (nothing changed) if no photo is loaded.
        """
        if self.labels is None:
            return False
        w, h = self.labels.width(), self.labels.height()
        lab = Image.new("L", (w, h), 0)
        layers = [(style_label(i), m) for i, m in enumerate(masks or []) if m is not None]
        if keep_mask is not None:
            layers.append((KEEP, keep_mask))
        for label, mask in layers:
            grey = mask.convert("L") if mask.mode != "L" else mask
            if grey.size != (w, h):
                grey = grey.resize((w, h), Image.Resampling.BILINEAR)
            lab.paste(label, (0, 0), grey.point(lambda v: 255 if v >= 128 else 0))
        self._push_undo()
        self.labels = pil_to_labels(lab)
        self._changed()
        return True

    # --- painting ------------------------------------------------------------
    def image_rect(self) -> QRectF:
        if self.labels is None:
            return QRectF()
        return fit_rect(self.labels.width(), self.labels.height(), QRectF(self.rect()))

    def to_label(self, pos: QPointF) -> QPointF:
        """Widget position -> label-image position."""
        r = self.image_rect()
        assert self.labels is not None and r.width() > 0
        scale = self.labels.width() / r.width()
        return QPointF((pos.x() - r.x()) * scale, (pos.y() - r.y()) * scale)

    def _push_undo(self) -> None:
        assert self.labels is not None
        self._undo.append(self.labels.copy())
        del self._undo[:-MAX_UNDO]
        self._redo = []  # a new change ends what could be redone

    def _stroke(self, a: QPointF, b: QPointF) -> None:
        assert self.labels is not None
        p = QPainter(self.labels)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        pen = QPen(QColor(self.tool, self.tool, self.tool), self.brush, Qt.PenStyle.SolidLine,
                   Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
        p.setPen(pen)
        if a == b:
            p.drawPoint(a)
        else:
            p.drawLine(a, b)
        p.end()
        self._overlay = None
        self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if event.button() != Qt.MouseButton.LeftButton or self.labels is None or self.image_rect().isEmpty():
            return
        if self.fill_mode:
            self.fill_at(self.to_label(event.position()))
            return
        self._push_undo()
        self._last = self.to_label(event.position())
        self._stroke(self._last, self._last)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        self.hover = event.position()
        self.update()
        if self._last is None or self.labels is None:
            return
        pos = self.to_label(event.position())
        self._stroke(self._last, pos)
        self._last = pos

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if self._last is not None:
            self._last = None
            self._changed()

    def leaveEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        self.hover = None
        self.update()
        super().leaveEvent(event)

    def brush_outline(self) -> QRectF | None:
        """The brush's circle (widget px) under the pointer, at the size it paints; None when the
        pointer is away, in Fill mode or off the image."""
        r = self.image_rect()
        if self.hover is None or self.fill_mode or self.labels is None or r.isEmpty() or not r.contains(self.hover):
            return None
        radius = self.brush / 2 * r.width() / self.labels.width()
        return QRectF(self.hover.x() - radius, self.hover.y() - radius, 2 * radius, 2 * radius)

    def _changed(self) -> None:
        self._overlay = None
        self.update()
        self.changed.emit()

    def overlay(self) -> QImage | None:
        """The regions in their colours (transparent where nothing is painted), label-sized."""
        if self.labels is None:
            return None
        if self._overlay is None:
            lab = self.labels.convertToFormat(QImage.Format.Format_Grayscale8)
            indexed = QImage(bytes(lab.constBits()), lab.width(), lab.height(), lab.bytesPerLine(),
                             QImage.Format.Format_Indexed8)
            table = [region_colour(k).rgba() for k in range(256)]
            indexed.setColorTable(table)
            self._overlay = indexed.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
        return self._overlay

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        r = self.image_rect()
        if self._photo is not None and not r.isEmpty():
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            p.drawImage(r, self._photo)
            overlay = self.overlay()
            if overlay is not None:
                p.drawImage(r, overlay)
            outline = self.brush_outline()
            if outline is not None:  # dark and light, to show on any photo
                p.setRenderHint(QPainter.RenderHint.Antialiasing)
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.setPen(QPen(QColor(0, 0, 0, 200), 3))
                p.drawEllipse(outline)
                p.setPen(QPen(QColor(255, 255, 255, 230), 1))
                p.drawEllipse(outline)
        else:
            p.drawText(QRectF(self.rect()), Qt.AlignmentFlag.AlignCenter, "Load a content photo first")
        p.end()


class RegionEditor(QDialog):
    """A resizable window to paint regions over the photo: one brush per painting of the Style
    list (Style 1 ... Style N, named after the file), Keep photo and Eraser; brush size, Fill,
    Undo, Redo and Clear; OK keeps the regions, Cancel puts back those it was opened with. It
    is not modal; the window reads the regions (:meth:`RegionCanvas.engine_masks`) when a run
    starts and tells it the paintings (:meth:`set_styles`) and removed rows (:meth:`remove_style`)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Paint Regions")
        self.canvas = RegionCanvas()
        #: Tool buttons by label: the styles' (style_label(i)), KEEP and ERASE.
        self.tool_buttons: dict[int, QPushButton] = {}
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        self._style_names: list[str | None] = [None]
        self._style_grid = QGridLayout()
        self._style_grid.setSpacing(4)
        for c in range(STYLE_BUTTONS_PER_ROW):
            self._style_grid.setColumnStretch(c, 1)
        for k in (KEEP, ERASE):
            self._tool_button(k)
        self.tool_buttons[KEEP].setToolTip("Paint where the photo stays as it is")
        self.tool_buttons[ERASE].setToolTip("Remove paint (unpainted pixels keep the photo once any style region "
                                            "is painted)")
        self._group.idClicked.connect(self.set_tool)
        self.set_styles([None])
        self.brush_spin = QSpinBox()
        self.brush_spin.setRange(1, 400)
        self.brush_spin.setSuffix(" px")
        self.brush_spin.setValue(self.canvas.brush)
        self.brush_spin.setToolTip("Brush diameter, in pixels of the region image")
        self.brush_spin.valueChanged.connect(self._on_brush)
        self.fill_button = QPushButton("&Fill")
        self.fill_button.setCheckable(True)
        self.fill_button.setToolTip("Fill mode: a click fills the area of one colour under the pointer (an area "
                                    "closed by a stroke, or all unpainted) with the current brush")
        self.fill_button.toggled.connect(self._on_fill)
        self.undo_action = QAction("Undo", self)
        self.undo_action.setShortcuts([QKeySequence("Ctrl+Z")])
        self.undo_action.triggered.connect(self.canvas.undo)
        self.redo_action = QAction("Redo", self)
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.redo_action.triggered.connect(self.canvas.redo)
        self.addActions([self.undo_action, self.redo_action])
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Undo the last stroke, fill or clear (Ctrl+Z)")
        self.undo_button.clicked.connect(self.undo_action.trigger)
        self.redo_button = QPushButton("Redo")
        self.redo_button.setToolTip("Redo what was undone (Ctrl+Shift+Z)")
        self.redo_button.clicked.connect(self.redo_action.trigger)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.canvas.clear)
        row = QHBoxLayout()
        brush_label = QLabel("&Brush")
        brush_label.setBuddy(self.brush_spin)
        row.addWidget(brush_label)
        row.addWidget(self.brush_spin)
        row.addWidget(self.fill_button)
        row.addStretch(1)
        row.addWidget(self.undo_button)
        row.addWidget(self.redo_button)
        row.addWidget(self.clear_button)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self._opened_with: tuple[QImage | None, list[QImage], list[QImage]] | None = None
        hint = QLabel("Paint where each style goes. Unpainted pixels keep the photo once any style region is "
                      "painted; with nothing painted the whole photo is stylised. A painting with weight 0 % is "
                      "left out, and so is its region.")
        hint.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addLayout(self._style_grid)
        lay.addWidget(self.canvas, 1)
        lay.addLayout(row)
        lay.addWidget(hint)
        lay.addWidget(self.buttons)
        self.canvas.changed.connect(self._on_canvas_changed)
        self.setSizeGripEnabled(True)
        self.resize(640, 620)
        self._refresh()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        if not event.spontaneous():  # opened (not un-minimised): what Cancel goes back to
            self._opened_with = self.canvas.snapshot()
        super().showEvent(event)

    def reject(self) -> None:
        """Cancel, Esc or closing: the regions go back to what they were when the window opened."""
        if self._opened_with is not None:
            self.canvas.restore(self._opened_with)
            self._opened_with = None
        super().reject()

    def accept(self) -> None:
        """OK: keep the regions as painted."""
        self._opened_with = None
        super().accept()

    @Slot(bool)
    def _on_fill(self, on: bool) -> None:
        self.canvas.fill_mode = on
        self.canvas.setCursor(Qt.CursorShape.PointingHandCursor if on else Qt.CursorShape.CrossCursor)
        self.canvas.update()

    def _tool_button(self, label: int) -> QPushButton:
        b = QPushButton(region_name(label))
        b.setCheckable(True)
        if label != ERASE:
            c = region_colour(label)
            b.setStyleSheet(f"QPushButton:checked {{ border: 2px solid rgb({c.red()},{c.green()},{c.blue()}); }}")
        self._group.addButton(b, label)
        self.tool_buttons[label] = b
        return b

    def set_styles(self, names: Sequence[str | None]) -> None:
        """The rows of the Style list: one brush each, named after the file (None: a row with
        no painting yet, the empty first row). A brush whose row is gone falls back to Style 1."""
        names = list(names) or [None]
        if len(names) > MAX_REGION_STYLES:
            raise ValueError(f"at most {MAX_REGION_STYLES} styles, not {len(names)}")
        for label in [k for k in self.tool_buttons if k not in (KEEP, ERASE) and k > len(names)]:
            b = self.tool_buttons.pop(label)
            self._group.removeButton(b)
            self._style_grid.removeWidget(b)
            b.deleteLater()
        for i, name in enumerate(names):
            label = style_label(i)
            b = self.tool_buttons.get(label) or self._tool_button(label)
            self._place(b, i // STYLE_BUTTONS_PER_ROW, i % STYLE_BUTTONS_PER_ROW)
            shown = name if name is None or len(name) <= 24 else name[:21] + "…"
            b.setText(region_name(label, shown))
            b.setToolTip(f"Paint where Style {label} ({name}) goes" if name is not None
                         else f"Paint where Style {label} goes (load a painting into it to use the region)")
            b.setAccessibleName(f"Brush: Style {label}" + (f", {name}" if name else ""))
        line = -(-len(names) // STYLE_BUTTONS_PER_ROW)  # Keep photo and Eraser on the line below
        self._place(self.tool_buttons[KEEP], line, 0)
        self._place(self.tool_buttons[ERASE], line, 1)
        self._style_names = names
        self.set_tool(self.canvas.tool if self.canvas.tool in self.tool_buttons else STYLE1)

    def _place(self, button: QPushButton, line: int, column: int) -> None:
        index = self._style_grid.indexOf(button)
        if index >= 0:
            if self._style_grid.getItemPosition(index)[:2] == (line, column):
                return
            self._style_grid.removeWidget(button)
        self._style_grid.addWidget(button, line, column)

    def style_names(self) -> list[str | None]:
        """The names :meth:`set_styles` was given last (one per row)."""
        return list(self._style_names)

    def remove_style(self, index: int) -> None:
        """Row ``index`` of the Style list was removed: its region goes, later rows move up
        (see :meth:`RegionCanvas.remove_style`); call :meth:`set_styles` afterwards. What Cancel
        would put back is relabelled too, so Cancel never gives the removed row's region to another."""
        self.canvas.remove_style(index)
        if self._opened_with is not None:
            table = removal_table(index)
            labels, undo, redo = self._opened_with
            self._opened_with = (_relabel(labels, table) if labels is not None else None,
                                 [_relabel(u, table) for u in undo], [_relabel(u, table) for u in redo])
        self.set_tool(self.canvas.tool if self.canvas.tool in self.tool_buttons else STYLE1)
        self._refresh()

    @Slot(int)
    def set_tool(self, tool: int) -> None:
        self.canvas.tool = tool
        self.tool_buttons[tool].setChecked(True)

    @Slot(int)
    def _on_brush(self, value: int) -> None:
        self.canvas.brush = value

    def set_photo(self, photo: Image.Image | None) -> None:
        self.canvas.set_photo(pil_to_qimage(photo) if photo is not None else None)
        self._opened_with = None  # another photo: Cancel has nothing to put back
        self._refresh()

    @Slot()
    def _on_canvas_changed(self) -> None:
        self._refresh()
        self.changed.emit()

    def _refresh(self) -> None:
        self.undo_button.setEnabled(self.canvas.can_undo())
        self.redo_button.setEnabled(self.canvas.can_redo())
        self.clear_button.setEnabled(not self.canvas.is_empty())
