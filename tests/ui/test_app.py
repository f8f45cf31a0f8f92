"""Start-up: ``nst-desktop [CONTENT [STYLE]]`` and ``python -m nst_desktop``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from nst_desktop.app_info import APP_NAME, APP_VERSION
from nst_desktop.ui import app as app_mod
from nst_desktop.ui.main_window import MainWindow


def test_run_app_opens_the_window_with_both_images(qtbot, image_files, monkeypatch) -> None:
    content, style = image_files
    seen: list[MainWindow] = []

    def fake_exec(app: QApplication) -> int:
        seen.extend(w for w in app.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible())
        return 0

    monkeypatch.setattr(app_mod, "_exec", fake_exec)
    assert app_mod.run_app([str(content), str(style)]) == 0
    assert len(seen) == 1
    window = seen[0]
    qtbot.addWidget(window)
    assert window.content_pane.loaded is not None and window.content_pane.loaded.path == content
    assert window.style_pane.loaded is not None and window.style_pane.loaded.path == style
    assert "photo.png" in window.windowTitle() and "painting.jpg" in window.windowTitle()
    assert QApplication.applicationName() == APP_NAME
    window.close()


def test_run_app_with_a_bad_file_still_opens(qtbot, tmp_path: Path, monkeypatch) -> None:
    seen: list[MainWindow] = []
    monkeypatch.setattr(
        app_mod, "_exec",
        lambda app: seen.extend(w for w in app.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()) or 0,
    )
    missing = tmp_path / "nope.jpg"
    assert app_mod.run_app([str(missing)]) == 0
    window = seen[0]
    qtbot.addWidget(window)
    assert window.content_pane.loaded is None
    assert "nope.jpg" in window.content_pane.message.text() and "does not exist" in window.content_pane.message.text()
    window.close()


def test_parse_args() -> None:
    ns = app_mod.parse_args(["a.jpg", "b.png"])
    assert (ns.content, ns.style) == ("a.jpg", "b.png")
    assert app_mod.parse_args([]).content is None
    with pytest.raises(SystemExit):
        app_mod.parse_args(["a", "b", "c"])


def test_module_entry_point_reports_its_version(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run(
        [sys.executable, "-m", "nst_desktop", "--version"], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert f"{APP_NAME} {APP_VERSION}" in out.stdout


@pytest.mark.slow
def test_screenshot_script_renders_a_finished_window(tmp_path: Path) -> None:
    out = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [sys.executable, "-m", "nst_desktop.ui.screenshot", str(out), "--size", "32", "--steps", "3"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    from PIL import Image

    with Image.open(out) as im:
        assert im.format == "PNG" and im.size == (1280, 800)
        # Not a blank grab: the window has many colours (images, widgets).
        assert len(im.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 200


CLOSE_MID_RUN = r"""
import sys
from PySide6.QtCore import QTimer
from nst_desktop.ui import app as A
from nst_desktop.ui.main_window import MainWindow

def exec_and_close_mid_run(app):
    w = next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))
    w.steps_override = 400
    w.controls.size_spin.setValue(48)
    w.prompts.ask = lambda *a: True  # "Stop painting and quit?" -> yes
    assert w.start_run()
    def poll():
        if w.progress_bar.value() >= 1:
            w.close()
    timer = QTimer()
    timer.timeout.connect(poll)
    timer.start(50)
    return app.exec()

A._exec = exec_and_close_mid_run
print("exit", A.run_app(sys.argv[1:3]), flush=True)
"""


@pytest.mark.slow
def test_whole_app_quits_cleanly_when_closed_mid_run(image_files, tmp_path: Path) -> None:
    """The real process: start a run, close the window mid-run; it must exit normally, not
    abort with "QThread: Destroyed while thread is still running" or hang."""
    content, style = image_files
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [sys.executable, "-c", CLOSE_MID_RUN, str(content), str(style)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "exit 0" in proc.stdout
    assert "QThread" not in proc.stderr and "Traceback" not in proc.stderr
