"""The Queue panel: real runs (bundled weights, 32 px, 2 steps), real files, the real queue file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtTest import QTest

from nst_desktop.engine import read_metadata
from nst_desktop.services import queue_store as Q
from nst_desktop.services.jobs import format_duration
from nst_desktop.ui.main_window import MainWindow
from nst_desktop.ui.queue_inputs import SWEEP_EXAMPLES, SWEEP_LABELS
from nst_desktop.ui.queue_panel import QUEUE_BUSY
from tests.helpers import make_content, make_style
from tests.ui.helpers import drag_and_drop, few_steps, load_both, make_window

pytestmark = pytest.mark.usefixtures("bundled_weights")


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """Two photos, two paintings, an output folder (all made here)."""
    d = tmp_path / "in"
    d.mkdir()
    out = {"out": tmp_path / "results"}
    for n, size in ((1, (48, 36)), (2, (36, 48))):
        out[f"photo{n}"] = d / f"photo{n}.png"
        make_content(size).save(out[f"photo{n}"])
    for n, size in ((1, (40, 40)), (2, (48, 32))):
        out[f"painting{n}"] = d / f"painting{n}.jpg"
        make_style(size).save(out[f"painting{n}"], quality=95)
    return out


def _window(qtbot, steps: int = 2) -> MainWindow:
    w = make_window(qtbot)
    few_steps(w, steps=steps, size=32)
    return w


def _add(w: MainWindow, photos: list[Path], paintings: list[Path], out: Path, sweeps=(), pairs=False) -> int:
    panel = w.queue_panel
    panel.photos.clear()
    panel.paintings.clear()
    assert panel.photos.add_paths(photos) == [] and panel.paintings.add_paths(paintings) == []
    for row, (name, values) in zip(panel.sweeps, list(sweeps) + [("", "")] * (2 - len(sweeps))):
        row.set_sweep(name, values)
    panel.mode.setCurrentIndex(1 if pairs else 0)
    panel.out_edit.setText(str(out))
    return panel.add_to_queue()


def _finish(qtbot, w: MainWindow, timeout: int = 120_000) -> None:
    r = w.queue_panel.runner
    qtbot.waitUntil(lambda: not r.is_active() and not r.is_running(), timeout=timeout)


def _states(w: MainWindow) -> list[str]:
    return [i.state for i in w.queue_panel.runner.queue.items]


def test_view_queue_shows_the_panel_and_the_sweep_names_are_complete(qtbot) -> None:
    w = make_window(qtbot)
    assert not w.queue_dock.isVisible()  # an empty queue: hidden until asked for
    assert w.queue_action.isCheckable() and not w.queue_action.isChecked()
    w.queue_action.trigger()
    assert w.queue_dock.isVisible() and w.queue_action.isChecked()
    assert "Ctrl+Shift+B" in [k.toString() for k in w.queue_action.shortcuts()]
    w.queue_action.trigger()  # a toggle: it closes the panel again
    assert not w.queue_dock.isVisible() and not w.queue_action.isChecked()
    w.queue_action.trigger()
    w.queue_dock.close()  # the dock's own close button: the menu follows
    assert not w.queue_action.isChecked()
    assert set(SWEEP_LABELS) == set(SWEEP_EXAMPLES)


def test_dropped_folders_give_their_images_and_bad_lists_say_why(qtbot, files, tmp_path: Path) -> None:
    w = make_window(qtbot)
    w.queue_action.trigger()
    panel = w.queue_panel
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(files["photo1"].parent))])
    assert drag_and_drop(panel.photos.viewport(), mime)  # where a real drag arrives
    assert [p.name for p in panel.photos.paths()] == ["painting1.jpg", "painting2.jpg", "photo1.png", "photo2.png"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no images" in panel.paintings.add_paths([empty])[0]
    assert "no images" in panel.message.text()
    assert panel.add_to_queue() == 0 and "one painting" in panel.message.text()
    panel.paintings.add_paths([files["painting1"]])
    panel.sweeps[0].set_sweep("style-strength", "1, lots")
    assert panel.add_to_queue() == 0 and "'lots' is not a valid value" in panel.message.text()
    panel.sweeps[0].set_sweep("", "")
    panel.mode.setCurrentIndex(1)  # pairs: 4 photos, 1 painting
    assert panel.add_to_queue() == 0 and "as many photos as paintings" in panel.message.text()
    assert Q.load_queue().queue.items == []


def test_every_combination_is_painted_into_the_folder_the_history_and_a_sheet(qtbot, files) -> None:
    w = _window(qtbot)
    load_both(w, (files["photo1"], files["painting1"]))
    assert _add(w, [files["photo1"], files["photo2"]], [files["painting1"], files["painting2"]], files["out"]) == 4
    panel = w.queue_panel
    panel.run_button.click()
    qtbot.waitUntil(panel.runner.is_running, timeout=30_000)
    assert w.why_not_ready() == QUEUE_BUSY and not w.stylize_button.isEnabled()
    assert not w.start_run()  # the window never paints while the queue does
    _finish(qtbot, w)
    assert _states(w) == ["done"] * 4
    names = sorted(p.name for p in files["out"].iterdir())
    assert names == ["contact-sheet.png", "photo1-in-style-of-painting1.png", "photo1-in-style-of-painting2.png",
                     "photo2-in-style-of-painting1.png", "photo2-in-style-of-painting2.png"]
    meta = read_metadata(files["out"] / "photo2-in-style-of-painting1.png")
    assert meta["inputs"] == {"content": files["photo2"].name, "styles": [files["painting1"].name]}  # names only
    assert meta["params"]["steps"] == 2 and meta["params"]["size"] == 32 and meta["cancelled"] is False
    assert w.history.count() == 4 and w.history.unsaved_count() == 0
    assert {e.saved_as.name for e in w.history.entries()} == set(names) - {"contact-sheet.png"}
    assert panel.sheet.path == files["out"] / "contact-sheet.png"
    sheet = read_metadata(panel.sheet.path)["sheet"]
    assert (len(sheet["rows"]), len(sheet["cols"])) == (2, 2)
    assert "4 of 4 done" in panel.status.text() and panel.progress.value() == 4
    assert w.why_not_ready() is None and w.stylize_button.isEnabled()
    w.queue_action.trigger()  # a double-click on a done row shows its result
    qtbot.waitUntil(lambda: panel.items.visualItemRect(panel.items.item(1)).height() > 0, timeout=5000)
    rect = panel.items.visualItemRect(panel.items.item(1))
    # Qt's item views take a double-click only on the row pressed before (as a real one is)
    QTest.mouseClick(panel.items.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center())
    QTest.mouseDClick(panel.items.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                      rect.center())
    assert w.result.metadata["inputs"] == read_metadata(panel.runner.queue.items[1].output)["inputs"]
    # a second Add of the same items finds them painted and paints nothing again
    mtimes = {p: p.stat().st_mtime_ns for p in files["out"].iterdir()}
    assert _add(w, [files["photo1"]], [files["painting1"]], files["out"]) == 1
    panel.run_button.click()
    _finish(qtbot, w)
    assert panel.runner.queue.items[-1].message == "already painted" and w.history.count() == 4
    assert {p: p.stat().st_mtime_ns for p in files["out"].iterdir()} == mtimes


def test_a_bad_image_fails_its_item_with_a_line_and_the_next_runs(qtbot, files, tmp_path: Path) -> None:
    w = _window(qtbot)
    broken = tmp_path / "in" / "broken.png"
    broken.write_bytes(b"this is not a PNG")
    gone = tmp_path / "in" / "gone.png"
    make_content((40, 30)).save(gone)
    assert _add(w, [broken, gone, files["photo1"]], [files["painting1"]], files["out"]) == 3
    gone.unlink()  # vanished after it was added
    w.queue_panel.run_button.click()
    _finish(qtbot, w)
    assert _states(w) == ["failed", "failed", "done"]
    items = w.queue_panel.runner.queue.items
    assert "broken.png" in items[0].message and "\n" not in items[0].message
    assert items[1].message.endswith(f"'{gone}' does not exist.")
    row = w.queue_panel.items.item(0).text()
    assert "FAILED" in row and "broken.png" in row
    assert (files["out"] / "photo1-in-style-of-painting1.png").is_file()
    # the sheet says which failed; Retry puts a failed item back (still bad: it fails again)
    assert read_metadata(files["out"] / "contact-sheet.png")["sheet"]["cells"][0]["note"] == "failed"
    w.queue_panel.select(items[0].id)
    w.queue_panel.retry_button.click()
    assert _states(w)[0] == "waiting" and w.queue_panel.run_button.text() == "Start"
    w.queue_panel.run_button.click()
    _finish(qtbot, w)
    assert _states(w) == ["failed", "failed", "done"]


def test_reorder_and_remove_are_kept_in_the_queue_file(qtbot, files) -> None:
    w = make_window(qtbot)
    assert _add(w, [files["photo1"], files["photo2"]], [files["painting1"], files["painting2"]], files["out"],
                pairs=True) == 2
    assert _add(w, [files["photo1"]], [files["painting2"]], files["out"]) == 1
    panel = w.queue_panel
    labels = [i.label() for i in panel.runner.queue.items]
    panel.select(panel.runner.queue.items[2].id)
    panel.up_button.click()
    panel.up_button.click()
    assert not panel.up_button.isEnabled()
    assert [i.label() for i in Q.load_queue().queue.items] == [labels[2], labels[0], labels[1]]
    panel.select(panel.runner.queue.items[1].id)
    panel.remove_button.click()
    assert [i.label() for i in Q.load_queue().queue.items] == [labels[2], labels[1]]


def test_pause_stops_the_item_and_resume_paints_it_again(qtbot, files) -> None:
    w = _window(qtbot, steps=300)
    assert _add(w, [files["photo1"]], [files["painting1"], files["painting2"]], files["out"]) == 2
    panel = w.queue_panel
    panel.run_button.click()
    qtbot.waitUntil(lambda: panel.runner.progress[0] >= 2, timeout=60_000)
    assert "painting, step" in panel.items.item(0).text()
    assert panel.run_button.text() == "Pause"
    panel.run_button.click()
    qtbot.waitUntil(lambda: not panel.runner.is_running(), timeout=60_000)
    assert _states(w) == ["waiting", "waiting"]
    assert not any(files["out"].iterdir())  # the stopped item wrote nothing
    assert panel.run_button.text() == "Resume"
    assert [i.state for i in Q.load_queue().queue.items] == ["waiting", "waiting"]
    for i in panel.runner.queue.items:  # queued items keep their settings (300 steps): made short here
        panel.runner.queue.update(i.id, params=Q.dataclasses.replace(i.params, steps=2))
    panel.run_button.click()
    _finish(qtbot, w)
    assert _states(w) == ["done", "done"]


def test_the_queue_survives_closing_and_a_finished_item_is_never_redone(qtbot, files) -> None:
    w = _window(qtbot, steps=2)
    assert _add(w, [files["photo1"], files["photo2"]], [files["painting1"]], files["out"]) == 2
    panel = w.queue_panel
    # the second item is long, so that the window is closed while it is painted
    second = panel.runner.queue.items[1]
    panel.runner.queue.update(second.id, params=Q.dataclasses.replace(second.params, steps=400))
    panel.run_button.click()
    qtbot.waitUntil(lambda: _states(w) == ["done", "running"] and panel.runner.progress[0] >= 1, timeout=60_000)
    qtbot.waitUntil(lambda: "left" in panel.status.text(), timeout=30_000)  # measured on the first item
    assert panel.runner.seconds_left() > 0
    first = panel.runner.queue.items[0].output
    mtime = first.stat().st_mtime_ns
    assert w.close()
    assert [i.state for i in Q.load_queue().queue.items] == ["done", "waiting"]

    w2 = _window(qtbot)
    panel2 = w2.queue_panel
    assert w2.queue_dock.isVisible() and "1 item left from last time" in panel2.status.text()
    assert panel2.run_button.text() == "Resume"
    item = panel2.runner.queue.items[1]
    panel2.runner.queue.update(item.id, params=Q.dataclasses.replace(item.params, steps=2))
    panel2.run_button.click()
    _finish(qtbot, w2)
    assert _states(w2) == ["done", "done"] and w2.history.count() == 1  # only the second was painted
    assert first.stat().st_mtime_ns == mtime
    sheet = panel2.sheet.path
    assert sheet == files["out"] / "contact-sheet.png"
    w2.close()
    assert _window(qtbot).queue_panel.sheet.path == sheet  # shown again when the window opens


def test_after_a_crash_a_half_done_item_restarts_and_a_written_one_is_done(qtbot, files) -> None:
    w = _window(qtbot)
    assert _add(w, [files["photo1"], files["photo2"]], [files["painting1"]], files["out"]) == 2
    w.queue_panel.run_button.click()
    _finish(qtbot, w)
    written = w.queue_panel.runner.queue.items[0].output
    mtime = written.stat().st_mtime_ns
    # The file as a crash would leave it: the first item written but still "running" (the app
    # died before it recorded it), the second "running" with nothing written yet.
    data = json.loads(Q.queue_path().read_text())
    for record in data["items"]:
        record["state"], record["seconds"] = "running", 0
    data["items"][1]["output"] = None
    w.queue_panel.runner.queue.items.clear()  # so closing this window does not rewrite the file
    w.close()
    (files["out"] / "photo2-in-style-of-painting1.png").unlink()
    Q.queue_path().write_text(json.dumps(data))

    w2 = _window(qtbot)
    r = w2.queue_panel.runner
    assert r.restarted == 2 and _states(w2) == ["waiting", "waiting"]
    assert "restarts" in w2.queue_panel.status.text()
    w2.queue_panel.run_button.click()
    _finish(qtbot, w2)
    assert _states(w2) == ["done", "done"]
    assert r.queue.items[0].message == "already painted" and written.stat().st_mtime_ns == mtime
    assert (files["out"] / "photo2-in-style-of-painting1.png").is_file() and w2.history.count() == 1


def test_a_corrupt_queue_file_gives_a_message_and_an_empty_queue(qtbot) -> None:
    p = Q.queue_path()
    p.parent.mkdir(parents=True)
    p.write_text('{"version": 1, "items": [{"id": 1,', encoding="utf-8")
    w = make_window(qtbot)
    panel = w.queue_panel
    assert panel.runner.queue.items == []
    assert "is corrupt" in panel.status.text() and str(p) in panel.status.text()
    qtbot.waitUntil(lambda: "is corrupt" in w.statusBar().currentMessage(), timeout=5000)
    assert list(p.parent.glob("queue.json.broken-*"))


def test_a_sweep_grid_cell_click_shows_that_result_and_its_settings(qtbot, files) -> None:
    w = _window(qtbot)
    assert _add(w, [files["photo1"]], [files["painting1"]], files["out"],
                sweeps=[("style-strength", "0.5, 2, 8"), ("style-scale", "0.5, 1")]) == 6
    w.queue_action.trigger()
    panel = w.queue_panel
    panel.run_button.click()
    _finish(qtbot, w)
    assert _states(w) == ["done"] * 6
    meta = read_metadata(panel.sheet.path)["sheet"]
    assert meta["rows"] == ["style-strength 0.5", "style-strength 2", "style-strength 8"]
    assert meta["cols"] == ["style-scale 0.5", "style-scale 1"]
    cell = next(c for c in meta["cells"] if (c["row"], c["col"]) == (2, 0))
    x0, y0, x1, y1 = cell["box"]
    panel.sheet.resize(400, 500)
    pos = panel.sheet.widget_point((x0 + x1) / 2, (y0 + y1) / 2).toPoint()
    w.show_history_entry(w.history.entries()[-1])  # something else is shown first
    QTest.mouseClick(panel.sheet, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
    shown = w.result.metadata
    assert shown["params"]["style_strength"] == 8 and shown["params"]["style_scale"] == 0.5
    assert Path(cell["output"]).name == "photo1-in-style-of-painting1-style-strength-8-style-scale-0.5.png"
    assert Path(cell["output"]).name in panel.cell_label.text() and "strength 8" in panel.cell_label.text()
    assert "strength 8" in w.result_view.caption.text() and "saved as" in w.result_view.caption.text()


def test_the_queue_waits_for_the_windows_run_and_removing_the_running_item_stops_it(qtbot, files) -> None:
    w = _window(qtbot, steps=400)
    load_both(w, (files["photo1"], files["painting1"]))
    assert w.start_run()
    assert _add(w, [files["photo1"], files["photo2"]], [files["painting2"]], files["out"]) == 2
    panel = w.queue_panel
    panel.run_button.click()
    assert panel.runner.is_active() and not panel.runner.is_running()
    assert "waiting for the window's run to end" in panel.status.text()
    qtbot.waitUntil(lambda: w.progress_bar.value() >= 1, timeout=60_000)
    w.cancel_run()
    qtbot.waitUntil(panel.runner.is_running, timeout=60_000)  # it starts when the window's run ends
    assert not w.is_running()
    first = panel.runner.queue.items[0]
    qtbot.waitUntil(lambda: panel.runner.progress[0] >= 1, timeout=60_000)
    panel.select(first.id)
    panel.remove_button.click()  # the item being painted: stopped, not written, the next one runs
    for i in panel.runner.queue.items:
        panel.runner.queue.update(i.id, params=Q.dataclasses.replace(i.params, steps=2))
    _finish(qtbot, w)
    assert [i.label() for i in panel.runner.queue.items] == ["photo2.png × painting2.jpg"]
    assert _states(w) == ["done"]
    assert sorted(p.name for p in files["out"].iterdir()) == ["photo2-in-style-of-painting2.png"]


CHILD = """
import sys
from PySide6.QtWidgets import QApplication
app = QApplication([])
from nst_desktop.ui.main_window import MainWindow
from tests.ui.helpers import CPU_ONLY, Prompts, few_steps
w = MainWindow(devices=CPU_ONLY, prompts=Prompts())
few_steps(w, 30, 32)
panel = w.queue_panel
out, *paths = sys.argv[1:]
panel.photos.add_paths(paths[:2])
panel.paintings.add_paths(paths[2:])
panel.out_edit.setText(out)
assert panel.add_to_queue() == 4
panel.runner.result_written.connect(lambda *a: print("written", flush=True))
panel.runner.item_progress.connect(lambda i, step, total: print("painting", flush=True))
panel.run_button.click()
app.exec()
"""


@pytest.mark.slow  # the app in a child process paints with torch
def test_killed_mid_queue_nothing_finished_is_redone_and_nothing_is_lost(qtbot, files) -> None:
    """The app's process is killed with SIGKILL while it paints the third item; the reopened window
    restarts that one and paints the rest, and does not paint the two written again."""
    import os
    import signal
    import subprocess
    import sys

    args = [str(files[k]) for k in ("out", "photo1", "photo2", "painting1", "painting2")]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    child = subprocess.Popen([sys.executable, "-c", CHILD, *args], stdout=subprocess.PIPE, text=True,
                             cwd=Path(__file__).resolve().parents[2], env=env)
    try:
        lines: list[str] = []
        while lines.count("written") < 2 or lines[-1] != "painting":
            line = child.stdout.readline()
            assert line, "the app ended before it was killed"
            lines.append(line.strip())
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(30)
        child.stdout.close()
    before = {p: p.stat().st_mtime_ns for p in files["out"].glob("*-in-style-of-*.png")}
    assert len(before) == 2
    assert [i.state for i in Q.load_queue().queue.items] == ["done", "done", "running", "waiting"]
    w = _window(qtbot)
    panel = w.queue_panel
    assert panel.runner.restarted == 1 and "restarts" in panel.status.text()
    assert panel.run_button.text() == "Resume" and "left from last time" in panel.status.text()
    panel.run_button.click()
    _finish(qtbot, w)
    assert _states(w) == ["done"] * 4
    after = {p: p.stat().st_mtime_ns for p in files["out"].glob("*-in-style-of-*.png")}
    assert len(after) == 4 and all(after[p] == t for p, t in before.items())  # none painted twice
    assert w.history.count() == 2
    assert (files["out"] / "contact-sheet.png").is_file()


def test_photos_with_names_too_long_for_their_results_neither_fail_nor_jam_the_queue(qtbot, files, tmp_path) -> None:
    w = _window(qtbot)
    long_names = [tmp_path / "in" / ("photo" * 47 + f"{'x' * 4}{k}.png") for k in (1, 2)]  # 244 bytes each
    for photo in long_names:
        make_content((40, 30)).save(photo)
    assert _add(w, [*long_names, files["photo1"]], [files["painting1"]], files["out"]) == 3
    w.queue_panel.run_button.click()
    _finish(qtbot, w)
    items = w.queue_panel.runner.queue.items
    assert _states(w) == ["done", "done", "done"], [i.message for i in items]
    assert len({i.output for i in items}) == 3 and all(i.output.is_file() for i in items)


def test_a_result_its_folder_cannot_take_is_kept_beside_it_and_the_line_says_where(qtbot, files) -> None:
    w = _window(qtbot, steps=20)
    assert _add(w, [files["photo1"]], [files["painting1"]], files["out"]) == 1
    w.queue_panel.run_button.click()
    qtbot.waitUntil(lambda: w.queue_panel.runner.progress[0] >= 1, timeout=60_000)
    planned = w.queue_panel.runner.queue.items[0].output
    planned.mkdir()  # a folder where the result goes, made while it is painted: the save fails
    _finish(qtbot, w)
    item = w.queue_panel.runner.queue.items[0]
    beside = planned.with_name(planned.stem + "-unsaved.png")
    assert item.state == "failed" and item.message.endswith(f"; the result is kept as '{beside}' instead")
    assert read_metadata(beside)["inputs"]["content"] == files["photo1"].name


def test_the_queue_gives_its_total_time_before_start(qtbot, files) -> None:
    w = _window(qtbot)
    assert _add(w, [files["photo1"], files["photo2"]], [files["painting1"]], files["out"]) == 2
    panel = w.queue_panel
    assert "2 waiting" in panel.status.text() and "in all" not in panel.status.text()  # not measured here yet
    w.controls.set_step_seconds({"cpu": 0.05})
    w.controls.set_tested_rate("cpu", 2e-5)
    panel.refresh()
    each = [w.controls.estimate_for(32, aspect, 2).seconds for aspect in ((36, 48), (48, 36))]
    assert panel.waiting_seconds() == pytest.approx(sum(each))
    assert f"about {format_duration(sum(each))} in all" in panel.status.text()
