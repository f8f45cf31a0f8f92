"""The main window: loading, a real run, cancel, close mid-run, saving, settings, prompts."""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QGuiApplication

from nst_desktop.engine import OutOfMemory, load_image, read_metadata
from nst_desktop.engine.image import images as engine_images
from nst_desktop.engine.net.precision import cpu_bf16
from nst_desktop.services import paths
from nst_desktop.services.settings import load_settings, settings_path
from nst_desktop.ui import worker as worker_mod
from nst_desktop.ui.export import recovery_path
from nst_desktop.ui.main_window import MainWindow
from nst_desktop.ui.qimage_convert import pil_to_qimage
from nst_desktop.ui.worker import RunOutcome
from tests.helpers import make_content
from tests.ui.helpers import drag_and_drop, few_steps, inject_result, load_both, make_window


# ----------------------------------------------------------------------------- inputs and state
def test_initial_state_disables_what_cannot_work_yet(window: MainWindow) -> None:
    assert not window.stylize_button.isEnabled()
    assert "content photo and a style image" in window.stylize_button.toolTip()
    assert not window.save_button.isEnabled() and "Nothing to save" in window.save_button.toolTip()
    assert not window.save_action.isEnabled() and not window.copy_action.isEnabled()
    assert window.windowTitle().replace("[*]", "") == "NST Desktop"
    avail = window.screen().availableGeometry()  # the default size, within the screen (800 x 800 offscreen)
    assert (window.width(), window.height()) == (min(1280, avail.width() - 8), min(800, avail.height() - 40))


def test_dropping_files_on_both_panes_updates_title_and_recent(window: MainWindow, image_files) -> None:
    content, style = image_files
    for pane, path in ((window.content_pane, content), (window.style_pane, style)):
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        assert drag_and_drop(pane, mime)
    assert window.stylize_button.isEnabled()
    assert "photo.png" in window.windowTitle() and "painting.jpg" in window.windowTitle()
    assert window.settings.recent_content[0] == str(content.resolve())
    assert window.settings.recent_style[0] == str(style.resolve())
    assert window.settings.last_open_dir == str(content.parent.resolve())
    assert "96 × 64" in window.controls.estimate_label.text() or "512 × 341" in window.controls.estimate_label.text()


def test_result_pane_says_what_to_do_next_in_each_state(window: MainWindow, image_files, qtbot,
                                                         bundled_weights) -> None:
    content, style = image_files
    hint = lambda: window.result_view.canvas.placeholder  # noqa: E731
    assert "Load a content photo and a style image" in hint()
    assert window.content_pane.load_path(content)
    assert "style image" in hint() and "content photo" not in hint()
    window.content_pane.clear()
    assert window.style_pane.load_path(style)
    assert "content photo" in hint() and "style image" not in hint()
    assert window.content_pane.load_path(content)
    assert "Stylize (Ctrl+Return)" in hint() and "Load" not in hint()
    window.style_pane.set_weight(0)
    assert "weight" in hint() and "Stylize (Ctrl+Return)" not in hint()
    window.style_pane.set_weight(100)
    few_steps(window, steps=400, size=32)
    assert window.start_run()
    assert "Painting" in hint()
    window.cancel_run()
    qtbot.waitUntil(lambda: not window.is_running(), timeout=60_000)


def test_dropped_non_image_shows_in_status_bar(window: MainWindow, image_files, tmp_path: Path) -> None:
    load_both(window, image_files)
    bad = tmp_path / "readme.txt"
    bad.write_text("hello")
    assert not window.style_pane.load_path(bad)
    assert "readme.txt" in window.statusBar().currentMessage()
    assert window.style_pane.loaded is not None and window.style_pane.loaded.name == "painting.jpg"


