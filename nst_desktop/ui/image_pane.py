"""An input pane (Content or Style): shows one image and takes new ones.

Images arrive by drag-and-drop (file URLs, encoded ``image/*`` data or a QImage, as
browsers and image editors send them), by paste, or through the file dialog that a
click or the "Open..." button asks the main window for. Something that is not an
image leaves the current image in place and shows the reason (from the engine's
:class:`ImageError`, naming the file) in the pane; :attr:`ImagePane.problem`
carries it to the status bar too.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QMimeData, Qt, QUrl, Signal, Slot
from PySide6.QtGui import (
    QDragEnterEvent,
    QDragLeaveEvent,
    QDropEvent,
    QGuiApplication,
    QImage,
)
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from nst_desktop.engine import ImageError, load_image
from nst_desktop.engine.image import decode_image, resize_long_side
from nst_desktop.ui.elided import ElidedToolButton
from nst_desktop.ui.image_canvas import ImageCanvas
from nst_desktop.ui.qimage_convert import pil_to_qimage, qimage_to_pil
from nst_desktop.ui.video_window import is_video_path

#: Long side (px) of the copy shown on screen; the full image is kept for the engine.
DISPLAY_LONG_SIDE = 2048

#: Dashed frame while something is dragged over a pane.
DRAG_HIGHLIGHT_STYLE = 'ImagePane[dragActive="true"] { border: 2px dashed palette(highlight); border-radius: 4px; }'

#: Mime types of encoded image data we try, in order, before a plain QImage.
_PREFERRED_IMAGE_MIME = ("image/png", "image/webp", "image/jpeg", "image/tiff", "image/bmp", "image/gif")


@dataclass
class LoadedImage:
    """An input image: full-resolution RGB pixels, a display name and the file it came from."""

    image: Image.Image
    name: str
    path: Path | None = None


def _image_formats(mime: QMimeData) -> list[str]:
    found = [f for f in mime.formats() if f.lower().startswith("image/")]
    found.sort(key=lambda f: _PREFERRED_IMAGE_MIME.index(f) if f in _PREFERRED_IMAGE_MIME else 99)
    return found


def mime_has_image(mime: QMimeData) -> bool:
    """True if ``mime`` may carry an image: file URLs, ``image/*`` data or a QImage."""
    return mime.hasUrls() or mime.hasImage() or bool(_image_formats(mime))


def image_from_mime(mime: QMimeData, how: str = "dropped") -> LoadedImage:
    """The image carried by ``mime``; raises :class:`ImageError` with a readable reason.

    Order: a local file URL; encoded image bytes (``image/png`` ...); a QImage; else an
    error naming what was offered. ``how`` ("dropped", "pasted") words the messages.
    """
    urls: list[QUrl] = list(mime.urls()) if mime.hasUrls() else []
    local = [u for u in urls if u.isLocalFile()]
    if local:
        path = Path(local[0].toLocalFile())
        return LoadedImage(load_image(path), path.name, path)
    for fmt in _image_formats(mime):
        data = bytes(mime.data(fmt).data())
        if data:
            return LoadedImage(decode_image(data, name=f"{how} image ({fmt})"), f"{how} image")
    if mime.hasImage():
        qimg = mime.imageData()
        if isinstance(qimg, QImage) and not qimg.isNull():
            return LoadedImage(qimage_to_pil(qimg), f"{how} image")
    if urls:
        raise ImageError(
            f"'{urls[0].toString()}' is not a local file. Save the image to disk first, or drag the picture itself."
        )
    offered = ", ".join(mime.formats()[:4]) or "nothing"
    raise ImageError(f"The {how} data is not an image (it holds {offered}).")


class ImagePane(QFrame):
    """One input image with its title, name and pixel size.

    Signals: ``imageChanged`` after a new image was accepted; ``problem(str)`` with the
    reason when something offered was refused; ``openRequested`` when the user asks
    for the file dialog (the main window owns dialogs and remembered folders).
    """

    imageChanged = Signal()
    problem = Signal(str)
    openRequested = Signal()
    #: A clip was dropped or opened (only where :attr:`takes_video` is set; see ui/video_window.py).
    videoDropped = Signal(Path)

    def __init__(self, role: str, hint: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.role = role
        self._loaded: LoadedImage | None = None
        self.takes_video = False
        self.setObjectName(f"{role.lower()}Pane")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setProperty("dragActive", False)
        self.setStyleSheet(DRAG_HIGHLIGHT_STYLE)

        self.title_label = QLabel(f"<b>{html.escape(role)}</b>")
        self.open_button = ElidedToolButton(text="Open…")
        self.open_button.setToolTip(f"Choose the {role.lower()} image from a file")
        self.open_button.clicked.connect(self.openRequested)
        self.paste_button = ElidedToolButton(text="Paste")
        self.paste_button.setToolTip(f"Use the image on the clipboard as the {role.lower()} image")
        self.paste_button.clicked.connect(self.paste)
        self.head = QHBoxLayout()
        self.head.setContentsMargins(0, 0, 0, 0)
        self.head.addWidget(self.title_label)
        self.head.addStretch(1)
        self.head.addWidget(self.open_button)
        self.head.addWidget(self.paste_button)

        self.canvas = ImageCanvas(hint)
        self.canvas.setCursor(Qt.CursorShape.PointingHandCursor)
        self.canvas.setToolTip(f"Click to open a {role.lower()} image, or drop or paste one here")
        self.canvas.clicked.connect(self.openRequested)
        # File names and error messages are user data: always shown as plain text, never
        # interpreted as rich text (a file named "<img src=...>.png" must show literally).
        self.info = QLabel(" ")
        self.info.setTextFormat(Qt.TextFormat.PlainText)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message = QLabel()
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        self.message.setObjectName("paneMessage")
        self.message.setStyleSheet("color: #c0392b;")
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.message.hide()
        self._arrange()

    def _arrange(self) -> None:
        """Lay out the title row (:attr:`head`), canvas, info and message (subclasses may differ)."""
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.setSpacing(4)
        lay.addLayout(self.head)
        lay.addWidget(self.canvas, 1)
        lay.addWidget(self.info)
        lay.addWidget(self.message)

    # --- state -------------------------------------------------------------------
    @property
    def loaded(self) -> LoadedImage | None:
        """The current image (None until one is accepted)."""
        return self._loaded

    def set_loaded(self, loaded: LoadedImage) -> None:
        """Show ``loaded`` as the pane's image (clears any earlier message)."""
        self._loaded = loaded
        shown = resize_long_side(loaded.image, DISPLAY_LONG_SIDE) if max(loaded.image.size) > DISPLAY_LONG_SIDE \
            else loaded.image
        self.canvas.set_image(pil_to_qimage(shown))
        w, h = loaded.image.size
        self.info.setText(f"{loaded.name} · {w} × {h} px")
        tip = str(loaded.path) if loaded.path else loaded.name
        self.info.setToolTip(f"<p style='white-space:pre'>{html.escape(tip)}</p>")  # literal, never markup
        self.show_message("")
        self.imageChanged.emit()

    def clear(self) -> None:
        """Remove the image (the pane shows its hint again); emits ``imageChanged``."""
        self._loaded = None
        self.canvas.set_image(None)
        self.info.setText(" ")
        self.info.setToolTip("")
        self.show_message("")
        self.imageChanged.emit()

    def show_message(self, text: str) -> None:
        """Show (or with "" hide) a problem message under the image."""
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def _refuse(self, exc: Exception) -> bool:
        text = str(exc)
        self.show_message(text)
        self.problem.emit(text)
        return False

    # --- ways in ----------------------------------------------------------------
    def load_path(self, path: str | Path) -> bool:
        """Load an image file; False (and a message) if it is not a readable image."""
        p = Path(path)
        if self.takes_video and is_video_path(p):
            self.videoDropped.emit(p)
            return True
        try:
            self.set_loaded(LoadedImage(load_image(p), p.name, p))
        except ImageError as exc:
            return self._refuse(exc)
        return True

    def load_mime(self, mime: QMimeData, how: str = "dropped") -> bool:
        """Take the image carried by drag or clipboard data (see :func:`image_from_mime`)."""
        local = [u for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []
        if local and self.takes_video and is_video_path(Path(local[0].toLocalFile())):
            self.videoDropped.emit(Path(local[0].toLocalFile()))
            return True
        try:
            self.set_loaded(image_from_mime(mime, how))
        except (ImageError, ValueError) as exc:
            return self._refuse(exc)
        return True

    @Slot()
    def paste(self) -> bool:
        """Take the image (or image file) on the clipboard."""
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None or not mime.formats():
            return self._refuse(ImageError("The clipboard is empty."))
        return self.load_mime(mime, "pasted")

    # --- events -------------------------------------------------------------------
    def _set_drag_highlight(self, on: bool) -> None:
        self.setProperty("dragActive", on)
        self.style().unpolish(self)
        self.style().polish(self)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        if mime_has_image(event.mimeData()):
            event.acceptProposedAction()
            self._set_drag_highlight(True)
        else:
            event.ignore()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:  # noqa: N802 - Qt API
        self._set_drag_highlight(False)
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        self._set_drag_highlight(False)
        event.acceptProposedAction()
        self.load_mime(event.mimeData(), "dropped")
