"""Painting regions in the window (offscreen): mouse strokes on the region painter, undo,
clear, eraser, and the masks that reach the StyleRequest; one short real run with regions."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import Qt

from nst_desktop.ui.main_window import MainWindow
from nst_desktop.ui.region_canvas import RegionCanvas
from nst_desktop.ui.region_labels import ERASE, KEEP, STYLE1, STYLE2, labels_to_pil
from tests.helpers import make_content
from tests.ui.helpers import few_steps, load_both, make_window, stroke


@pytest.fixture
def window(qtbot) -> MainWindow:
    return make_window(qtbot)


def _open_editor(qtbot, window: MainWindow) -> RegionCanvas:
    assert window.regions_button.isEnabled()
    qtbot.mouseClick(window.regions_button, Qt.MouseButton.LeftButton)
    qtbot.waitExposed(window.region_editor)
    return window.region_editor.canvas


def _white(mask: Image.Image, fx: float, fy: float) -> bool:
    return mask.getpixel((int(fx * (mask.width - 1)), int(fy * (mask.height - 1)))) == 255


@pytest.mark.slow
def test_strokes_undo_clear_and_the_masks_in_the_request(qtbot, window: MainWindow,
                                                          image_files: tuple[Path, Path], tmp_path: Path) -> None:
    assert not window.regions_button.isEnabled()  # no photo yet
    few_steps(window, 2, size=32)
    load_both(window, image_files)
    editor = window.region_editor
    canvas = _open_editor(qtbot, window)
    assert canvas.is_empty() and canvas.engine_masks(1) == (None, None)
    assert STYLE2 not in editor.tool_buttons  # only one style loaded: one style brush
    editor.brush_spin.setValue(12)
    stroke(canvas, [(0.1, 0.5), (0.2, 0.5), (0.3, 0.5)])  # style 1 on the left
    qtbot.mouseClick(editor.tool_buttons[KEEP], Qt.MouseButton.LeftButton)
    assert canvas.tool == KEEP
    stroke(canvas, [(0.7, 0.2), (0.9, 0.2)])  # keep the photo top right
    lab = labels_to_pil(canvas.labels)
    assert lab.size == (96, 64)
    assert lab.getpixel((19, 32)) == STYLE1 and lab.getpixel((77, 13)) == KEEP and lab.getpixel((50, 60)) == 0

    assert window.start_run()
    req = window.last_request
    with qtbot.waitSignal(window.runs.job.ended, timeout=60_000):
        pass
    assert req is not None and req.masks is not None and len(req.masks) == 1 and req.keep_mask is not None
    assert _white(req.masks[0], 0.2, 0.5) and not _white(req.masks[0], 0.8, 0.2)
    assert _white(req.keep_mask, 0.8, 0.2) and not _white(req.keep_mask, 0.2, 0.5)
    regions = window.result.metadata["regions"] if window.result is not None else {}
    assert (regions["style_masks"], regions["keep_mask"]) == (1, True)

    # undo takes back the last stroke only; the eraser removes paint; Clear removes all
    qtbot.mouseClick(editor.undo_button, Qt.MouseButton.LeftButton)
    lab = labels_to_pil(canvas.labels)
    assert lab.getpixel((77, 13)) == 0 and lab.getpixel((19, 32)) == STYLE1
    masks, keep = canvas.engine_masks(1)
    assert keep is None and masks is not None
    editor.set_tool(ERASE)
    stroke(canvas, [(0.2, 0.5)])
    assert labels_to_pil(canvas.labels).getpixel((19, 32)) == 0
    qtbot.mouseClick(editor.clear_button, Qt.MouseButton.LeftButton)
    assert canvas.is_empty() and not editor.clear_button.isEnabled()
    qtbot.mouseClick(editor.undo_button, Qt.MouseButton.LeftButton)  # Clear can be undone too
    assert not canvas.is_empty()


def test_two_style_regions_replace_the_blend(qtbot, window: MainWindow, image_files: tuple[Path, Path],
                                             tmp_path: Path) -> None:
    load_both(window, image_files)
    second = tmp_path / "second.png"
    make_content((80, 80)).save(second)
    assert window.style_list.add_paths([second]) == 1
    editor = window.region_editor
    canvas = _open_editor(qtbot, window)
    assert editor.tool_buttons[STYLE2].isEnabled() and "second.png" in editor.tool_buttons[STYLE2].text()
    editor.brush_spin.setValue(30)
    stroke(canvas, [(0.2, 0.1), (0.2, 0.9)])
    editor.set_tool(STYLE2)
    stroke(canvas, [(0.8, 0.1), (0.8, 0.9)])
    masks, keep = canvas.engine_masks(2)
    assert masks is not None and keep is None
    assert _white(masks[0], 0.2, 0.5) and not _white(masks[0], 0.8, 0.5)
    assert _white(masks[1], 0.8, 0.5) and not _white(masks[1], 0.2, 0.5)
    assert "painted" in window.regions_label.text()
    # a new photo starts with no regions
    assert window.content_pane.load_path(second)
    assert canvas.is_empty() and labels_to_pil(canvas.labels).size == (80, 80)
