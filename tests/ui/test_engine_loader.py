"""The window is shown before torch is loaded, and fills in what needs the engine once it is."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nst_desktop.services.settings import Settings, save_settings
from nst_desktop.ui import speed
from nst_desktop.ui.estimate_text import ENGINE_LOADING
from nst_desktop.ui.main_window import MainWindow
from tests.ui.helpers import Prompts, few_steps, load_both


def test_the_window_and_the_app_start_import_no_torch() -> None:
    """What builds the window imports no torch (the engine is loaded after it is shown)."""
    code = ("import sys; import nst_desktop.ui.app, nst_desktop.ui.main_window, nst_desktop.engine; "
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))[:3])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def _later_window(qtbot) -> MainWindow:
    w = MainWindow(prompts=Prompts(), engine_later=True)
    qtbot.addWidget(w)
    return w


def test_the_estimate_and_the_number_format_wait_for_the_engine(qtbot) -> None:
    w = _later_window(qtbot)
    assert not w.engine_ready and w.controls.estimate_label.text() == ENGINE_LOADING
    assert "loading the engine" in w.status_device.text()
    assert "steps" not in w.controls.quality_combo.currentText()
    w.show()
    qtbot.waitUntil(lambda: w.engine_ready, timeout=60_000)
    assert "Time: " in w.controls.estimate_label.text()  # measured by the speed test (or its wait said)
    assert "steps)" in w.controls.quality_combo.currentText()
    assert "bfloat16" in w.status_device.text() or "float32" in w.status_device.text()
    assert [d.id for d in w.devices][0] == "cpu" and w.devices == w.controls.devices


def test_the_saved_device_is_kept_while_the_engine_loads(qtbot) -> None:
    """A GPU chosen last time is listed only once the engine has found the GPUs: closing before
    that must not forget it."""
    save_settings(Settings(device="cuda:0"))
    w = _later_window(qtbot)
    settings = Settings()
    w.controls.store_settings(settings)
    assert settings.device == "cuda:0"
    w.show()
    qtbot.waitUntil(lambda: w.engine_ready, timeout=60_000)
    w.controls.store_settings(settings)
    assert settings.device == ("cuda:0" if any(d.id == "cuda:0" for d in w.devices) else "auto")


def test_closing_before_the_engine_starts_loading_starts_none(qtbot) -> None:
    """Closed within the moment between the first paint and the import's start."""
    w = _later_window(qtbot)
    w.show()
    assert w.close()
    qtbot.wait(400)  # past the delay before the import starts
    assert w.engine._thread is None and not w.engine_ready


def test_closing_while_the_engine_loads_is_clean(qtbot) -> None:
    w = _later_window(qtbot)
    w.show()
    qtbot.waitUntil(lambda: w.engine._thread is not None or w.engine_ready, timeout=10_000)
    assert w.close()
    assert w.engine._thread is None  # the import thread was waited for and ended


@pytest.mark.usefixtures("bundled_weights")
def test_a_run_after_the_engine_loaded_paints(qtbot, image_files) -> None:
    w = _later_window(qtbot)
    w.show()
    qtbot.waitUntil(lambda: w.engine_ready, timeout=60_000)
    few_steps(w, steps=3, size=32)
    load_both(w, image_files)
    assert w.start_run()
    qtbot.waitUntil(lambda: not w.is_running(), timeout=60_000)
    assert w.has_unsaved_result()


def test_the_speed_test_waits_for_the_engine(qtbot, monkeypatch) -> None:
    monkeypatch.setattr(speed, "SPEED_TEST_DELAY_MS", 0)
    started: list[str] = []
    monkeypatch.setattr(speed.SpeedTest, "start", lambda self, device: started.append(device))
    w = MainWindow(prompts=Prompts(), engine_later=True, speed_test=True)
    qtbot.addWidget(w)
    qtbot.wait(100)
    assert started == []  # not shown yet: the engine is not loading, and no test runs without it
    w.show()
    qtbot.waitUntil(lambda: started == ["cpu"], timeout=60_000)
    assert w.engine_ready
