"""The History strip: results of the session as thumbnails; show, save, copy, reuse settings, remove, cap, quit."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QMenu

from nst_desktop.engine import StyleResult, read_metadata
from nst_desktop.engine.params import QUALITY_PRESETS
from nst_desktop.ui.export import recovery_path
from nst_desktop.ui.history_strip import HistoryEntry, HistoryStrip, settings_summary, thumbnail_pixmap
from nst_desktop.ui.main_window import MainWindow
from nst_desktop.ui.qimage_convert import pil_to_qimage
from nst_desktop.ui.worker import RunOutcome
from tests.ui.helpers import make_window

COLOURS = [(200, 30, 30), (30, 160, 40), (40, 60, 210), (220, 200, 40), (120, 40, 160), (20, 180, 190)]


@pytest.fixture
def window(qtbot) -> MainWindow:
    return make_window(qtbot)


def outcome(seed: int, image_size: tuple[int, int] = (48, 32), steps_done: int = 12, cancelled: bool = False,
            **params: object) -> RunOutcome:
    """A run's outcome as the worker makes it: a flat image (colour by seed) and its metadata
    (``params`` override the run parameters)."""
    img = Image.new("RGB", image_size, COLOURS[seed % len(COLOURS)])
    p: dict[str, object] = {"size": 512, "style_strength": 1.0, "steps": QUALITY_PRESETS["balanced"], "seed": seed,
                            "init": "content", "preserve_colors": "none", "style_scale": 1.0}
    p.update(params)
    meta = {"program": "NST Desktop", "params": p, "steps_done": steps_done, "elapsed_s": 3.2, "cancelled": cancelled,
            "style_weights": [1.0]}
    res = StyleResult(img, cancelled, steps_done, 0.0, 0.0, 3.2, meta)
    return RunOutcome(res, pil_to_qimage(img), "test weights")


def finish(window: MainWindow, seed: int, **kwargs: object) -> RunOutcome:
    """Deliver a finished run to the window as its StyleJob does."""
    o = outcome(seed, **kwargs)
    window.runs._on_finished(o)
    return o


def stop(window: MainWindow, seed: int, **kwargs: object) -> RunOutcome:
    """Deliver a stopped run (with its best image so far) to the window."""
    o = outcome(seed, cancelled=True, **kwargs)
    window.runs._on_cancelled(o)
    return o


def entry_of(window: MainWindow, o: RunOutcome) -> HistoryEntry:
    entry = window.history.entry_for(o.result)
    assert entry is not None
    return entry


def click_entry(qtbot, window: MainWindow, entry: HistoryEntry) -> None:
    item = window.history.item_for(entry)
    assert item is not None
    pos = window.history.visualItemRect(item).center()
    qtbot.mouseClick(window.history.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def menu_action(menu: QMenu, text: str):
    for act in menu.actions():
        if act.text().replace("&", "") == text:
            return act
    raise AssertionError(f"no {text!r} in {[a.text() for a in menu.actions()]}")


def icon_image(strip: HistoryStrip, entry: HistoryEntry) -> QImage:
    item = strip.item_for(entry)
    assert item is not None
    return item.icon().pixmap(96, 96).toImage()


def shown_colour(window: MainWindow) -> tuple[int, int, int]:
    pm = window.result_view.canvas.after.pixmap
    assert pm is not None
    c = pm.toImage().pixelColor(0, 0)
    return (c.red(), c.green(), c.blue())


# ----------------------------------------------------------------------------- adding
def test_finished_and_stopped_runs_are_added_newest_first(window: MainWindow) -> None:
    assert not window.history.isVisible()  # nothing painted yet: no empty strip
    o1 = finish(window, 1)
    o2 = stop(window, 2, steps_done=7)
    window.runs._on_cancelled(None)  # stopped before the weights were loaded: no image, nothing added
    h = window.history
    assert [e.result for e in h.entries()] == [o2.result, o1.result]
    assert h.isVisible() and h.count() == 2
    newest, older = h.entries()
    assert newest.stopped and not older.stopped and (newest.number, older.number) == (2, 1)
    assert h.item(0).text() == "#2" and h.item(1).text() == "#1"
    assert icon_image(h, newest) != thumbnail_pixmap(newest.outcome.qimage).toImage()  # a "stopped" tag
    assert icon_image(h, older) == thumbnail_pixmap(older.outcome.qimage).toImage()
    tip = h.item(0).toolTip()
    for words in ("Result #2", "48 × 32 px", "Stopped after 7 steps in 3 s", "seed 2", "strength 1", "Balanced",
                  "512 px", "Not saved"):
        assert words in tip, words
    assert "Finished: 12 steps in 3 s" in h.item(1).toolTip()
    assert window.result is o2.result and h.current_entry() is newest
    caption = window.result_view.caption.text()
    assert "Result #2" in caption and "Stopped after 7 steps" in caption and "seed 2 · strength 1" in caption
    assert window.isWindowModified() and window.unsaved_results() == 2


def test_thumbnails_fit_96_px_and_are_sharp_on_high_dpi(window: MainWindow) -> None:
    image = pil_to_qimage(Image.new("RGB", (480, 320), (10, 20, 30)))
    pm = thumbnail_pixmap(image, 96, 2.0)
    assert (pm.width(), pm.height()) == (192, 192) and pm.devicePixelRatio() == 2.0
    assert (pm.deviceIndependentSize().width(), pm.deviceIndependentSize().height()) == (96, 96)
    img = pm.toImage()  # the 3:2 image fills 192 x 128 device px, centred on transparency
    assert img.pixelColor(96, 96).getRgb() == (10, 20, 30, 255) and img.pixelColor(96, 33).alpha() == 255
    assert img.pixelColor(96, 30).alpha() == 0 and img.pixelColor(96, 162).alpha() == 0
    finish(window, 1, image_size=(480, 320))
    icon = window.history.item(0).icon()
    assert not icon.isNull() and window.history.iconSize().width() == 96
    assert icon.pixmap(96, 96).width() == 96


def test_settings_summary_names_what_made_the_result() -> None:
    meta = outcome(1234, style_strength=3.0, steps=800, size=704, style_scale=2.0, preserve_colors="luminance",
                   init="noise").result.metadata
    meta["style_weights"] = [0.7, 0.3]
    assert settings_summary(meta) == (
        "seed 1234 · strength 3 · Best · 704 px · brush 2× · photo's colours · from noise · blend 70/30")
    assert settings_summary({"params": {"seed": 5, "steps": 9, "size": 64}}) == "seed 5 · 9 steps · 64 px"
    assert settings_summary({}) == ""


# ----------------------------------------------------------------------------- showing
def test_clicking_an_entry_shows_it_with_its_settings(window: MainWindow, qtbot) -> None:
    o1 = finish(window, 1, image_size=(48, 32), style_strength=10.0, steps=QUALITY_PRESETS["fast"])
    o2 = finish(window, 2, image_size=(40, 30))
    assert shown_colour(window) == COLOURS[2]
    click_entry(qtbot, window, entry_of(window, o1))
    assert window.result is o1.result
    assert shown_colour(window) == COLOURS[1]
    pm = window.result_view.canvas.after.pixmap
    assert (pm.width(), pm.height()) == (48, 32)
    caption = window.result_view.caption.text()
    assert "Result #1 · 48 × 32 px" in caption and "seed 1 · strength 10 · Fast · 512 px" in caption
    assert window.save_button.isEnabled() and not window.continue_button.isEnabled()  # no inputs loaded
    # Arrow keys move between entries (newest is on the left).
    window.history.setFocus()
    qtbot.keyClick(window.history, Qt.Key.Key_Left)
    assert window.result is o2.result and shown_colour(window) == COLOURS[2]
    assert "Result #2 · 40 × 30 px" in window.result_view.caption.text()
    qtbot.keyClick(window.history, Qt.Key.Key_Right)
    assert window.result is o1.result


def test_save_any_entry_writes_its_metadata_and_marks_it_saved(window: MainWindow, qtbot, tmp_path: Path) -> None:
    o1, o2, o3 = finish(window, 1), finish(window, 2), finish(window, 3)
    rec = recovery_path()  # the worker writes the newest run's image here
    rec.parent.mkdir(parents=True, exist_ok=True)
    rec.write_bytes(b"newest run")
    click_entry(qtbot, window, entry_of(window, o1))
    untagged = thumbnail_pixmap(o1.qimage).toImage()
    assert icon_image(window.history, entry_of(window, o1)) == untagged
    assert window.export.save_result_to(tmp_path / "first.png")
    assert read_metadata(tmp_path / "first.png")["params"]["seed"] == 1
    assert Image.open(tmp_path / "first.png").getpixel((0, 0)) == COLOURS[1]
    e1 = entry_of(window, o1)
    assert e1.saved and e1.saved_as == tmp_path / "first.png"
    assert f"Saved as {tmp_path / 'first.png'}" in window.history.item_for(e1).toolTip()
    assert icon_image(window.history, e1) != untagged  # now with a "saved" tag
    assert "saved as first.png" in window.result_view.caption.text()
    assert rec.exists()  # the newest run (#3) is not saved yet: its recovery copy stays
    assert window.unsaved_results() == 2 and window.isWindowModified()

    # Save As… from the menu of another (not shown) entry: it is shown, then saved.
    window.prompts.save_path = lambda suggested: str(tmp_path / "second.webp")
    menu_action(window.history.context_menu(entry_of(window, o2)), "Save As…").trigger()
    assert window.result is o2.result
    assert read_metadata(tmp_path / "second.webp")["params"]["seed"] == 2 and entry_of(window, o2).saved

    # Showing a saved entry again keeps it saved; the unsaved one stays unsaved.
    click_entry(qtbot, window, e1)
    assert not window.has_unsaved_result() and "saved as first.png" in window.result_view.caption.text()
    click_entry(qtbot, window, entry_of(window, o3))
    assert window.has_unsaved_result()
    assert window.export.save_result_to(tmp_path / "third.png")
    assert not rec.exists() and not window.isWindowModified() and window.unsaved_results() == 0


def test_use_these_settings_sets_the_controls(window: MainWindow) -> None:
    c = window.controls
    assert (c.size_spin.value(), c.seed_spin.value(), c.quality_combo.currentData()) != (704, 4242, "best")
    o = finish(window, 4242, size=704, steps=800, style_strength=10.0, init="noise")
    finish(window, 5)  # the entry used is not the shown one
    menu_action(window.history.context_menu(entry_of(window, o)), "Use These Settings").trigger()
    assert c.size_spin.value() == 704 and c.seed_spin.value() == 4242
    assert c.quality_combo.currentData() == "best" and c.init_combo.currentData() == "noise"
    assert c.style_strength == pytest.approx(10.0)
    assert "Settings of result #1 restored" in window.statusBar().currentMessage()
    assert window.result is not o.result  # the view is left as it was


def test_copy_and_remove_from_the_menu(window: MainWindow, qtbot) -> None:
    o1 = finish(window, 1, image_size=(60, 20))
    o2 = finish(window, 2, image_size=(30, 40))
    menu_action(window.history.context_menu(entry_of(window, o1)), "Copy").trigger()
    img = QGuiApplication.clipboard().image()
    assert (img.width(), img.height()) == (60, 20)
    assert img.convertToFormat(QImage.Format.Format_RGB888).pixelColor(0, 0).red() == COLOURS[1][0]

    remove = menu_action(window.history.context_menu(entry_of(window, o1)), "Remove from History")
    window.prompts.answer = False
    remove.trigger()
    assert window.history.count() == 2 and "not been saved" in window.prompts.asked[-1][1]
    window.prompts.answer = True
    remove.trigger()
    assert [e.result for e in window.history.entries()] == [o2.result]

    # Delete removes the current entry; an empty History hides the strip.
    window.history.setFocus()
    qtbot.keyClick(window.history, Qt.Key.Key_Delete)
    assert window.history.count() == 0 and not window.history.isVisible()


def test_history_keeps_30_entries_dropping_the_oldest_saved_first(window: MainWindow, qtbot, tmp_path: Path) -> None:
    assert window.history.limit == 30
    window.history.limit = 3
    o1, o2, _o3 = finish(window, 1), finish(window, 2), finish(window, 3)
    click_entry(qtbot, window, entry_of(window, o2))
    assert window.export.save_result_to(tmp_path / "two.png")
    finish(window, 4)
    assert [e.number for e in window.history.entries()] == [4, 3, 1]  # saved #2 went, unsaved #1 stayed
    message = window.statusBar().currentMessage()
    assert "History is full" in message and "#2" in message and "not saved" not in message
    finish(window, 5)  # nothing saved left: the oldest goes, and the message says it was not saved
    assert [e.number for e in window.history.entries()] == [5, 4, 3]
    assert "#1" in window.statusBar().currentMessage() and "not saved" in window.statusBar().currentMessage()
    assert o1.result is not window.result and window.unsaved_results() == 3
    for seed in range(6, 40):
        finish(window, seed)
    assert window.history.count() == 3


def test_history_stays_within_its_memory_budget(qtbot) -> None:
    strip = HistoryStrip()
    qtbot.addWidget(strip)
    one = outcome(1, image_size=(100, 100))
    strip.byte_budget = 3 * HistoryEntry(one, False, 1).nbytes()
    for seed in range(6):
        strip.add(outcome(seed, image_size=(100, 100)), stopped=False)
    assert strip.count() == 3 and strip.images_bytes() <= strip.byte_budget
    assert [e.number for e in strip.entries()] == [6, 5, 4]
    big = outcome(9, image_size=(400, 400))  # larger than the budget alone: kept, as the newest always is
    strip.add(big, stopped=False)
    assert [e.result for e in strip.entries()] == [big.result]


def test_quit_question_counts_unsaved_results(window: MainWindow, qtbot, tmp_path: Path) -> None:
    o1, o2, o3 = finish(window, 1), finish(window, 2), finish(window, 3)
    window.prompts.answer = False
    assert not window.close()
    assert window.prompts.asked[-1] == ("Save results before quitting?",
                                       "3 results have not been saved. Save them before quitting?")
    assert window.export.save_result_to(tmp_path / "three.png")
    assert not window.close()
    assert window.prompts.asked[-1][1] == "2 results have not been saved. Save them before quitting?"
    click_entry(qtbot, window, entry_of(window, o2))
    assert window.export.save_result_to(tmp_path / "two.png")
    assert not window.close()
    assert window.prompts.asked[-1][1] == "A result in the History has not been saved. Save it before quitting?"
    click_entry(qtbot, window, entry_of(window, o1))
    assert not window.close()
    assert window.prompts.asked[-1][1] == "The result has not been saved. Save it before quitting?"
    assert window.isVisible()
    window.prompts.answer = True
    assert window.close()
    assert o3.result is not None


def test_view_menu_shows_and_hides_the_strip(window: MainWindow) -> None:
    view = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "View")
    assert window.history_action in view.actions() and window.history_action.isChecked()
    finish(window, 1)
    assert window.history.isVisible()
    window.history_action.trigger()
    assert not window.history.isVisible() and not window.history_action.isChecked()
    finish(window, 2)
    assert not window.history.isVisible() and window.history.count() == 2
    window.history_action.trigger()
    assert window.history.isVisible()


# ----------------------------------------------------------------------------- a real run
@pytest.mark.slow
def test_real_run_is_added_and_the_strip_waits_while_painting(window: MainWindow, image_files, qtbot,
                                                               bundled_weights) -> None:
    window.steps_override = 6
    window.controls.size_spin.setValue(48)
    window.preview_every = 3
    content, style = image_files
    assert window.content_pane.load_path(content) and window.style_pane.load_path(style)
    o1 = finish(window, 1)  # an earlier result in the strip
    qtbot.mouseClick(window.stylize_button, Qt.MouseButton.LeftButton)
    job = window.runs.job
    assert job is not None and window.is_running()
    assert not window.history.isEnabled() and "when painting stops" in window.history.toolTip()
    window.show_history_entry(entry_of(window, o1))  # ignored while painting
    with qtbot.waitSignal(job.ended, timeout=120_000):
        pass
    assert window.history.isEnabled() and window.history.count() == 2
    entry = window.history.newest()
    assert entry is not None and entry.result is window.result and not entry.stopped and entry.number == 2
    assert entry.result.image.size == (48, 32) and entry.before is not None and entry.before.size == (48, 32)
    assert "Result #2 · 48 × 32 px · 6 steps" in window.result_view.caption.text()
    assert "6 steps · 48 px" in window.result_view.caption.text()
    click_entry(qtbot, window, entry_of(window, o1))
    assert window.result is o1.result
