"""Pillow <-> QImage conversion (safe in any thread: QImage, never QPixmap).

Images are 8-bit sRGB; a QImage made here owns its pixels (it is a deep copy, so
the Pillow buffer may go away).
"""

from __future__ import annotations

from PIL import Image
from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QImage, QPainter


def pil_to_qimage(img: Image.Image) -> QImage:
    """RGB (or any mode, converted) Pillow image -> ``QImage.Format_RGB888`` deep copy."""
    if img.mode != "RGB":
        img = img.convert("RGB")
    data = img.tobytes("raw", "RGB")
    w, h = img.size
    qimg = QImage(data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return qimg.copy()  # detach from ``data``


def qimage_to_pil(qimg: QImage) -> Image.Image:
    """QImage of any format -> RGB Pillow image (alpha composited on white, like file loading)."""
    if qimg.isNull():
        raise ValueError("the image is empty")
    if qimg.hasAlphaChannel():
        flat = QImage(qimg.size(), QImage.Format.Format_RGB888)
        flat.fill(0xFFFFFFFF)
        p = QPainter(flat)
        p.drawImage(0, 0, qimg)
        p.end()
        qimg = flat
    else:
        qimg = qimg.convertToFormat(QImage.Format.Format_RGB888)
    w, h = qimg.width(), qimg.height()
    stride = qimg.bytesPerLine()
    raw = bytes(qimg.constBits())[: stride * h]
    return Image.frombuffer("RGB", (w, h), raw, "raw", "RGB", stride, 1).copy()


def qimage_to_png_bytes(qimg: QImage) -> bytes:
    """Encode a QImage as PNG bytes (for clipboard and drag data)."""
    ba = QByteArray()
    buf = QBuffer(ba)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    qimg.save(buf, "PNG")
    buf.close()
    return bytes(ba.data())
