"""Continue after the photo changed (issue 35, bug 2): it used to paint on from the old result,
squashed to the new photo's shape, labelled "continued". Now it is off, and its tooltip says why."""

from __future__ import annotations

from pathlib import Path

from PIL import ImageOps

from nst_desktop.ui.continue_check import PHOTO_CHANGED, shape_changed
from nst_desktop.ui.main_window import MainWindow
from tests.helpers import make_content
from tests.ui.helpers import few_steps, inject_result, load_both


def _run(qtbot, window: MainWindow) -> None:
    assert window.start_run()
    with qtbot.waitSignal(window.runs.job.ended, timeout=60_000):
        pass


def test_continue_is_off_after_another_photo_and_back_on_with_the_same_one(
        qtbot, window: MainWindow, image_files: tuple[Path, Path], tmp_path: Path) -> None:
    few_steps(window, 2, size=32)
    load_both(window, image_files)
    _run(qtbot, window)
    assert window.continue_button.isEnabled()
    request = window.last_request

    mirrored = tmp_path / "mirrored.png"  # the same shape, other pixels
    ImageOps.mirror(make_content()).save(mirrored)
    assert window.content_pane.load_path(mirrored)
    assert not window.continue_button.isEnabled()
    assert window.continue_button.toolTip() == PHOTO_CHANGED
    assert not window.continue_run()
    assert window.last_request is request and not window.is_running()
    assert "photo changed" in window.statusBar().currentMessage()

    tall = tmp_path / "tall.png"
    make_content((40, 90)).save(tall)
    assert window.content_pane.load_path(tall)
    assert not window.continue_button.isEnabled() and window.continue_button.toolTip() == PHOTO_CHANGED

    assert window.content_pane.load_path(image_files[0])  # the same photo again (a new image object)
    assert window.continue_button.isEnabled()
    assert "Paint more steps" in window.continue_button.toolTip()


def test_a_result_of_an_unknown_photo_continues_only_at_the_photos_shape(
        window: MainWindow, image_files: tuple[Path, Path]) -> None:
    load_both(window, image_files)  # a 96 x 64 photo
    inject_result(window, make_content((48, 32)))  # e.g. recovered: its photo is not known
    assert window.continue_button.isEnabled()
    inject_result(window, make_content((32, 48)))
    assert not window.continue_button.isEnabled()
    assert "not the shape of the photo" in window.continue_button.toolTip()


def test_shape_changed_allows_the_rounding_of_the_short_side() -> None:
    assert not shape_changed((512, 341), (3000, 2000)) and not shape_changed((512, 342), (3000, 2000))
    assert shape_changed((512, 384), (3000, 2000)) and shape_changed((341, 512), (3000, 2000))
