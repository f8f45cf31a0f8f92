"""The Result pane: live preview, final image, before/after comparison, zoom, drag out.

Zoom is either "fit" (the whole image in the view) or a factor of *device* pixels per
output pixel (1.0 = 100 %: one image pixel on one screen pixel, also on high-DPI
screens). Previews of the coarse-to-fine run are smaller than the output; they are
drawn at the output's size so the view does not jump when the next size starts.

Comparison (View > Compare with Photo, the "Compare" button, ``\\``): while it is on, the left
``split`` fraction of the image shows the content photo ("before"), the rest the result
("after"); the split line has a handle that is dragged on the image itself. While a run
paints, the live preview is shown whole (the comparison comes back when it ends).
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QRectF, QSize, Qt, Signal, Slot
from PySide6.QtGui import QAction, QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
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
COMPARE_TIP = ("Show the content photo (before) left of a line and the result (after) right of it; "
               "drag the line's handle on the image")
COMPARE_LIVE = "The live preview is shown whole while painting; the comparison comes back when the run ends"
#: Where the split line starts when the comparison is turned on (fraction of the width).
DEFAULT_SPLIT = 0.5
#: How near the split line (logical px) a press grabs it; the handle's radius.
HANDLE_GRAB_PX, HANDLE_RADIUS_PX = 10, 13
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
        #: The comparison is on (the photo shows left of ``split``, a fraction of the width).
        self.comparing = False
        self.split = DEFAULT_SPLIT
        #: A run is painting: the live preview is shown whole.
        self.live = False
        self.drag_enabled = False
        self._splitting = False
        self._pan_from: QPoint | None = None
        self.placeholder = ""
        self._press: QPoint | None = None
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)  # the cursor shows where the split line can be grabbed

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
        """The fraction of the width showing the photo (0: the result alone)."""
        if self.before.pixmap is None or not self.comparing or self.live:
            return 0.0
        return self.split

    def split_x(self) -> float | None:
        """The split line's x (widget px), or None when no line is shown."""
        rect = self.image_rect()
        if rect.isEmpty() or self.effective_split() <= 0:
            return None
        return rect.x() + rect.width() * self.split

    def on_split_line(self, pos: QPointF) -> bool:
        """True when ``pos`` (widget px) grabs the split line or its handle."""
        x = self.split_x()
        rect = self.image_rect()
        return x is not None and abs(pos.x() - x) <= HANDLE_GRAB_PX and rect.top() <= pos.y() <= rect.bottom()

    def set_split_at(self, x: float) -> None:
        """Move the split line to widget x ``x`` (kept inside the image)."""
        rect = self.image_rect()
        if rect.width() > 0:
            self.split = min(1.0, max(0.0, (x - rect.x()) / rect.width()))
            self.update()

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
            self._draw_tag(p, "Before", rect, left=True)
            if split < 1:
                self._draw_tag(p, "After", rect, left=False)
            self._draw_handle(p, cut, rect)
        p.end()

    def _draw_handle(self, p: QPainter, cut: float, rect: QRectF) -> None:
        """The split line and, in the middle of its visible part, a round handle with two arrows."""
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QPen(QColor(255, 255, 255, 230), 2))
        p.drawLine(QPointF(cut, rect.top()), QPointF(cut, rect.bottom()))
        visible = rect.intersected(QRectF(self.visibleRegion().boundingRect()))
        cy = visible.center().y() if not visible.isEmpty() else rect.center().y()
        r = HANDLE_RADIUS_PX
        p.setBrush(QColor(0, 0, 0, 150))
        p.drawEllipse(QPointF(cut, cy), r, r)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(255, 255, 255))
        for sign in (-1, 1):  # a small triangle pointing left, one pointing right
            tip, base = cut + sign * (r - 4), cut + sign * 3
            p.drawPolygon(QPolygonF([QPointF(tip, cy), QPointF(base, cy - 5), QPointF(base, cy + 5)]))

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
        if event.button() == Qt.MouseButton.LeftButton and self.on_split_line(event.position()):
            self._splitting = True
            self.set_split_at(event.position().x())
            return
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position().toPoint()
        elif event.button() == Qt.MouseButton.MiddleButton and self.zoom is not None:
            self._pan_from = event.globalPosition().toPoint()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if self._splitting:
            self.set_split_at(event.position().x())
            return
        if not event.buttons():
            self._hover_cursor(event.position())
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
        self._splitting = False
        if self._pan_from is not None:
            self._pan_from = None
            self._hover_cursor(event.position())
        super().mouseReleaseEvent(event)

    def _hover_cursor(self, pos: QPointF) -> None:
        """A left-right cursor over the split line; else the open hand (drag out) or the arrow."""
        if self.on_split_line(pos):
            self.setCursor(Qt.CursorShape.SplitHCursor)
        elif self.drag_enabled:
            self.setCursor(Qt.CursorShape.OpenHandCursor)
        else:
            self.setCursor(Qt.CursorShape.ArrowCursor)


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
        #: The comparison's toggle (the window puts it in View and gives it its key).
        self.compare_action = QAction("Compare", self)
        self.compare_action.setCheckable(True)
        self.compare_action.setIconText("Compare")  # the button's text (the menu's is longer)
        self.compare_action.triggered.connect(self.sync_compare)
        self.compare_button = QToolButton()
        self.compare_button.setDefaultAction(self.compare_action)
        self.compare_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(title)
        head.addStretch(1)
        head.addWidget(self.compare_button)
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
    @Slot()
    def sync_compare(self) -> None:
        """Follow the compare action's checked state (it was toggled by its key, menu or button)."""
        self.canvas.comparing = self.compare_action.isChecked()
        self._update_controls()
        self.canvas.update()

    def set_compare(self, on: bool) -> None:
        """Turn the comparison on or off."""
        self.compare_action.setChecked(on)
        self.sync_compare()

    def set_split(self, fraction: float) -> None:
        """Put the split line at ``fraction`` (0..1) of the image's width."""
        self.canvas.split = min(1.0, max(0.0, fraction))
        self.canvas.update()

    def set_live(self, live: bool) -> None:
        """A run is painting (True): show its live preview whole, whatever the comparison."""
        if live != self.canvas.live:
            self.canvas.live = live
            self._update_controls()
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
        self.compare_action.setEnabled(can_compare)
        tip = COMPARE_TIP if can_compare and not self.canvas.live else COMPARE_LIVE if can_compare \
            else NOTHING_TO_COMPARE
        self.compare_action.setToolTip(tip)
        self.compare_action.setStatusTip(tip)
        self.fit_button.setChecked(self.canvas.zoom is None)
        self.actual_button.setChecked(self.canvas.zoom == 1.0)
        self.fit_button.setToolTip("Zoom to fit the view" if has else NOTHING_TO_ZOOM)
        self.actual_button.setToolTip("Show one image pixel per screen pixel" if has else NOTHING_TO_ZOOM)
        for w in (self.fit_button, self.actual_button):
            w.setEnabled(has)
