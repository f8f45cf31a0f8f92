"""The region canvas: the photo with its painted regions over it, and the painting on it.

:class:`RegionCanvas` holds the label image (see :mod:`nst_desktop.ui.region_labels`)
and paints it in the GUI thread with QPainter (no antialiasing, so labels stay exact):
brush strokes, Fill, Clear, the undo/redo history, the brush outline under the pointer,
and the engine's white-on-black masks, one per style (:meth:`RegionCanvas.engine_masks`).
Pixels painted with no style keep the photo, as the engine does with pixels no mask covers.

Regions belong to rows of the Style list, not to image files: a painting replaced in
its row keeps the row's region. Removing row i (:meth:`RegionCanvas.remove_style`)
unpaints its region (those pixels become "not painted") and moves the labels of the
rows below it up by one, so every remaining painting keeps its own region; the undo
history is relabelled the same way, so Undo never brings back a removed row's label
under another painting. A row whose weight is 0 % is left out of the run, and so is
its region (its pixels keep the photo, like any pixel painted with no style).
The labels stay hard-edged here; the engine feathers the masks where regions meet
(:mod:`nst_desktop.engine.image.masks`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal, Slot
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from nst_desktop.ui.image_canvas import fit_rect
from nst_desktop.ui.region_labels import (
    KEEP,
    MAX_REGION_STYLES,
    MAX_UNDO,
    STYLE1,
    flood_region,
    label_size,
    labels_to_pil,
    pil_to_labels,
    region_colour,
    relabel,
    removal_table,
    style_label,
)


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
            self.labels = relabel(self.labels, table)
            self._undo = [relabel(u, table) for u in self._undo]
            self._redo = [relabel(u, table) for u in self._redo]
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