def test_paste_goes_to_the_focused_pane(window: MainWindow, qtbot) -> None:
    QGuiApplication.clipboard().setImage(pil_to_qimage(make_content((30, 20))))
    window.activateWindow()
    window.style_pane.setFocus()
    qtbot.waitUntil(lambda: window.style_pane.hasFocus(), timeout=2000)
    window.inputs.paste()
    assert window.style_pane.loaded is not None and window.content_pane.loaded is None
    window.content_pane.setFocus()
    qtbot.waitUntil(lambda: window.content_pane.hasFocus(), timeout=2000)
    window.paste_action.trigger()
    assert window.content_pane.loaded is not None


def test_open_dialog_result_is_loaded(window: MainWindow, image_files) -> None:
    content, _ = image_files
    window.prompts.open_path = lambda title, folder="": str(content)
    window.content_pane.open_button.click()
    assert window.content_pane.loaded is not None and window.content_pane.loaded.path == content


# ----------------------------------------------------------------------------- real runs
@pytest.mark.slow
def test_real_run_through_the_window(window: MainWindow, image_files, qtbot, bundled_weights) -> None:
    few_steps(window, steps=9)
    load_both(window, image_files)
    qtbot.mouseClick(window.stylize_button, Qt.MouseButton.LeftButton)
    job = window.runs.job
    assert job is not None and window.is_running()
    assert window.stylize_button.text() == "Cancel"
    assert not window.controls.size_spin.isEnabled()
    assert "while painting" in window.controls.size_spin.toolTip()
    previews = []
    job.previewReady.connect(previews.append)
    with qtbot.waitSignal(job.ended, timeout=120_000):
        pass
    assert len(previews) >= 2
    assert window.result is not None and window.result.image.size == (48, 32)
    assert window.stylize_button.text() == "Stylize" and window.controls.size_spin.isEnabled()
    assert window.save_button.isEnabled() and window.isWindowModified()
    assert "48 × 32 px" in window.result_view.caption.text()
    assert "Done" in window.progress_label.text()
    assert window.progress_bar.value() == 9
    assert recovery_path().is_file()


@pytest.mark.slow
def test_cancel_button_keeps_the_best_so_far(window: MainWindow, image_files, qtbot, bundled_weights) -> None:
    few_steps(window, steps=400)
    load_both(window, image_files)
    window.stylize_button.click()
    job = window.runs.job
    qtbot.waitUntil(lambda: window.progress_bar.value() >= 2, timeout=60_000)
    with qtbot.waitSignal(job.ended, timeout=30_000):
        window.stylize_button.click()  # now "Cancel"
    assert window.result is not None and window.result.cancelled
    assert "Stopped after" in window.result_view.caption.text()
    assert not window.is_running() and window.stylize_button.text() == "Stylize"


@pytest.mark.slow
def test_closing_mid_run_stops_the_thread_without_hanging(qtbot, image_files, bundled_weights) -> None:
    window = make_window(qtbot)
    few_steps(window, steps=400)
    load_both(window, image_files)
    assert window.start_run()
    job = window.runs.job
    qtbot.waitUntil(lambda: window.progress_bar.value() >= 1, timeout=60_000)
    thread = job._thread
    assert thread is not None and thread.isRunning()
    t0 = time.perf_counter()
    assert window.close()
    assert time.perf_counter() - t0 < 20
    assert thread.isFinished()
    assert window.runs.job is None and not window.isVisible()
    assert window.prompts.asked and "Stop painting" in window.prompts.asked[0][0]
    assert settings_path().is_file()  # settings written on the way out


def test_closing_mid_run_can_be_declined(qtbot, image_files, bundled_weights) -> None:
    window = make_window(qtbot)
    few_steps(window, steps=400)
    load_both(window, image_files)
    window.start_run()
    window.prompts.answer = False
    assert not window.close()
    assert window.is_running() and window.isVisible()
    window.prompts.answer = True
    assert window.close()
    assert not window.is_running()


