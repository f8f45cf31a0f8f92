"""The Result pane: live preview, final image, before/after comparison, zoom, drag out.

Zoom is either "fit" (the whole image in the view) or a factor of *device* pixels per
output pixel (1.0 = 100 %: one image pixel on one screen pixel, also on high-DPI
screens). Previews of the coarse-to-fine run are smaller than the output; they are
drawn at the output's size so the view does not jump when the next size starts.

Comparison: the left ``split`` fraction of the image shows the content photo
("before"), the rest the result ("after"); the slider sets it, and holding the
"Compare" button shows the whole photo.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QRectF, QSize, Qt, Signal, Slot
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from nst_desktop.ui.image_canvas import ScaledPixmapCache, fit_rect, paint_placeholder

ZOOM_STEP = 1.25
#: The result pane's text before the first result, for each state of the inputs.
HINT_NOTHING = "The painting appears here.\nLoad a content photo and a style image, then Stylize."
HINT_NEED_STYLE = "The painting appears here.\nNow add a style image (a painting) to the Style list, then Stylize."
HINT_NEED_CONTENT = "The painting appears here.\nNow load a content photo (drop, open or paste one), then Stylize."
HINT_READY = "Ready: press Stylize (Ctrl+Return) to paint the photo in the style."
HINT_RUNNING = "Painting… the first preview appears here in a moment."


def next_step_hint(running: bool, has_content: bool, has_style: bool, all_zero: bool, all_zero_text: str) -> str:
    """The result pane's text while it has no image: the next thing to do in this state."""
    if running:
        return HINT_RUNNING
    if not has_content and not has_style:
        return HINT_NOTHING
    if not has_style:
        return HINT_NEED_STYLE
    if not has_content:
        return HINT_NEED_CONTENT
    return all_zero_text if all_zero else HINT_READY


NOTHING_TO_COMPARE = "Nothing to compare yet: paint a result first"
NOTHING_TO_ZOOM = "Nothing to zoom yet: paint a result first"
COMPARE_TIPS = {
    False: "Slide to show the content photo (before) left of the line and the result (after) right of it",
    True: "Press and hold to see the content photo instead of the result",
}
MIN_ZOOM, MAX_ZOOM = 1 / 16, 16.0


