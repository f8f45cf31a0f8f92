"""A widget that paints an image scaled to fit, sharp on high-DPI screens.

The image is kept as a QPixmap (GUI thread only). For "fit" display a copy scaled
to the target size in *device* pixels (logical size x devicePixelRatio) is cached
and drawn with its devicePixelRatio set, so the screen shows it without a second,
blurring scale step.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QImage, QMouseEvent, QPainter, QPaintEvent, QPalette, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget


def fit_rect(image_w: float, image_h: float, area: QRectF) -> QRectF:
    """The largest rect of the image's aspect ratio inside ``area``, centred (logical px).

    Small images are enlarged to fill the area, large ones reduced."""
    if image_w <= 0 or image_h <= 0 or area.width() <= 0 or area.height() <= 0:
        return QRectF()
    scale = min(area.width() / image_w, area.height() / image_h)
    w, h = image_w * scale, image_h * scale
    return QRectF(area.x() + (area.width() - w) / 2, area.y() + (area.height() - h) / 2, w, h)


def paint_placeholder(p: QPainter, widget: QWidget, text: str) -> None:
    """Centred, wrapped hint text in the palette's placeholder colour (nothing for "")."""
    if text:
        p.setPen(widget.palette().color(QPalette.ColorRole.PlaceholderText))
        p.drawText(QRectF(widget.rect()).adjusted(12, 12, -12, -12),
                   Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)


class ScaledPixmapCache:
    """One pixmap and a cached copy of it scaled to a size in device pixels."""

    def __init__(self) -> None:
        self.pixmap: QPixmap | None = None
        self._key: tuple[int, int, float] | None = None
        self._scaled: QPixmap | None = None

    def set_image(self, image: QImage | None) -> None:
        self.pixmap = QPixmap.fromImage(image) if image is not None and not image.isNull() else None
        self._key = self._scaled = None

    def scaled(self, logical: QRectF, dpr: float) -> QPixmap | None:
        """The pixmap scaled (smoothly) to ``logical`` size x ``dpr`` device pixels."""
        if self.pixmap is None or logical.isEmpty():
            return None
        w, h = max(1, round(logical.width() * dpr)), max(1, round(logical.height() * dpr))
        key = (w, h, dpr)
        if key != self._key:
            if (w, h) == (self.pixmap.width(), self.pixmap.height()):
                pm = QPixmap(self.pixmap)
            else:
                pm = self.pixmap.scaled(
                    w, h, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
                )
            pm.setDevicePixelRatio(dpr)
            self._key, self._scaled = key, pm
        return self._scaled


class ImageCanvas(QWidget):
    """Shows one image scaled to fit the widget, or a placeholder text when there is none.

    ``clicked`` is emitted on a left-button click (press and release inside).
    """

    clicked = Signal()

    def __init__(self, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._cache = ScaledPixmapCache()
        self._placeholder = placeholder
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(120, 90)

    def set_image(self, image: QImage | None) -> None:
        self._cache.set_image(image)
        self.update()

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.update()

    def has_image(self) -> bool:
        return self._cache.pixmap is not None

    def image_rect(self) -> QRectF:
        """Where the image is drawn, in logical widget coordinates (empty if none)."""
        pm = self._cache.pixmap
        if pm is None:
            return QRectF()
        return fit_rect(pm.width(), pm.height(), QRectF(self.rect()).adjusted(4, 4, -4, -4))

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(320, 240)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(event.position().toPoint()):
            self.clicked.emit()
        super().mouseReleaseEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        rect = self.image_rect()
        scaled = self._cache.scaled(rect, self.devicePixelRatioF())
        if scaled is not None:
            p.drawPixmap(rect.topLeft(), scaled)
        else:
            paint_placeholder(p, self, self._placeholder)
        p.end()