def test_engine_failure_is_shown_and_previous_result_kept(window: MainWindow, image_files, qtbot,
                                                          monkeypatch) -> None:
    load_both(window, image_files)
    old = inject_result(window, make_content((50, 40)))

    def broken(*args, **kwargs):
        from nst_desktop.engine import NumericalError

        raise NumericalError("The optimisation produced NaN/Inf from the start.")

    monkeypatch.setattr(worker_mod, "stylize", broken)
    window.start_run()
    with qtbot.waitSignal(window.runs.job.ended, timeout=30_000):
        pass
    assert window.prompts.informed and "NaN" in window.prompts.informed[-1][1]
    assert "NaN" in window.statusBar().currentMessage()
    assert window.result is old and not window.is_running()


def test_unexpected_error_is_a_sentence_with_details_and_a_log(window: MainWindow, image_files, qtbot,
                                                                monkeypatch) -> None:
    """Issue 14.5: no raw Python text for people; the traceback behind Details and in the log."""
    load_both(window, image_files)

    def buggy(*args, **kwargs):
        raise AttributeError("'bool' object has no attribute 'height'")

    monkeypatch.setattr(worker_mod, "stylize", buggy)
    window.start_run()
    with qtbot.waitSignal(window.runs.job.ended, timeout=30_000):
        pass
    assert window.prompts.informed == []
    (title, text, details), = window.prompts.errors
    assert "AttributeError" not in title + text and "Error:" not in text
    assert "went wrong" in title + text and "Open Log Folder" in text
    assert "AttributeError: 'bool' object has no attribute 'height'" in details and "Traceback" in details
    assert "AttributeError" not in window.statusBar().currentMessage()
    log = paths.log_dir() / "errors.log"
    assert log.is_file() and "Traceback" in log.read_text() and "while painting" in log.read_text()
    assert str(paths.log_dir()).startswith(os.environ["XDG_STATE_HOME"])  # never the real user's folder
    assert not window.is_running() and window.stylize_button.isEnabled()


def test_an_exception_in_a_gui_slot_is_reported_the_same_way(window: MainWindow) -> None:
    """The app's sys.excepthook (ui/app.py installs it) for bugs in the GUI thread's slots."""
    try:
        raise ValueError("bad slot")
    except ValueError as exc:
        window.errors.excepthook(ValueError, exc, exc.__traceback__)
    (title, text, details), = window.prompts.errors
    assert "ValueError" not in text and "ValueError: bad slot" in details
    assert "bad slot" in (paths.log_dir() / "errors.log").read_text()


def test_help_open_log_folder_opens_the_log_folder(window: MainWindow) -> None:
    assert not paths.log_dir().exists()
    window.log_folder_action.trigger()
    assert window.prompts.opened == [str(paths.log_dir())]
    assert paths.log_dir().is_dir() and "log" in paths.log_dir().name.lower()


def test_out_of_memory_offers_a_size_that_fits(window: MainWindow, image_files, qtbot, monkeypatch) -> None:
    load_both(window, image_files)
    window.controls.size_spin.setValue(1024)

    def oom(*args, **kwargs):
        raise OutOfMemory("The CPU ran out of memory at 1024 px. About 384 px (long side) should fit.", 1024, 384)

    monkeypatch.setattr(worker_mod, "stylize", oom)
    window.start_run()
    with qtbot.waitSignal(window.runs.job.ended, timeout=30_000):
        pass
    title, text = window.prompts.asked[-1]
    assert title == "Out of memory" and "384 px" in text
    assert window.controls.size_spin.value() == 384
    assert "ran out of memory" in window.statusBar().currentMessage()


