"""The Paint Regions window's tools: Undo / Redo (keys and actions), the brush outline, Fill,
OK / Cancel and resizing (the engine feathers the hard labels: tests/engine/test_mask_feather.py)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from nst_desktop.ui.mask_editor import RegionEditor
from nst_desktop.ui.region_labels import ERASE, KEEP, STYLE1, STYLE2, flood_region, labels_to_pil
from tests.helpers import make_content
from tests.ui.helpers import stroke


@pytest.fixture
def editor(qtbot) -> RegionEditor:
    ed = RegionEditor()
    qtbot.addWidget(ed)
    ed.set_styles(["a.png", "b.png"])
    ed.set_photo(make_content((300, 200)))
    ed.show()
    qtbot.waitExposed(ed)
    return ed


def _label(ed: RegionEditor, fx: float, fy: float) -> int:
    lab = labels_to_pil(ed.canvas.labels)
    return lab.getpixel((int(fx * (lab.width - 1)), int(fy * (lab.height - 1))))


def test_ctrl_z_undoes_and_ctrl_shift_z_redoes(qtbot, editor: RegionEditor) -> None:
    stroke(editor.canvas, [(0.2, 0.5), (0.4, 0.5)])
    assert _label(editor, 0.3, 0.5) == STYLE1 and not editor.redo_button.isEnabled()
    QTest.keyClick(editor.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert _label(editor, 0.3, 0.5) == ERASE and editor.redo_button.isEnabled()
    QTest.keyClick(editor.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    assert _label(editor, 0.3, 0.5) == STYLE1
    editor.undo_action.trigger()
    assert _label(editor, 0.3, 0.5) == ERASE
    editor.redo_action.trigger()
    assert _label(editor, 0.3, 0.5) == STYLE1
    editor.undo_action.trigger()
    stroke(editor.canvas, [(0.6, 0.2), (0.7, 0.2)])  # a new stroke ends what could be redone
    assert not editor.canvas.can_redo() and not editor.redo_button.isEnabled()


def test_the_brush_outline_follows_the_pointer_at_the_brush_size(qtbot, editor: RegionEditor) -> None:
    canvas = editor.canvas
    editor.brush_spin.setValue(30)
    r = canvas.image_rect()
    at = QPoint(round(r.center().x()), round(r.center().y()))
    # Sent to the canvas itself: QTest.mouseMove goes through the window system, which hands the move to
    # whichever top-level window is at that point, and windows of earlier tests may still be there.
    QApplication.sendEvent(canvas, QMouseEvent(QEvent.Type.MouseMove, QPointF(at), canvas.mapToGlobal(QPointF(at)),
                                               Qt.MouseButton.NoButton, Qt.MouseButton.NoButton,
                                               Qt.KeyboardModifier.NoModifier))
    outline = canvas.brush_outline()
    assert outline is not None and outline.center() == QPointF(at)
    assert outline.width() == pytest.approx(30 * r.width() / canvas.labels.width())
    shot = canvas.grab().toImage()
    dpr = shot.devicePixelRatio()
    edge = shot.pixelColor(round((outline.right()) * dpr), round(outline.center().y() * dpr))
    plain = editor.canvas._photo.pixelColor(150, 100)
    assert edge != plain  # the circle is drawn
    editor.fill_button.click()
    assert canvas.brush_outline() is None  # Fill has no brush


def test_fill_fills_the_area_closed_by_a_stroke(qtbot, editor: RegionEditor) -> None:
    canvas = editor.canvas
    editor.brush_spin.setValue(6)
    stroke(canvas, [(0.2, 0.2), (0.8, 0.2), (0.8, 0.8), (0.2, 0.8), (0.2, 0.2)])  # a closed frame in Style 1
    editor.set_tool(STYLE2)
    editor.fill_button.click()
    r = canvas.image_rect()
    QTest.mouseClick(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(round(r.x() + 0.5 * r.width()), round(r.y() + 0.5 * r.height())))
    assert _label(editor, 0.5, 0.5) == STYLE2 and _label(editor, 0.3, 0.6) == STYLE2
    assert _label(editor, 0.2, 0.5) == STYLE1 and _label(editor, 0.05, 0.05) == ERASE
    editor.undo_action.trigger()
    assert _label(editor, 0.5, 0.5) == ERASE and _label(editor, 0.2, 0.5) == STYLE1


def test_flood_region_follows_a_winding_path() -> None:
    """A spiral corridor needs many row / column passes; the walls and the other side stay out."""
    img = Image.new("L", (61, 61), 0)
    d = ImageDraw.Draw(img)
    for i in range(0, 30, 4):  # concentric square walls with a gap in each
        d.rectangle((i, i, 60 - i, 60 - i), outline=9)
        d.point((i + 2 if i % 8 else 60 - i - 2, i), fill=0)
    lab = np.array(img)
    got = flood_region(lab, 2, 30)
    assert got[30, 2] and not got[lab == 9].any()
    # Same answer as a plain breadth-first fill.
    want = np.zeros_like(got)
    todo = [(30, 2)]
    while todo:
        y, x = todo.pop()
        if 0 <= y < 61 and 0 <= x < 61 and not want[y, x] and lab[y, x] == 0:
            want[y, x] = True
            todo += [(y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)]
    assert np.array_equal(got, want)


def test_cancel_puts_back_the_regions_and_ok_keeps_them(qtbot, editor: RegionEditor) -> None:
    stroke(editor.canvas, [(0.2, 0.5), (0.4, 0.5)])
    editor.buttons.button(editor.buttons.StandardButton.Ok).click()
    assert not editor.isVisible() and _label(editor, 0.3, 0.5) == STYLE1
    editor.show()
    editor.set_tool(KEEP)
    stroke(editor.canvas, [(0.6, 0.5), (0.8, 0.5)])
    assert _label(editor, 0.7, 0.5) == KEEP
    editor.buttons.button(editor.buttons.StandardButton.Cancel).click()
    assert not editor.isVisible()
    assert _label(editor, 0.7, 0.5) == ERASE and _label(editor, 0.3, 0.5) == STYLE1
    editor.show()
    editor.set_tool(KEEP)
    stroke(editor.canvas, [(0.6, 0.5), (0.8, 0.5)])
    QTest.keyClick(editor, Qt.Key.Key_Escape)  # Esc is Cancel
    assert _label(editor, 0.7, 0.5) == ERASE


def test_the_window_is_resizable_and_the_photo_grows_with_it(qtbot, editor: RegionEditor) -> None:
    assert editor.isSizeGripEnabled()
    small = editor.canvas.image_rect().width()
    editor.resize(editor.width() + 300, editor.height() + 200)
    qtbot.waitUntil(lambda: editor.canvas.image_rect().width() > small + 100, timeout=3000)


def test_cancel_after_a_painting_was_removed_keeps_the_rows_regions_apart(qtbot, editor: RegionEditor) -> None:
    """Removing row 1 while the window is open moves row 2's region to label 1; Cancel must put
    back the regions in the new numbering (not give row 2's old label to nobody, or row 1's to row 2)."""
    editor.set_tool(STYLE2)
    stroke(editor.canvas, [(0.6, 0.5), (0.8, 0.5)])
    editor.set_tool(STYLE1)
    stroke(editor.canvas, [(0.2, 0.5), (0.4, 0.5)])
    editor.accept()
    editor.show()
    editor.set_tool(KEEP)
    stroke(editor.canvas, [(0.5, 0.1), (0.6, 0.1)])
    editor.remove_style(0)
    editor.set_styles(["b.png"])
    editor.reject()
    assert _label(editor, 0.7, 0.5) == STYLE1  # b.png's region, now row 1
    assert _label(editor, 0.3, 0.5) == ERASE  # a.png's region went with it
    assert _label(editor, 0.55, 0.1) == ERASE  # the stroke made after opening is cancelled
