"""A saved contact sheet (or sweep grid), shown scaled to fit; a click on a cell names its result.

The sheet's metadata maps each cell's box (px of the sheet) to its result file
(:mod:`nst_desktop.services.contact_sheet`); a click is mapped from the widget to the sheet's
pixels and looked up with :func:`~nst_desktop.services.contact_sheet.cell_at`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from nst_desktop.engine import ImageError, load_image, read_metadata
from nst_desktop.services.contact_sheet import cell_at
from nst_desktop.ui.image_canvas import ScaledPixmapCache, fit_rect, paint_placeholder
from nst_desktop.ui.qimage_convert import pil_to_qimage


class SheetView(QWidget):
    """Shows one sheet. Signals: ``cellClicked(dict)``: the cell record under a click (its
    ``output`` file, ``row``, ``col``, ``note``)."""

    cellClicked = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path: Path | None = None
        self._meta: dict[str, Any] | None = None
        self._size = (0, 0)
        self._cache = ScaledPixmapCache()
        self.setMinimumHeight(120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Click a cell to show that result and its settings")

    def load(self, path: Path) -> str | None:
        """Show the sheet saved at ``path``; returns why it cannot be shown (None: shown)."""
        try:
            image = load_image(path)
            meta = read_metadata(path)
        except ImageError as exc:
            return str(exc)
        self.path, self._meta, self._size = path, meta, image.size
        self._cache.set_image(pil_to_qimage(image))
        self.update()
        return None

    def clear(self) -> None:
        self.path, self._meta, self._size = None, None, (0, 0)
        self._cache.set_image(None)
        self.update()

    def image_rect(self) -> QRectF:
        """Where the sheet is drawn (logical px of the widget)."""
        return fit_rect(self._size[0], self._size[1], QRectF(self.rect()))

    def widget_point(self, x: float, y: float) -> QPointF:
        """The widget point over the sheet's pixel (x, y)."""
        r = self.image_rect()
        return QPointF(r.x() + x * r.width() / max(1, self._size[0]), r.y() + y * r.height() / max(1, self._size[1]))

    def cell_under(self, pos: QPointF) -> dict[str, Any] | None:
        """The cell record under a widget point, or None (outside the cells)."""
        r = self.image_rect()
        if r.isEmpty() or not r.contains(pos):
            return None
        x = (pos.x() - r.x()) * self._size[0] / r.width()
        y = (pos.y() - r.y()) * self._size[1] / r.height()
        return cell_at(self._meta, int(x), int(y))

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if event.button() == Qt.MouseButton.LeftButton:
            cell = self.cell_under(event.position())
            if cell is not None:
                self.cellClicked.emit(cell)
                event.accept()
                return
        super().mousePressEvent(event)

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        r = self.image_rect()
        pm = self._cache.scaled(r, self.devicePixelRatioF())
        if pm is None:
            paint_placeholder(p, self, "The contact sheet appears here when a group of the queue has finished")
        else:
            p.drawPixmap(r.topLeft(), pm)
        p.end()