class ResultCanvas(QWidget):
    """Paints the result (and the "before" image left of the split line).

    ``dragStarted`` is emitted when the user drags from the image (left button moved
    beyond the platform's drag distance) while :attr:`drag_enabled` is True.
    """

    dragStarted = Signal()
    #: Middle-button drag on a zoomed image: (dx, dy) screen px the image should follow.
    panned = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.after = ScaledPixmapCache()
        self.before = ScaledPixmapCache()
        self.output_size: QSize | None = None  # final size in image px, if known
        self.zoom: float | None = None  # None = fit
        self.split = 0.0
        self.hold = False
        self.drag_enabled = False
        self._pan_from: QPoint | None = None
        self.placeholder = ""
        self._press: QPoint | None = None
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def image_size(self) -> QSize | None:
        """Size (image px) the shown image stands for: the output's, else the pixmap's."""
        if self.output_size is not None:
            return self.output_size
        pm = self.after.pixmap
        return pm.size() if pm is not None else None

    def zoomed_size(self) -> QSize:
        """Logical size of the canvas at the current (non-fit) zoom."""
        size = self.image_size()
        if size is None or self.zoom is None:
            return QSize(0, 0)
        dpr = self.devicePixelRatioF()
        return QSize(max(1, round(size.width() * self.zoom / dpr)), max(1, round(size.height() * self.zoom / dpr)))

    def image_rect(self) -> QRectF:
        size = self.image_size()
        if size is None or self.after.pixmap is None:
            return QRectF()
        if self.zoom is None:
            return fit_rect(size.width(), size.height(), QRectF(self.rect()).adjusted(4, 4, -4, -4))
        z = self.zoomed_size()
        return QRectF(0, 0, z.width(), z.height())

    def effective_split(self) -> float:
        if self.before.pixmap is None:
            return 0.0
        return 1.0 if self.hold else self.split

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        rect = self.image_rect()
        if rect.isEmpty():
            paint_placeholder(p, self, self.placeholder)
            p.end()
            return
        dpr = self.devicePixelRatioF()
        split = self.effective_split()
        self._draw(p, self.after, rect, dpr)
        if split > 0:
            cut = rect.x() + rect.width() * split
            p.save()
            p.setClipRect(QRectF(rect.x(), rect.y(), cut - rect.x(), rect.height()))
            self._draw(p, self.before, rect, dpr)
            p.restore()
            if split < 1:
                p.setPen(QPen(QColor(255, 255, 255, 220), 2))
                p.drawLine(QPointF(cut, rect.top()), QPointF(cut, rect.bottom()))
            self._draw_tag(p, "Before", rect, left=True)
            if split < 1:
                self._draw_tag(p, "After", rect, left=False)
        p.end()

    def _draw_tag(self, p: QPainter, text: str, rect: QRectF, left: bool) -> None:
        """A small label in a top corner of the visible part of the image."""
        visible = rect.intersected(QRectF(self.visibleRegion().boundingRect()))
        if visible.isEmpty():
            return
        fm = p.fontMetrics()
        w, h = fm.horizontalAdvance(text) + 12, fm.height() + 6
        x = visible.left() + 8 if left else visible.right() - 8 - w
        box = QRectF(x, visible.top() + 8, w, h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 140))
        p.drawRoundedRect(box, 4, 4)
        p.setPen(QColor(255, 255, 255))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def _draw(self, p: QPainter, cache: ScaledPixmapCache, rect: QRectF, dpr: float) -> None:
        if self.zoom is None:
            pm = cache.scaled(rect, dpr)
            if pm is not None:
                p.drawPixmap(rect.topLeft(), pm)
        elif cache.pixmap is not None:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.zoom < 1)
            p.drawPixmap(rect, cache.pixmap, QRectF(cache.pixmap.rect()))

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position().toPoint()
        elif event.button() == Qt.MouseButton.MiddleButton and self.zoom is not None:
            self._pan_from = event.globalPosition().toPoint()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if self._pan_from is not None and event.buttons() & Qt.MouseButton.MiddleButton:
            # Middle-button drag pans a zoomed image (the left button drags the result out).
            now = event.globalPosition().toPoint()
            delta = now - self._pan_from
            self._pan_from = now
            self.panned.emit(delta.x(), delta.y())
            return
        if (
            self._press is not None
            and self.drag_enabled
            and event.buttons() & Qt.MouseButton.LeftButton
            and (event.position().toPoint() - self._press).manhattanLength() >= QApplication.startDragDistance()
        ):
            self._press = None
            self.dragStarted.emit()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        self._press = None
        if self._pan_from is not None:
            self._pan_from = None
            self.unsetCursor()
        super().mouseReleaseEvent(event)


