"""Bugs a new user hit in the first hour (issue 35): the History's highlight while the queue runs,
Edit > New Seed while the seed is unused, the empty queue's progress text."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QScrollArea

from nst_desktop.ui.controls import SEED_UNUSED
from nst_desktop.ui.main_window import MainWindow
from tests.helpers import make_content, make_style
from tests.ui.helpers import few_steps, load_both


def test_new_seed_is_off_while_the_seed_is_unused(window: MainWindow) -> None:
    c = window.controls
    c.init_combo.setCurrentIndex(c.init_combo.findData("content"))
    seed = c.seed_spin.value()
    assert not window.new_seed_action.isEnabled() and window.new_seed_action.statusTip() == SEED_UNUSED
    window.new_seed_action.trigger()
    c.new_seed()  # called directly too: the unused seed stays as it was
    assert c.seed_spin.value() == seed
    c.init_combo.setCurrentIndex(c.init_combo.findData("noise"))
    assert window.new_seed_action.isEnabled()
    seeds = set()
    for _ in range(3):
        window.new_seed_action.trigger()
        seeds.add(c.seed_spin.value())
    assert len(seeds) > 1


def test_an_empty_queue_says_nothing_is_queued(window: MainWindow) -> None:
    bar = window.queue_panel.progress
    assert "0 of 1" not in bar.text() and bar.text() == "Nothing queued"


@pytest.mark.usefixtures("bundled_weights")
def test_the_history_highlight_stays_on_the_shown_result_while_the_queue_runs(
        qtbot, window: MainWindow, image_files: tuple[Path, Path], tmp_path: Path) -> None:
    few_steps(window, 2, size=32)
    load_both(window, image_files)
    assert window.start_run()
    with qtbot.waitSignal(window.runs.job.ended, timeout=60_000):
        pass
    shown = window.result
    assert window.history.current_entry().result is shown
    photo, painting = tmp_path / "q-photo.png", tmp_path / "q-painting.png"
    make_content((40, 30)).save(photo)
    make_style((32, 32)).save(painting)
    panel = window.queue_panel
    assert panel.photos.add_paths([photo, image_files[0]]) == [] and panel.paintings.add_paths([painting]) == []
    panel.out_edit.setText(str(tmp_path / "results"))
    assert panel.add_to_queue() == 2
    assert panel.progress.text() == "0 of 2 finished"
    added: list[object] = []
    panel.stateChanged.connect(lambda: added.append(window.history.current_entry()))  # after each result too
    panel.run_button.click()
    qtbot.waitUntil(lambda: not panel.runner.is_active() and not panel.runner.is_running(), timeout=120_000)
    assert window.history.count() == 3 and added
    assert window.result is shown
    assert all(e is not None and e.result is shown for e in added)  # never a queue result the view does not show
    newest = window.history.newest()
    panel.show_result_file(newest.saved_as)  # asked for: shown, and highlighted
    assert window.result is newest.result and window.history.current_entry() is newest


def test_open_video_offers_video_files(window: MainWindow) -> None:
    """File > Open Video… opened the image dialog (photos offered, clips hidden)."""
    from nst_desktop.app_info import IMAGE_EXTENSIONS
    from nst_desktop.ui.video_open import video_filter

    window.open_video_action.trigger()
    assert window.prompts.video_dialogs == ["Open a video to paint"] and not window.prompts.informed
    first = video_filter().split(";;")[0]
    assert first.startswith("Videos (") and "*.mp4" in first and "*.mov" in first
    assert not [e for e in IMAGE_EXTENSIONS if e != ".gif" and f"*{e} " in first + " "]


def test_without_the_video_extra_open_video_says_how_to_add_it_before_the_dialog(
        window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "av", None)  # as if PyAV were not installed: importing it fails
    window.open_video_action.trigger()
    assert window.prompts.dialogs == []  # no file dialog
    [(title, text)] = window.prompts.informed
    assert "PyAV" in text and "pip install 'nst-desktop[video]'" in text and "NST_EXTRAS=video" in text


def test_the_packaged_app_says_to_install_with_pip_not_to_add_an_extra() -> None:
    from nst_desktop.ui.video_open import video_extra_help

    text = video_extra_help(frozen=True)
    assert "pip install 'nst-desktop[video]'" in text and "setup.sh" not in text and "quit the app" not in text


def test_a_small_seamless_texture_is_not_announced_as_too_large_for_memory(qtbot) -> None:
    """A 256 x 192 px texture is planned as one tile wrapped around the whole picture (with
    memory to spare): the estimate said "Painted in tiles … does not fit in memory"."""
    from nst_desktop.engine.device.devices import DeviceInfo
    from nst_desktop.ui.controls import ControlsPanel

    panel = ControlsPanel([DeviceInfo("cpu", "CPU (2 cores)", 16_000_000_000)], cpu_cores=2)
    qtbot.addWidget(panel)
    panel.set_content_aspect((192, 256))
    panel.size_spin.setValue(256)
    panel.seamless_check.setChecked(True)
    text = panel.estimate_label.text()
    assert "does not fit in memory" not in text and "in tiles" not in text
    assert "wrapped around its edges, so that it repeats without a seam" in text
    panel.seamless_check.setChecked(False)
    assert "wrapped" not in panel.estimate_label.text() and "tiles" not in panel.estimate_label.text()


def test_the_tiles_note_names_tiles_only_where_there_are_several() -> None:
    from nst_desktop.ui.tiles_note import tiles_note

    assert tiles_note(0, 256, 192, seamless=True) is None and tiles_note(0, 256, 192, seamless=False) is None
    assert "does not fit" not in tiles_note(256, 256, 192, seamless=True)
    assert tiles_note(512, 4096, 3072, seamless=True).startswith("Painted in tiles of 512 px wrapped around")
    assert tiles_note(512, 4096, 3072, seamless=False).startswith("Painted in tiles of 512 px: the whole picture")


@pytest.mark.parametrize("available", [(0, 0, 1366, 728), (0, 0, 1066, 626), (200, 30, 1066, 626)],
                         ids=["1366x768 laptop", "1600x1000 at scale 1.5", "a second screen"])
def test_the_window_fits_the_available_screen_and_its_settings_scroll(qtbot, window: MainWindow,
                                                                     available: tuple[int, ...]) -> None:
    """It opened at 1280 × 800 whatever the screen: Stylize was off-screen at scale 1.5 on a
    1600 × 1000 screen, and a 1366 × 768 laptop lost the bottom."""
    from PySide6.QtCore import QRect

    from nst_desktop.ui.window_layout import FRAME_ALLOWANCE, fit_to_screen

    area = QRect(*available)
    window.queue_panel.show_dock()  # the Queue too (its panel scrolls instead of making the window taller)
    window.resize(1920, 1200)  # e.g. saved on a larger screen
    fit_to_screen(window, area)
    assert window.width() + FRAME_ALLOWANCE.width() <= area.width()
    assert window.height() + FRAME_ALLOWANCE.height() <= area.height()
    assert area.contains(window.frameGeometry().topLeft())
    qtbot.waitUntil(lambda: window.save_button.isVisible())
    side = next(s for s in window.main_splitter.findChildren(QScrollArea) if s.isAncestorOf(window.save_button))
    side.ensureWidgetVisible(window.save_button)
    assert not window.save_button.visibleRegion().isEmpty()  # Save, Copy and Stylize can be reached
    assert not window.stylize_button.visibleRegion().isEmpty() or side.verticalScrollBar().maximum() > 0


def test_a_new_window_fits_the_screen_it_opens_on(window: MainWindow) -> None:
    screen = window.screen().availableGeometry()  # 800 x 800 offscreen
    assert screen.contains(window.frameGeometry())


def test_the_progress_block_keeps_its_height_and_the_estimate_its_font(qtbot, window: MainWindow) -> None:
    """Save and Copy jumped as the progress text wrapped onto more lines; the estimate was <small>."""
    label = window.progress_label
    label.setText("Step 1")
    qtbot.wait(10)
    y_short, h_short = window.save_button.y(), label.height()
    label.setText("Step 120 of 150 · tile 12 of 24 · 4096 × 3072 px (size 3 of 3) · about 1 min 20 s left")
    qtbot.wait(10)
    assert (window.save_button.y(), label.height()) == (y_short, h_short)
    assert "<small>" not in window.controls.estimate_label.text()


def test_every_checkbox_text_fits_its_two_lines_in_a_window_the_size_of_an_800_px_screen(
    qtbot, window: MainWindow,
) -> None:
    """"Leave out the painting's objects" beside the brush scale needed three lines at 792 px wide
    and lost its last word below the row."""
    from PySide6.QtCore import QRect

    from nst_desktop.ui.wrapping_check import WrappingCheckBox

    window.show()
    qtbot.waitExposed(window)
    assert window.width() <= 800  # the offscreen screen is 800 x 800: the window opens 792 px wide
    checks = window.findChildren(WrappingCheckBox)
    assert {c.text() for c in checks} >= {"Seamless texture", "Leave out objects", "Clean scene"}
    for check in checks:
        label = check.label
        assert check.isVisible() and label.width() > 0, check.text()
        fm = label.fontMetrics()
        needed = fm.boundingRect(QRect(0, 0, label.width(), 10_000), int(Qt.TextFlag.TextWordWrap), label.text())
        assert needed.height() <= label.height(), (check.text(), label.width(), needed.height(), label.height())
        assert label.alignment() & Qt.AlignmentFlag.AlignTop  # a one-line text beside its box, not below it