# ----------------------------------------------------------------------------- saving
def test_save_writes_full_resolution_with_metadata(window: MainWindow, image_files, tmp_path: Path) -> None:
    load_both(window, image_files)
    big = make_content((1500, 1000))  # larger than the view: the screen shows a reduced copy
    res = inject_result(window, big)
    window.result_view.zoom_fit()
    offered = []
    target_dir = tmp_path / "out"
    target_dir.mkdir()

    def ask_save_path(suggested: str) -> str:
        offered.append(suggested)
        return str(target_dir / Path(suggested).name)

    window.prompts.save_path = ask_save_path
    assert window.isWindowModified()
    assert window.export.save_result()
    assert Path(offered[0]).name == "photo-in-style-of-painting.png"
    saved = target_dir / "photo-in-style-of-painting.png"
    back = load_image(saved)
    assert back.size == (1500, 1000) and back.tobytes() == res.image.tobytes()
    assert read_metadata(saved)["params"]["seed"] == 7
    assert not window.isWindowModified()
    assert window.settings.last_save_dir == str(target_dir.resolve())
    assert "saved as" in window.result_view.caption.text()


@pytest.mark.parametrize(("ext", "fmt"), [(".jpg", "JPEG"), (".webp", "WEBP"), (".tiff", "TIFF"), (".png", "PNG")])
def test_format_follows_the_extension(window: MainWindow, tmp_path: Path, ext: str, fmt: str) -> None:
    inject_result(window, make_content((64, 48)))
    path = tmp_path / f"out{ext}"
    assert window.export.save_result_to(path)
    with Image.open(path) as im:
        assert im.format == fmt and im.size == (64, 48)


def test_overwrite_needs_confirmation(window: MainWindow, tmp_path: Path) -> None:
    inject_result(window, make_content((64, 48)))
    path = tmp_path / "exists.png"
    path.write_bytes(b"old")
    window.prompts.answer = False
    assert not window.export.save_result_to(path)
    assert path.read_bytes() == b"old"
    assert "Replace" in window.prompts.asked[-1][0]
    window.prompts.answer = True
    assert window.export.save_result_to(path)
    assert load_image(path).size == (64, 48)


def test_save_into_missing_folder_reports_and_keeps_result(window: MainWindow, tmp_path: Path) -> None:
    # Tests run as root, where chmod cannot make a folder read-only; a "folder" that is
    # really a file (and a missing folder) fails for every user.
    res = inject_result(window, make_content((64, 48)))
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    for path in (not_a_dir / "out.png", tmp_path / "missing" / "out.png"):
        assert not window.export.save_result_to(path)
        assert str(path.parent) in window.prompts.informed[-1][1]
        assert "Not saved" in window.statusBar().currentMessage()
        assert window.result is res and window.isWindowModified() and window.save_button.isEnabled()
        assert not path.exists()


@pytest.mark.parametrize(
    ("error", "words"),
    [(PermissionError(errno.EACCES, "Permission denied"), "permission denied"),
     (OSError(errno.ENOSPC, "No space left on device"), "No space left on device")],
)
def test_read_only_folder_or_full_disk_reports_and_keeps_result(
    window: MainWindow, tmp_path: Path, monkeypatch, error: OSError, words: str
) -> None:
    # Simulated at the final rename of the engine's atomic save (root ignores chmod).
    res = inject_result(window, make_content((64, 48)))

    def fail(src, dst):
        raise error

    monkeypatch.setattr(engine_images.os, "replace", fail)
    path = tmp_path / "out.png"
    assert not window.export.save_result_to(path)
    assert words in window.prompts.informed[-1][1] and "out.png" in window.prompts.informed[-1][1]
    assert window.result is res and window.isWindowModified()
    assert not path.exists() and list(tmp_path.iterdir()) == []  # no temp file left behind


def test_copy_puts_full_resolution_on_the_clipboard(window: MainWindow) -> None:
    inject_result(window, make_content((300, 200)))
    window.copy_action.trigger()
    img = QGuiApplication.clipboard().image()
    assert (img.width(), img.height()) == (300, 200)


