"""Every action of the menus, triggered through its QAction (not its button), and the shortcuts.

The actions are listed from a real window's menu bar when the tests are collected, so a new
menu entry gets its test without anyone writing one. Each test puts the window in the state
where that action is enabled (images loaded, a result shown, a run going for Stop Painting),
answers every dialog through the recording prompts and fails on any exception or any
"Unexpected error" shown.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu

from nst_desktop.engine import save_image
from nst_desktop.ui.export import recovery_path
from nst_desktop.ui.main_window import MainWindow
from nst_desktop.ui.qimage_convert import pil_to_qimage
from tests.helpers import make_content, make_style
from tests.ui.helpers import CPU_ONLY, Prompts, few_steps, inject_result, load_both, make_window

#: Stands for the first entry of a menu filled when it is shown (the recent files).
FIRST_ENTRY = "(first entry)"


def _text(action: QAction) -> str:
    return action.text().replace("&", "")


def menu_actions(window: MainWindow) -> Iterator[tuple[str, QAction | QMenu]]:
    """(path, action) for every action of the menu bar's menus, e.g. "Edit > Stylize";
    a menu filled when it is shown yields (path + FIRST_ENTRY, the menu)."""

    def walk(menu: QMenu, prefix: str) -> Iterator[tuple[str, QAction | QMenu]]:
        for act in menu.actions():
            if act.isSeparator():
                continue
            sub = act.menu()
            if isinstance(sub, QMenu):
                if sub.actions():
                    yield from walk(sub, f"{prefix}{_text(act)} > ")
                else:
                    yield f"{prefix}{_text(act)} > {FIRST_ENTRY}", sub
                continue
            yield prefix + _text(act), act

    for top in window.menuBar().actions():
        menu = top.menu()
        if isinstance(menu, QMenu):
            yield from walk(menu, f"{_text(top)} > ")


def _collect_paths() -> list[str]:
    """The menu paths of a window built at collection time (with throwaway per-user folders)."""
    QApplication.instance() or QApplication([])
    saved = {k: os.environ.get(k) for k in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME")}
    with tempfile.TemporaryDirectory() as tmp:
        for k in saved:
            os.environ[k] = str(Path(tmp) / k)
        try:
            w = MainWindow(devices=CPU_ONLY, prompts=Prompts())
            found = [path for path, _ in menu_actions(w)]
            w.deleteLater()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    return found


ACTION_PATHS = _collect_paths()


def _find(window: MainWindow, path: str) -> QAction:
    for p, act in menu_actions(window):
        if p != path:
            continue
        if isinstance(act, QMenu):  # fill it as showing it would, then take its first entry
            act.aboutToShow.emit()
            entries = [a for a in act.actions() if not a.isSeparator()]
            assert entries, f"{path}: the menu stays empty"
            return entries[0]
        return act
    raise AssertionError(f"no menu action {path!r}")


def _unexpected(window: MainWindow, prompts: Prompts, messages: list[str]) -> list[str]:
    shown = messages + [t for _, t in prompts.informed] + [f"{t} {x}" for t, x, _ in prompts.errors]
    shown.append(window.progress_label.text())
    return [m for m in shown if "Unexpected error" in m or "Traceback" in m or "Error:" in m]


def test_the_menus_are_all_listed() -> None:
    """The walk finds the actions (a check that passes because it finds nothing is no check)."""
    assert "Edit > Stylize" in ACTION_PATHS and "File > Quit" in ACTION_PATHS
    assert f"File > Recent Content Images > {FIRST_ENTRY}" in ACTION_PATHS
    assert len(ACTION_PATHS) >= 20


def test_every_action_of_the_window_is_in_a_menu(qtbot) -> None:
    """So the parametrised test below, which walks the menus, covers every QAction."""
    window = make_window(qtbot)
    in_menus = {id(a) for _, a in menu_actions(window) if isinstance(a, QAction)}
    missing = [a.text() for a in window.actions() if id(a) not in in_menus]
    assert missing == []


def test_shortcuts_are_bound_and_unique(qtbot) -> None:
    """Every standard shortcut has a key on this platform (Qt's generic X11 theme binds none to
    Quit: the window falls back to Ctrl+Q), and no key starts two actions (Qt would run neither)."""
    window = make_window(qtbot)
    assert "Ctrl+Q" in [k.toString() for k in window.quit_action.shortcuts()]
    for action in (window.save_action, window.open_content_action, window.copy_action, window.paste_action):
        assert action.shortcuts(), action.text()
    owners: dict[str, str] = {}
    for action in window.actions():
        for key in action.shortcuts():
            assert key.toString() not in owners, (key.toString(), owners.get(key.toString()), action.text())
            owners[key.toString()] = action.text()


def test_ctrl_q_on_the_window_quits(qtbot) -> None:
    window = make_window(qtbot)
    _press(window, qtbot, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)


def test_start_run_refuses_a_checked_flag_as_the_image(qtbot, image_files) -> None:
    """The bug behind 14.1: QAction.triggered(bool) passed checked=False as continue_from."""
    window = make_window(qtbot)
    load_both(window, image_files)
    with pytest.raises(TypeError, match="bool"):
        window.start_run(continue_from=False)  # type: ignore[arg-type]
    assert not window.is_running()


@pytest.mark.slow
@pytest.mark.parametrize("path", ACTION_PATHS)
def test_menu_action_works_when_triggered(path: str, qtbot, image_files, tmp_path: Path,
                                          bundled_weights) -> None:
    content, style = image_files
    rec = recovery_path()  # File > Recover Last Result needs one
    rec.parent.mkdir(parents=True, exist_ok=True)
    save_image(make_content((40, 30)), rec, {"steps_done": 3, "elapsed_s": 1.0})
    prompts = Prompts()
    window = make_window(qtbot, prompts)
    few_steps(window, steps=4, size=32)
    load_both(window, image_files)
    res = inject_result(window, make_content((64, 48)))
    window.result_view.set_before(pil_to_qimage(make_content((64, 48))))  # as a run sets it (View > Compare)
    saved = tmp_path / "saved.png"
    save_image(res.image, saved, res.metadata)  # for Open Settings from Image
    prompts.open_answer = str(content) if "Content" in path else str(style) if "Style" in path else str(saved)
    prompts.open_answers = [str(style)]
    prompts.save_answer = str(tmp_path / "out.png")
    prompts.folder_answer = str(tmp_path)
    QGuiApplication.clipboard().setImage(pil_to_qimage(make_style((30, 20))))
    if path == "Edit > New Seed":  # enabled only while the seed is used (the start is noise)
        window.controls.init_combo.setCurrentIndex(window.controls.init_combo.findData("noise"))
    if path == "Edit > Stop Painting":  # enabled only while painting
        few_steps(window, steps=400, size=32)
        assert window.start_run()
        qtbot.waitUntil(lambda: window.progress_bar.value() >= 1, timeout=60_000)
    messages: list[str] = []
    window.statusBar().messageChanged.connect(messages.append)

    action = _find(window, path)
    assert action.isEnabled(), f"{path} is disabled in the state meant for it"
    action.trigger()
    qtbot.waitUntil(lambda: not window.is_running(), timeout=120_000)

    assert not _unexpected(window, prompts, messages), path
    if path == "Edit > Stylize":
        assert window.result is not None and window.result is not res and not window.result.cancelled
    if path == "Edit > Stop Painting":
        assert window.result is not None and window.result.cancelled
    if path == "File > Save Result…":
        assert (tmp_path / "out.png").is_file()
    if path == "File > Quit":
        assert not window.isVisible()
    if path == "View > Compare with Photo":
        assert window.result_view.canvas.effective_split() > 0
    if path == "File > Keep Full Input Paths in Results":
        assert window.settings.keep_input_paths and window.inputs.input_paths()["content"] == str(content.resolve())


def _press(window: MainWindow, qtbot, key: Qt.Key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    QTest.keyClick(window, key, modifier)


@pytest.mark.slow
def test_ctrl_return_on_the_window_paints(qtbot, image_files, bundled_weights) -> None:
    window = make_window(qtbot)
    few_steps(window, steps=4, size=32)
    load_both(window, image_files)
    _press(window, qtbot, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.result is not None and not window.is_running(), timeout=120_000)
    assert window.result.steps_done > 0 and not window.result.cancelled
    assert window.prompts.informed == [] and window.prompts.errors == []
    assert "Done" in window.progress_label.text()


@pytest.mark.slow
def test_escape_on_the_window_stops_a_run(qtbot, image_files, bundled_weights) -> None:
    window = make_window(qtbot)
    few_steps(window, steps=400, size=32)
    load_both(window, image_files)
    assert window.start_run()
    qtbot.waitUntil(lambda: window.progress_bar.value() >= 1, timeout=60_000)
    _press(window, qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.is_running(), timeout=60_000)
    assert window.result is not None and window.result.cancelled
    assert window.prompts.informed == []
