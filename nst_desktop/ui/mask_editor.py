"""Painting regions over the content photo (spatial control, Gatys et al. 2017).

The regions are a label image (``QImage.Format_Grayscale8``, at most
:data:`MAX_MASK_SIDE` px on the long side, the content's aspect ratio): 0 = not painted,
:data:`STYLE1` / :data:`STYLE2` = paint with that style, :data:`KEEP` = keep the photo.
The engine resizes masks to the content, so a smaller label image is fine. Painting
happens in the GUI thread with QPainter (no antialiasing, so labels stay exact); the
engine gets one white-on-black mask per style (see :func:`RegionCanvas.engine_masks`).
Pixels painted with no style keep the photo, as the engine does with pixels no mask covers.
"""

from __future__ import annotations

from PIL import Image
from PySide6.QtCore import QPointF, QRectF, Qt, Signal, Slot
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
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

ERASE, STYLE1, STYLE2, KEEP = 0, 1, 2, 3
REGION_NAMES = {STYLE1: "Style 1", STYLE2: "Style 2", KEEP: "Keep photo", ERASE: "Eraser"}
#: Overlay colours (semi-transparent) per label.
REGION_COLOURS = {STYLE1: QColor(230, 60, 40, 120), STYLE2: QColor(40, 110, 230, 120), KEEP: QColor(40, 200, 90, 120)}
MAX_MASK_SIDE = 1024
MAX_UNDO = 30


def label_size(w: int, h: int) -> tuple[int, int]:
    """Size of the label image for a ``w`` x ``h`` photo (long side at most MAX_MASK_SIDE)."""
    scale = min(1.0, MAX_MASK_SIDE / max(w, h))
    return max(1, round(w * scale)), max(1, round(h * scale))


def labels_to_pil(labels: QImage) -> Image.Image:
    """A Grayscale8 label image as a Pillow "L" image (the label values, not scaled)."""
    img = labels.convertToFormat(QImage.Format.Format_Grayscale8)
    data = bytes(img.constBits())
    return Image.frombytes("L", (img.width(), img.height()), data, "raw", "L", img.bytesPerLine())


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
        self._last: QPointF | None = None
        #: The label a stroke paints (ERASE for the eraser) and the brush diameter in label px.
        self.tool = STYLE1
        self.brush = 40

    # --- state ---------------------------------------------------------------
    def set_photo(self, photo: QImage | None) -> None:
        """Show ``photo`` (a new content photo): the regions and the undo history are cleared."""
        self._photo = photo
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

    @Slot()
    def undo(self) -> None:
        if self._undo:
            self.labels = self._undo.pop()
            self._changed()

    @Slot()
    def clear(self) -> None:
        if self.labels is not None and not self.is_empty():
            self._push_undo()
            self.labels.fill(0)
            self._changed()

    def engine_masks(self, n_styles: int) -> tuple[list[Image.Image] | None, Image.Image | None]:
        """``(masks, keep_mask)`` for :func:`nst_desktop.engine.stylize` with ``n_styles`` styles.

        Nothing painted: ``(None, None)`` (an ordinary run). Only "Keep photo" painted:
        ``(None, keep)`` (the styles apply everywhere else). Any style region painted: one
        mask per style (a style with no region gets an empty mask), and pixels painted with
        no style keep the photo. Style 2's region counts only when ``n_styles`` is 2.
        """
        if self.labels is None:
            return None, None
        lab = labels_to_pil(self.labels)
        present = {v for v, count in enumerate(lab.histogram()) if count}
        style_labels = [STYLE1, STYLE2][:n_styles]
        keep = lab.point(lambda v: 255 if v == KEEP else 0) if KEEP in present else None
        if not present & set(style_labels):
            return None, keep
        return [lab.point(lambda v, k=k: 255 if v == k else 0) for k in style_labels], keep

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
        self._push_undo()
        self._last = self.to_label(event.position())
        self._stroke(self._last, self._last)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if self._last is None or self.labels is None:
            return
        pos = self.to_label(event.position())
        self._stroke(self._last, pos)
        self._last = pos

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if self._last is not None:
            self._last = None
            self._changed()

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
            table = [QColor(0, 0, 0, 0).rgba()] * 256
            for k, c in REGION_COLOURS.items():
                table[k] = c.rgba()
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
        else:
            p.drawText(QRectF(self.rect()), Qt.AlignmentFlag.AlignCenter, "Load a content photo first")
        p.end()


class RegionEditor(QDialog):
    """A small window to paint regions over the photo: tools (Style 1, Style 2, Keep photo,
    Eraser), brush size, Undo and Clear. It is not modal; the window reads the regions
    (:meth:`RegionCanvas.engine_masks`) when a run starts."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Paint Regions")
        self.canvas = RegionCanvas()
        self.tool_buttons: dict[int, QPushButton] = {}
        self._group = QButtonGroup(self)
        tools = QHBoxLayout()
        for k in (STYLE1, STYLE2, KEEP, ERASE):
            b = QPushButton(REGION_NAMES[k])
            b.setCheckable(True)
            if k in REGION_COLOURS:
                c = REGION_COLOURS[k]
                b.setStyleSheet(f"QPushButton:checked {{ border: 2px solid rgb({c.red()},{c.green()},{c.blue()}); }}")
            self._group.addButton(b, k)
            self.tool_buttons[k] = b
            tools.addWidget(b)
        self.tool_buttons[STYLE1].setChecked(True)
        self._group.idClicked.connect(self.set_tool)
        self.brush_spin = QSpinBox()
        self.brush_spin.setRange(1, 400)
        self.brush_spin.setSuffix(" px")
        self.brush_spin.setValue(self.canvas.brush)
        self.brush_spin.valueChanged.connect(self._on_brush)
        self.undo_button = QPushButton("Undo")
        self.undo_button.clicked.connect(self.canvas.undo)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.canvas.clear)
        row = QHBoxLayout()
        row.addWidget(QLabel("Brush"))
        row.addWidget(self.brush_spin)
        row.addStretch(1)
        row.addWidget(self.undo_button)
        row.addWidget(self.clear_button)
        hint = QLabel("Paint where each style goes. Unpainted pixels keep the photo once any style region is "
                      "painted; with nothing painted the whole photo is stylised.")
        hint.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addLayout(tools)
        lay.addWidget(self.canvas, 1)
        lay.addLayout(row)
        lay.addWidget(hint)
        self.canvas.changed.connect(self._on_canvas_changed)
        self.resize(520, 480)
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
        self._refresh()

    def set_second_style(self, loaded: bool) -> None:
        b = self.tool_buttons[STYLE2]
        b.setEnabled(loaded)
        b.setToolTip("" if loaded else "Load a second style image to paint a region with it")
        if not loaded and self.canvas.tool == STYLE2:
            self.set_tool(STYLE1)

    @Slot()
    def _on_canvas_changed(self) -> None:
        self._refresh()
        self.changed.emit()

    def _refresh(self) -> None:
        self.undo_button.setEnabled(self.canvas.can_undo())
        self.clear_button.setEnabled(not self.canvas.is_empty())
