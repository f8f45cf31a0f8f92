"""Long runs: the share done in the window title, a notification when a run or the queue ends
while the window is not the active one (ui/run_notice.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nst_desktop.ui import run_notice
from nst_desktop.ui.main_window import MainWindow
from tests.ui.helpers import few_steps, load_both

pytestmark = pytest.mark.usefixtures("bundled_weights")


def _record(window: MainWindow, active: bool) -> list[tuple[str, str]]:
    told: list[tuple[str, str]] = []
    window.notice.notify = lambda title, text: told.append((title, text))
    window.notice.active = lambda: active
    return told


def test_the_title_shows_the_share_done_while_painting(window: MainWindow, image_files, qtbot) -> None:
    load_both(window, image_files)
    few_steps(window, 8)
    titles: list[str] = []
    window.windowTitleChanged.connect(titles.append)
    _record(window, active=True)
    window.stylize()
    qtbot.waitUntil(lambda: not window.is_running(), timeout=60_000)
    shares = [int(m.group(1)) for t in titles if (m := re.match(r"(\d+) % — ", t))]
    assert shares and shares == sorted(shares) and all(0 <= s < 100 for s in shares)
    assert window.windowTitle().endswith("NST Desktop") and " % — " not in window.windowTitle()


def test_a_run_ending_away_from_the_window_is_notified(window: MainWindow, image_files, qtbot) -> None:
    load_both(window, image_files)
    few_steps(window, 3)
    told = _record(window, active=False)
    window.stylize()
    qtbot.waitUntil(lambda: bool(told), timeout=60_000)
    assert told[0][0] == "Painting finished" and "3 steps in" in told[0][1]


def test_no_notification_while_the_person_looks_at_the_window(window: MainWindow, image_files, qtbot) -> None:
    load_both(window, image_files)
    few_steps(window, 2)
    told = _record(window, active=True)
    window.stylize()
    qtbot.waitUntil(lambda: not window.is_running(), timeout=60_000)
    qtbot.wait(50)
    assert told == []


def test_the_queue_ending_is_notified(window: MainWindow, image_files, tmp_path: Path, qtbot) -> None:
    few_steps(window, 2, size=32)
    panel = window.queue_panel
    content, style = image_files
    assert panel.photos.add_paths([content]) == [] and panel.paintings.add_paths([style]) == []
    panel.out_edit.setText(str(tmp_path / "out"))
    panel.add_to_queue()
    told = _record(window, active=False)
    panel.start_or_pause()
    qtbot.waitUntil(lambda: ("Queue finished", "1 of 1 painted") in told, timeout=60_000)


def test_without_a_tray_or_session_bus_nothing_is_shown(window: MainWindow, monkeypatch) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setattr(run_notice, "_session_bus", lambda: None)
    assert run_notice.dbus_notify_command("a", "b") is None
    assert window.notice.desktop_notify("Painting finished", "x") in ("", "tray")  # offscreen: no tray


def test_notification_text_is_quoted_for_gdbus() -> None:
    assert run_notice.gvariant_string('say "hi" \\ ü') == '"say \\"hi\\" \\\\ \\u00fc"'
