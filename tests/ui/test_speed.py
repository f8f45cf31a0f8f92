"""The rates behind the time estimate (ui/speed.py): the speed test and finished runs."""

from __future__ import annotations

import re
import threading

import pytest

from nst_desktop.engine import StyleResult, measure
from nst_desktop.engine.measure.calibrate import speed_from_steps
from nst_desktop.services.jobs import measured_rate
from nst_desktop.services.settings import Settings, save_settings
from nst_desktop.ui import speed
from nst_desktop.ui.main_window import MainWindow
from tests.ui.helpers import few_steps, load_both, make_window

pytestmark = pytest.mark.usefixtures("bundled_weights")


@pytest.fixture
def no_delay(monkeypatch) -> None:
    monkeypatch.setattr(speed, "SPEED_TEST_DELAY_MS", 0)


def _estimate(window: MainWindow) -> str:
    return window.controls.estimate_label.text()


@pytest.mark.slow  # the real speed test: runs at 128 and 256 px
@pytest.mark.usefixtures("no_delay")
def test_the_first_estimate_comes_from_a_speed_test_on_this_computer(qtbot) -> None:
    window = make_window(qtbot, speed_test=True)
    # before the test has measured anything: no number (another machine's guess was several times off)
    qtbot.waitUntil(lambda: "Time: measuring this computer's speed…" in _estimate(window), timeout=10_000)
    assert re.search(r"Time: about \d", _estimate(window)) is None
    qtbot.waitUntil(lambda: "from a speed test on this computer" in _estimate(window), timeout=300_000)
    assert not window.speeds.test.is_running()
    assert window.settings.seconds_per_pixel_step == {}  # a test is not a run: its rate is not a run's
    assert window.settings.seconds_per_step["cpu"] >= 0  # the fixed part of a step is kept: no test next time


@pytest.mark.usefixtures("no_delay")
def test_no_speed_test_where_runs_measured_the_speed(qtbot) -> None:
    save_settings(Settings(seconds_per_pixel_step={"cpu": 2e-6}, seconds_per_step={"cpu": 0.01}))
    window = make_window(qtbot, speed_test=True)
    qtbot.wait(200)
    assert not window.speeds.test.is_running() and "from your earlier runs" in _estimate(window)


def test_windows_without_the_speed_test_do_not_measure(qtbot) -> None:
    window = make_window(qtbot)
    qtbot.wait(speed.SPEED_TEST_DELAY_MS + 200)
    assert not window.speeds.test.is_running() and "Time: known after the first run" in _estimate(window)


def _run_during_the_speed_test(qtbot, image_files) -> MainWindow:
    """A window whose speed test has started, after a small run started during it has ended."""
    window = make_window(qtbot, speed_test=True)
    qtbot.waitUntil(window.speeds.test.is_running, timeout=10_000)
    few_steps(window, steps=4, size=32)
    load_both(window, image_files)
    assert window.start_run()
    qtbot.waitUntil(lambda: not window.is_running(), timeout=60_000)
    return window


@pytest.mark.usefixtures("no_delay")
def test_a_run_started_during_the_speed_test_cancels_it(qtbot, image_files) -> None:
    window = _run_during_the_speed_test(qtbot, image_files)
    assert window.has_unsaved_result()
    # cancelled, it reported nothing; the run was too small to measure the speed: the test runs again
    qtbot.waitUntil(lambda: "from a speed test on this computer" in _estimate(window), timeout=300_000)


@pytest.mark.usefixtures("no_delay")
def test_a_cancelled_speed_test_that_ends_after_the_run_starts_again(qtbot, image_files, monkeypatch) -> None:
    """A quick run can end while the test it cancelled is still in its step (a slow step on a slow
    CPU): the test then starts again once it has ended. It did not: it waited for a run's end that
    had passed, and the window never had a measured time."""
    run_over = threading.Event()
    calls: list[str] = []

    def measure_speed(device: str, precision: str = "auto", weights: object = None,
                      cancel: threading.Event | None = None) -> object:
        calls.append(device)
        if len(calls) == 1:  # cancelled by the run, and still in its step when the run ends
            assert cancel is not None
            cancel.wait(60)
            run_over.wait(60)
            return None
        return speed_from_steps((128 * 128, 0.02), (256 * 256, 0.05))  # no network: the window's part

    monkeypatch.setattr(measure, "measure_speed", measure_speed)
    window = _run_during_the_speed_test(qtbot, image_files)
    assert window.speeds.test.is_running() and len(calls) == 1
    run_over.set()
    qtbot.waitUntil(lambda: "from a speed test on this computer" in _estimate(window), timeout=10_000)
    assert len(calls) == 2


@pytest.mark.usefixtures("no_delay")
def test_closing_during_the_speed_test_ends_its_thread(qtbot) -> None:
    window = make_window(qtbot, speed_test=True)
    qtbot.waitUntil(window.speeds.test.is_running, timeout=10_000)
    thread = window.speeds.test._thread
    assert window.close()
    assert thread is not None and thread.isFinished() and not window.speeds.test.is_running()


def test_a_finished_run_teaches_the_estimate_its_rate(window: MainWindow) -> None:
    result = StyleResult(image=None, cancelled=False, steps_done=60, content_loss=0.0, style_loss=0.0,
                         elapsed_s=30.0, metadata={})
    window.speeds.run_finished(result, "cpu", (384, 512))
    first = measured_rate(512, (384, 512), 60, 30.0, "cpu")
    assert window.settings.seconds_per_pixel_step == {"cpu": pytest.approx(first)}
    assert "from your earlier runs" in _estimate(window)
    window.speeds.run_finished(result, "cpu", (384, 512))  # the same again: the rate stays
    slower = StyleResult(image=None, cancelled=False, steps_done=60, content_loss=0.0, style_loss=0.0,
                         elapsed_s=90.0, metadata={})
    window.speeds.run_finished(slower, "cpu", (384, 512))  # smoothed: half-way to the new one
    assert window.settings.seconds_per_pixel_step["cpu"] == pytest.approx(2 * first)
    tiled = StyleResult(image=None, cancelled=False, steps_done=60, content_loss=0.0, style_loss=0.0,
                        elapsed_s=900.0, metadata={"tiles_used": [0, 256]})
    window.speeds.run_finished(tiled, "cpu", (384, 512))  # its margins are not the machine's speed
    assert window.settings.seconds_per_pixel_step["cpu"] == pytest.approx(2 * first)


def test_a_window_closed_before_the_delay_never_tests(qtbot) -> None:
    window = make_window(qtbot, speed_test=True)
    assert window.close()
    qtbot.wait(speed.SPEED_TEST_DELAY_MS + 300)
    assert not window.speeds.test.is_running() and window.speeds.test._tried == set()


def test_a_finished_run_is_measured_beyond_the_fixed_part_of_its_steps(window: MainWindow) -> None:
    window.settings.seconds_per_step["cpu"] = 0.1
    result = StyleResult(image=None, cancelled=False, steps_done=60, content_loss=0.0, style_loss=0.0,
                         elapsed_s=30.0, metadata={})
    window.speeds.run_finished(result, "cpu", (384, 512))
    assert window.settings.seconds_per_pixel_step["cpu"] == pytest.approx(measured_rate(512, (384, 512), 60, 30.0,
                                                                                        "cpu", 0.1))
    assert window.settings.seconds_per_pixel_step["cpu"] < measured_rate(512, (384, 512), 60, 30.0, "cpu")
