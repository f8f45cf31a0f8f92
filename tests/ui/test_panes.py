"""Input panes: drop files and image data, paste, refuse non-images and keep the old image."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QGuiApplication, QImage

from nst_desktop.ui.image_pane import DISPLAY_LONG_SIDE, ImagePane
from nst_desktop.ui.qimage_convert import pil_to_qimage, qimage_to_pil
from tests.helpers import make_content, make_style
from tests.ui.helpers import drag_and_drop, png_bytes


@pytest.fixture(params=["Content", "Style"])
def pane(request: pytest.FixtureRequest, qtbot) -> ImagePane:
    p = ImagePane(request.param, "drop here")
    p.resize(300, 300)
    qtbot.addWidget(p)
    return p


def file_mime(path: Path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    return mime


def test_drop_image_file(pane: ImagePane, image_files: tuple[Path, Path], qtbot) -> None:
    content, style = image_files
    with qtbot.waitSignal(pane.imageChanged, timeout=2000):
        mime = file_mime(style)
        assert drag_and_drop(pane, mime)
    assert pane.loaded is not None
    assert pane.loaded.path == style and pane.loaded.image.size == (80, 80)
    assert "painting.jpg" in pane.info.text() and "80 × 80 px" in pane.info.text()
    assert pane.canvas.has_image()
    assert not pane.message.isVisibleTo(pane)


def test_drop_encoded_image_data(pane: ImagePane, qtbot) -> None:
    img = make_content((40, 30))
    mime = QMimeData()
    mime.setData("image/png", png_bytes(img))
    assert drag_and_drop(pane, mime)
    assert pane.loaded is not None and pane.loaded.path is None
    assert pane.loaded.image.size == (40, 30)
    assert pane.loaded.image.getpixel((5, 5)) == img.getpixel((5, 5))
    assert "dropped image" in pane.info.text()


def test_drop_qimage(pane: ImagePane) -> None:
    img = make_style((24, 16))
    mime = QMimeData()
    mime.setImageData(pil_to_qimage(img))
    assert drag_and_drop(pane, mime)
    assert pane.loaded is not None
    assert pane.loaded.image.tobytes() == img.tobytes()


def test_drop_text_file_is_refused_and_old_image_stays(pane: ImagePane, image_files, tmp_path: Path, qtbot) -> None:
    content, _ = image_files
    assert pane.load_path(content)
    before = pane.loaded
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture")
    mime = file_mime(notes)
    with qtbot.waitSignal(pane.problem, timeout=2000) as sig:
        assert drag_and_drop(pane, mime)
    assert pane.loaded is before
    assert "notes.txt" in pane.message.text() and "not an image" in pane.message.text()
    assert pane.message.isVisibleTo(pane)
    assert sig.args[0] == pane.message.text()
    assert "photo.png" in pane.info.text()  # still describes the old image


def test_drop_plain_text_is_not_accepted(pane: ImagePane) -> None:
    mime = QMimeData()
    mime.setText("hello")
    assert not drag_and_drop(pane, mime)
    assert pane.loaded is None


def test_remote_url_without_data_says_so(pane: ImagePane) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl("https://example.com/cat.jpg")])
    assert drag_and_drop(pane, mime)
    assert pane.loaded is None
    assert "not a local file" in pane.message.text() and "example.com/cat.jpg" in pane.message.text()


def test_remote_url_with_image_data_uses_the_data(pane: ImagePane) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl("https://example.com/cat.jpg")])
    mime.setData("image/png", png_bytes(make_content((20, 10))))
    assert drag_and_drop(pane, mime)
    assert pane.loaded is not None and pane.loaded.image.size == (20, 10)


def test_damaged_image_data_is_refused(pane: ImagePane) -> None:
    mime = QMimeData()
    mime.setData("image/png", png_bytes(make_content())[:60])
    assert drag_and_drop(pane, mime)
    assert pane.loaded is None
    assert "damaged" in pane.message.text() or "truncated" in pane.message.text()


def test_paste_image_and_empty_clipboard(pane: ImagePane) -> None:
    clipboard = QGuiApplication.clipboard()
    clipboard.setImage(pil_to_qimage(make_content((30, 20))))
    assert pane.paste()
    assert pane.loaded is not None and pane.loaded.image.size == (30, 20)
    clipboard.setText("just text")
    assert not pane.paste()
    assert pane.loaded is not None and pane.loaded.image.size == (30, 20)
    assert "not an image" in pane.message.text()


def test_open_button_and_click_ask_for_the_dialog(pane: ImagePane, qtbot) -> None:
    with qtbot.waitSignal(pane.openRequested, timeout=1000):
        pane.open_button.click()
    from PySide6.QtCore import Qt

    with qtbot.waitSignal(pane.openRequested, timeout=1000):
        qtbot.mouseClick(pane.canvas, Qt.MouseButton.LeftButton)


def test_large_image_is_shown_reduced_but_kept_full(pane: ImagePane) -> None:
    big = Image.new("RGB", (DISPLAY_LONG_SIDE + 500, 100), (10, 20, 30))
    mime = QMimeData()
    mime.setData("image/png", png_bytes(big))
    assert pane.load_mime(mime)
    assert pane.loaded is not None and pane.loaded.image.size == big.size
    assert pane.canvas._cache.pixmap is not None and pane.canvas._cache.pixmap.width() == DISPLAY_LONG_SIDE
    assert f"{big.width} × 100 px" in pane.info.text()


def test_canvas_is_sharp_on_high_dpi() -> None:
    from PySide6.QtCore import QRectF

    from nst_desktop.ui.image_canvas import ScaledPixmapCache

    cache = ScaledPixmapCache()
    cache.set_image(pil_to_qimage(make_content((400, 200))))
    pm = cache.scaled(QRectF(0, 0, 100, 50), 2.0)
    assert pm is not None
    assert (pm.width(), pm.height()) == (200, 100)  # device pixels
    assert pm.devicePixelRatio() == 2.0


def test_qimage_conversion_round_trip_and_alpha() -> None:
    img = make_style((33, 17))  # odd width: rows are padded in QImage
    assert qimage_to_pil(pil_to_qimage(img)).tobytes() == img.tobytes()
    transparent = QImage(4, 4, QImage.Format.Format_ARGB32)
    transparent.fill(0x00000000)
    assert qimage_to_pil(transparent).getpixel((1, 1)) == (255, 255, 255)


def test_drag_over_highlights_the_pane(pane: ImagePane, image_files) -> None:
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent
    from PySide6.QtWidgets import QApplication

    mime = file_mime(image_files[0])
    enter = QDragEnterEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(pane, enter)
    assert enter.isAccepted() and pane.property("dragActive") is True
    QApplication.sendEvent(pane, QDragLeaveEvent())
    assert pane.property("dragActive") is False
    assert pane.loaded is None  # leaving drops nothing