def test_drag_out_offers_a_png_file_and_the_image(window: MainWindow, image_files) -> None:
    load_both(window, image_files)
    res = inject_result(window, make_content((200, 100)))
    mime = window.export.drag_mime_data()
    assert mime is not None and mime.hasUrls() and mime.hasImage()
    path = Path(mime.urls()[0].toLocalFile())
    assert path.name == "photo-in-style-of-painting.png"
    assert load_image(path).tobytes() == res.image.tobytes()
    assert window.result_view.canvas.drag_enabled
    drag_dir = path.parent
    window.prompts.answer = True
    window.close()
    assert not drag_dir.exists()  # the temporary folder goes with the window


# ----------------------------------------------------------------------------- quitting and settings
def test_unsaved_result_asks_before_quitting(qtbot) -> None:
    window = make_window(qtbot)
    inject_result(window, make_content((64, 48)))
    window.prompts.answer = False
    assert not window.close()
    assert window.isVisible() and "before quitting" in window.prompts.asked[-1][0]
    window.prompts.answer = True
    assert window.close()


def test_closing_with_unsaved_results_offers_save_all_discard_cancel(qtbot, tmp_path: Path) -> None:
    """Issue 14.4: the Qt examples' maybe-save. Cancel keeps the window; Save All saves every
    unsaved result (the History's too) into the chosen folder; a failed Save All keeps it open."""
    window = make_window(qtbot)
    first = inject_result(window, make_content((64, 48)))
    window._add_to_history(RunOutcome(first, pil_to_qimage(first.image), "w"), stopped=False)
    inject_result(window, make_content((40, 30)))  # shown, not in the History
    assert window.unsaved_results() == 2 and window.save_all_action.isEnabled()
    window.prompts.save_choice = "cancel"
    assert not window.close() and window.isVisible()
    title, text = window.prompts.asked[-1]
    assert "Save" in title and "2 results have not been saved" in text
    window.prompts.save_choice = "save"
    window.prompts.folder_answer = str(tmp_path / "missing")  # not a folder: nothing lost, still open
    assert not window.close() and window.isVisible()
    assert "missing" in window.prompts.informed[-1][1] and window.unsaved_results() == 2
    window.prompts.folder_answer = str(tmp_path)
    (tmp_path / "result-in-style-of-style-1.png").write_bytes(b"someone else's")  # never replaced
    assert window.close()
    saved = sorted(p.name for p in tmp_path.glob("*.png"))
    assert saved == ["result-in-style-of-style-1-2.png", "result-in-style-of-style-1.png",
                     "result-in-style-of-style.png"]
    assert (tmp_path / "result-in-style-of-style-1.png").read_bytes() == b"someone else's"
    assert load_image(tmp_path / "result-in-style-of-style-1-2.png").size == (64, 48)
    assert load_image(tmp_path / "result-in-style-of-style.png").size == (40, 30)


def test_discard_on_closing_quits_without_saving(qtbot, tmp_path: Path) -> None:
    window = make_window(qtbot)
    inject_result(window, make_content((64, 48)))
    window.prompts.save_choice = "discard"
    assert window.close()
    assert list(tmp_path.iterdir()) == []


def test_saved_result_quits_without_asking(qtbot, tmp_path: Path) -> None:
    window = make_window(qtbot)
    inject_result(window, make_content((64, 48)))
    assert window.export.save_result_to(tmp_path / "r.png")
    assert window.close()
    assert window.prompts.asked == []


