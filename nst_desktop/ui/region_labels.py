"""The region label image and what is done to it, with no widget (spatial control, Gatys et al. 2017).

The regions are a label image (``QImage.Format_Grayscale8``, at most
:data:`MAX_MASK_SIDE` px on the long side, the content's aspect ratio): 0 = not painted
(:data:`ERASE`), ``style_label(i)`` (= i + 1: :data:`STYLE1`, :data:`STYLE2`, ...) = paint
with the painting in row i of the Style list, :data:`KEEP` = keep the photo. Here: the
labels and their colours and names, the label image's size, conversion to and from
Pillow, relabelling when a Style-list row is removed (:func:`removal_table`) and the
connected area a Fill click covers (:func:`flood_region`).
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtGui import QColor, QImage

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


def relabel(labels: QImage, table: list[int]) -> QImage:
    """``labels`` with every label ``v`` replaced by ``table[v]`` (a new image)."""
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

