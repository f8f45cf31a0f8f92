"""Compare with Photo: a toggle (button, View menu and key), a split line dragged on the image,
and the live preview shown whole while a run paints."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest

from nst_desktop.ui.qimage_convert import pil_to_qimage
from nst_desktop.ui.result_view import HANDLE_GRAB_PX, ResultView
from tests.helpers import make_content
from tests.ui.helpers import few_steps, inject_result, load_both


def _view(qtbot) -> ResultView:
    view = ResultView()
    view.resize(600, 450)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    view.show_image(pil_to_qimage(make_content((300, 200))))
    view.set_before(pil_to_qimage(make_content((300, 200)).point(lambda v: 255 - v)))
    return view


def _pixel(view: ResultView, fx: float) -> QImage:
    """The colour shown at ``fx`` of the image's width, in the middle of its height."""
    shot = view.canvas.grab().toImage()
    r = view.canvas.image_rect()
    dpr = shot.devicePixelRatio()
    return shot.pixelColor(round((r.x() + fx * r.width()) * dpr), round((r.y() + 0.3 * r.height()) * dpr))


def test_compare_is_a_toggle_that_shows_the_photo_left_of_the_line(qtbot) -> None:
    view = _view(qtbot)
    after, after_right = _pixel(view, 0.25), _pixel(view, 0.75)
    view.compare_action.trigger()
    assert view.compare_action.isChecked()
    assert _pixel(view, 0.25) != after, "the photo shows left of the line"
    assert _pixel(view, 0.75) == after_right, "the result shows right of it"
    view.compare_action.trigger()
    assert not view.compare_action.isChecked() and _pixel(view, 0.25) == after


def test_dragging_the_split_line_on_the_image_moves_it(qtbot) -> None:
    view = _view(qtbot)
    view.set_compare(True)
    canvas = view.canvas
    r = canvas.image_rect()
    line = QPoint(round(r.x() + 0.5 * r.width()), round(r.center().y()))
    assert canvas.on_split_line(line.toPointF())
    assert not canvas.on_split_line(QPoint(line.x() + 3 * HANDLE_GRAB_PX, line.y()).toPointF())
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, line)
    to = QPoint(round(r.x() + 0.2 * r.width()), line.y())
    QTest.mouseMove(canvas, to)
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, to)
    assert canvas.split == pytest.approx(0.2, abs=0.01)
    # Dragged past the edge, the line stays on the image.
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, to)
    QTest.mouseMove(canvas, QPoint(canvas.width() - 1, line.y()))
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       QPoint(canvas.width() - 1, line.y()))
    assert canvas.split == 1.0


def test_a_press_away_from_the_line_does_not_move_it(qtbot) -> None:
    view = _view(qtbot)
    view.set_compare(True)
    r = view.canvas.image_rect()
    away = QPoint(round(r.x() + 0.8 * r.width()), round(r.center().y()))
    QTest.mouseClick(view.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, away)
    assert view.canvas.split == pytest.approx(0.5)


def test_the_live_preview_shows_whole_while_painting(qtbot) -> None:
    """The old slider left at 100 % hid the preview of a run: now a run shows its preview whole."""
    view = _view(qtbot)
    view.set_compare(True)
    view.set_split(1.0)
    result = _pixel(view, 0.75)
    view.set_live(True)
    view.show_image(pil_to_qimage(make_content((300, 200)).point(lambda v: v // 2)))
    preview = _pixel(view, 0.25)
    assert view.canvas.effective_split() == 0.0 and preview not in (result, _pixel_of_before(view))
    assert "live preview" in view.compare_button.toolTip()
    view.set_live(False)
    assert view.canvas.effective_split() == 1.0 and view.compare_action.isChecked()


def _pixel_of_before(view: ResultView):
    return view.canvas.before.pixmap.toImage().pixelColor(75, 60)


@pytest.mark.slow
def test_the_window_shows_a_run_s_preview_whole_and_then_compares_again(qtbot, window, image_files,
                                                                       bundled_weights) -> None:
    assert [k.toString() for k in window.compare_action.shortcuts()] == ["\\"]
    load_both(window, image_files)
    inject_result(window, make_content((64, 48)))
    window.result_view.set_before(pil_to_qimage(make_content((64, 48))))
    window.compare_action.trigger()
    assert window.result_view.canvas.effective_split() == pytest.approx(0.5)
    few_steps(window, steps=400, size=32)
    assert window.start_run()
    qtbot.waitUntil(lambda: window.progress_bar.value() >= 1, timeout=60_000)
    assert window.result_view.canvas.effective_split() == 0.0
    window.cancel_run()
    qtbot.waitUntil(lambda: not window.is_running(), timeout=60_000)
    assert window.result_view.canvas.effective_split() == pytest.approx(0.5)