class ResultView(QWidget):
    """Result pane: toolbar (fit, 100 %, compare), scrollable canvas and a caption line.

    ``dragOutRequested`` asks the window to start a drag of the full-resolution result.
    """

    dragOutRequested = Signal()
    zoomChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = ResultCanvas()
        self.canvas.placeholder = HINT_NOTHING
        self.canvas.dragStarted.connect(self.dragOutRequested)
        self.scroll = QScrollArea()
        self.canvas.panned.connect(self._pan)
        self.scroll.setWidget(self.canvas)
        self.scroll.setWidgetResizable(True)
        self.scroll.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)

        title = QLabel("<b>Result</b>")
        self.fit_button = QToolButton(text="Fit")
        self.fit_button.setCheckable(True)
        self.fit_button.clicked.connect(self.zoom_fit)
        self.actual_button = QToolButton(text="100%")
        self.actual_button.setCheckable(True)
        self.actual_button.clicked.connect(self.zoom_actual)
        self.compare_slider = QSlider(Qt.Orientation.Horizontal)
        self.compare_slider.setRange(0, 100)
        self.compare_slider.setMinimumWidth(70)
        self.compare_slider.setMaximumWidth(220)
        self.compare_slider.valueChanged.connect(self._on_split)
        self.hold_button = QPushButton("Compare")
        self.hold_button.pressed.connect(self._on_hold)
        self.hold_button.released.connect(self._on_release)
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(title)
        head.addStretch(1)
        head.addWidget(self.compare_slider, 1)
        head.addWidget(self.hold_button)
        head.addSpacing(6)
        head.addWidget(self.fit_button)
        head.addWidget(self.actual_button)

        self.caption = QLabel(" ")
        self.caption.setTextFormat(Qt.TextFormat.PlainText)  # it carries file names
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.setSpacing(4)
        lay.addLayout(head)
        lay.addWidget(self.scroll, 1)
        lay.addWidget(self.caption)
        self._update_controls()

    # --- content -------------------------------------------------------------
    def show_image(self, image: QImage, output_size: QSize | None = None) -> None:
        """Show a preview or the final image (``output_size``: the final size in px, if known)."""
        self.canvas.after.set_image(image)
        self.canvas.output_size = output_size
        self._relayout()

    def set_before(self, image: QImage | None) -> None:
        """The content photo to compare against (None: no comparison)."""
        self.canvas.before.set_image(image)
        self._relayout()

    def clear(self) -> None:
        self.canvas.after.set_image(None)
        self.canvas.output_size = None
        self.set_caption(" ")
        self._relayout()

    def has_image(self) -> bool:
        return self.canvas.after.pixmap is not None

    def set_placeholder(self, text: str) -> None:
        """The text shown while there is no image (what to do next)."""
        if text != self.canvas.placeholder:
            self.canvas.placeholder = text
            self.canvas.update()

    def set_caption(self, text: str) -> None:
        self.caption.setText(text)

    def _pan(self, dx: int, dy: int) -> None:
        """Move the view so that the image follows the mouse by (dx, dy) px."""
        h, v = self.scroll.horizontalScrollBar(), self.scroll.verticalScrollBar()
        h.setValue(h.value() - dx)
        v.setValue(v.value() - dy)

    def set_drag_enabled(self, on: bool) -> None:
        self.canvas.drag_enabled = on
        self.canvas.setCursor(Qt.CursorShape.OpenHandCursor if on else Qt.CursorShape.ArrowCursor)
        self.canvas.setToolTip("Drag the result into another program or folder to save or use it; "
                               "at 100 %, drag with the middle button (or scroll) to move around it" if on else "")

    # --- zoom ----------------------------------------------------------------
    @property
    def zoom(self) -> float | None:
        """None for fit, else device px per image px."""
        return self.canvas.zoom

    def set_zoom(self, zoom: float | None) -> None:
        if zoom is not None:
            zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        self.canvas.zoom = zoom
        self._relayout()
        self.zoomChanged.emit()

    @Slot()
    def zoom_fit(self) -> None:
        self.set_zoom(None)

    @Slot()
    def zoom_actual(self) -> None:
        self.set_zoom(1.0)

    def _current_factor(self) -> float:
        if self.canvas.zoom is not None:
            return self.canvas.zoom
        size = self.canvas.image_size()
        rect = self.canvas.image_rect()
        if size is None or rect.isEmpty():
            return 1.0
        return rect.width() * self.canvas.devicePixelRatioF() / size.width()

    @Slot()
    def zoom_in(self) -> None:
        self.set_zoom(self._current_factor() * ZOOM_STEP)

    @Slot()
    def zoom_out(self) -> None:
        self.set_zoom(self._current_factor() / ZOOM_STEP)

    # --- compare ---------------------------------------------------------------
    @Slot(int)
    def _on_split(self, value: int) -> None:
        self.canvas.split = value / 100
        self.canvas.update()

    @Slot()
    def _on_hold(self) -> None:
        self.canvas.hold = True
        self.canvas.update()

    @Slot()
    def _on_release(self) -> None:
        self.canvas.hold = False
        self.canvas.update()

    # --- internals ---------------------------------------------------------------
    def _relayout(self) -> None:
        fit = self.canvas.zoom is None
        self.scroll.setWidgetResizable(fit)
        if fit:
            self.canvas.setMinimumSize(160, 120)
        else:
            size = self.canvas.zoomed_size()
            self.canvas.setMinimumSize(size)
            self.canvas.resize(size)
        self._update_controls()
        self.canvas.update()

    def _update_controls(self) -> None:
        has = self.has_image()
        can_compare = has and self.canvas.before.pixmap is not None
        for w in (self.compare_slider, self.hold_button):
            w.setEnabled(can_compare)
            w.setToolTip(COMPARE_TIPS[w is self.hold_button] if can_compare else NOTHING_TO_COMPARE)
        self.fit_button.setChecked(self.canvas.zoom is None)
        self.actual_button.setChecked(self.canvas.zoom == 1.0)
        self.fit_button.setToolTip("Zoom to fit the view" if has else NOTHING_TO_ZOOM)
        self.actual_button.setToolTip("Show one image pixel per screen pixel" if has else NOTHING_TO_ZOOM)
        for w in (self.fit_button, self.actual_button):
            w.setEnabled(has)