def test_settings_survive_a_restart(qtbot, image_files) -> None:
    w1 = make_window(qtbot)
    load_both(w1, image_files)
    c = w1.controls
    c.size_spin.setValue(704)
    c.strength_slider.setValue(300)  # 10x
    c.quality_combo.setCurrentIndex(c.quality_combo.findData("best"))
    c.init_combo.setCurrentIndex(c.init_combo.findData("noise"))
    c.seed_spin.setValue(4242)
    w1.resize(790, 640)  # the offscreen screen is 800 x 800 px; restoring clamps to it
    w1.main_splitter.setSizes([200, 290, 300])
    w1.result_view.zoom_actual()
    sizes = w1.main_splitter.sizes()
    assert w1.close()

    data = json.loads(settings_path().read_text())
    assert data["size"] == 704 and data["seed"] == 4242 and data["window_geometry"]

    w2 = make_window(qtbot)
    c2 = w2.controls
    assert c2.size_spin.value() == 704
    assert c2.style_strength == pytest.approx(10.0)
    assert c2.quality_combo.currentData() == "best" and c2.init_combo.currentData() == "noise"
    assert c2.seed_spin.value() == 4242 and c2.seed_spin.isEnabled()
    assert (w2.width(), w2.height()) == (790, 640)
    assert w2.main_splitter.sizes() == sizes
    assert w2.result_view.zoom == 1.0
    assert w2.settings.recent_content == [str(image_files[0].resolve())]
    w2.recent.fill_content()
    assert [a.text() for a in w2.recent_content_menu.actions()] == ["photo.png"]
    w2.recent_content_menu.actions()[0].trigger()
    assert w2.content_pane.loaded is not None and w2.content_pane.loaded.name == "photo.png"


def test_corrupt_settings_file_starts_with_defaults(qtbot) -> None:
    p = settings_path()
    p.parent.mkdir(parents=True)
    p.write_text('{"version": 1, "size": ')
    window = make_window(qtbot)
    assert window.controls.size_spin.value() == 512
    assert "corrupt" in window.statusBar().currentMessage()
    backups = list(p.parent.glob("settings.json.broken-*"))
    assert len(backups) == 1 and backups[0].read_text() == '{"version": 1, "size": '
    window.close()
    assert load_settings().problem is None  # a good file was written over it


def test_recovered_result_can_be_saved(qtbot, tmp_path: Path) -> None:
    from nst_desktop.engine import save_image

    rec = recovery_path()
    rec.parent.mkdir(parents=True, exist_ok=True)
    save_image(make_content((80, 60)), rec, {"steps_done": 33, "elapsed_s": 2.0, "weights_name": "w"})
    window = make_window(qtbot)
    assert window.recover_action.isEnabled()
    assert "recovered" in window.statusBar().currentMessage()
    assert window.export.recover_last_result()
    assert window.result is not None and window.result.image.size == (80, 60) and window.isWindowModified()
    assert window.export.save_result_to(tmp_path / "back.png")
    assert not rec.exists() and not window.recover_action.isEnabled()


def test_about_names_versions_device_and_weights(window: MainWindow) -> None:
    import torch
    from PySide6.QtCore import qVersion

    text = window.about_text()
    assert torch.__version__ in text and qVersion() in text
    assert "CPU (2 cores)" in text and "Bundled VGG19" in text
    assert "0.1" in text and "last run" not in text
    inject_result(window, make_content((20, 20)))
    assert "last run: test weights" in window.about_text()


def test_menus_use_standard_shortcuts(window: MainWindow) -> None:
    from PySide6.QtGui import QKeySequence

    assert window.save_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Save)
    assert window.paste_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Paste)
    assert window.copy_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Copy)
    assert window.open_content_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Open)
    titles = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert titles == ["File", "Edit", "View", "Presets", "Help"]


def test_cache_dir_is_per_test() -> None:
    assert "cache" in str(paths.cache_dir())


def test_status_bar_says_where_the_network_runs_and_in_what(window: MainWindow) -> None:
    text = window.status_device.text()
    assert text.startswith("CPU")
    why = cpu_bf16()
    expected = f"bfloat16 ({why.reason})" if why.pays else "float32 ("
    assert expected in text and "Bundled" in text


def test_window_opens_with_splitter_sizes_out_of_range(qtbot) -> None:
    """Issue 31: sizes of 10**12 in the settings raised OverflowError in QSplitter.setSizes on every start."""
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": 3, "splitters": {"main": [10**12, 10, 10], "inputs": [2**40, 5]}}))
    window = make_window(qtbot)
    assert all(0 <= n < 2**31 for n in window.main_splitter.sizes())
