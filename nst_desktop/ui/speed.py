"""The rates behind the window's time estimate (seconds per pixel-step, per device).

- Finished runs measure them (:func:`services.jobs.measured_rate`); the settings keep them.
- Until a run has, the estimate would be a built-in guess from another machine: soon after
  the window opens, :class:`SpeedTest` times a few real steps of the engine on the chosen
  device in a QThread (:func:`nst_desktop.engine.measure.calibrate.measure_speed`, a second or two):
  a step's fixed part and its part per pixel. A run started meanwhile cancels it; the test runs
  again once the run has ended. Until it has measured, the window shows no time (a built-in
  guess from another machine was several times off).

:class:`SpeedKeeper` does both for the window.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from nst_desktop.engine import StyleResult
from nst_desktop.services.jobs import measured_rate
from nst_desktop.services.settings import Settings
from nst_desktop.ui.controls import ControlsPanel
from nst_desktop.ui.run_controller import RunController
from nst_desktop.ui.threads import join_thread, start_in_thread

if TYPE_CHECKING:
    from nst_desktop.engine.measure.speed import Speed

log = logging.getLogger(__name__)

#: Weight of a new run's rate against the remembered one (machines' speed drifts).
RATE_SMOOTHING = 0.5
#: The speed test starts this long after the window opens (it is drawn and idle by then).
SPEED_TEST_DELAY_MS = 1500


class _SpeedWorker(QObject):
    """Measures ``device_id``'s speed in its thread; ``done(device_id, Speed or None)``."""

    done = Signal(str, object)

    def __init__(self, device_id: str, cancel: threading.Event) -> None:
        super().__init__()
        self._device_id = device_id
        self._cancel = cancel

    @Slot()
    def run(self) -> None:
        try:
            from nst_desktop.engine.measure import measure_speed  # torch, in this thread

            rate = measure_speed(self._device_id, "auto", cancel=self._cancel)
        except Exception:  # noqa: BLE001 - the estimate then stays the rough one; the run will say what is wrong
            log.exception("the speed test on %s failed", self._device_id)
            rate = None
        self.done.emit(self._device_id, rate)


class SpeedTest(QObject):
    """GUI-thread owner of at most one speed test at a time.

    ``measured(device_id, speed)`` (an :class:`engine.measure.speed.Speed`) is emitted once per device
    that was measured; devices measured (or failed) this session are not measured again, those
    whose test was cancelled are.
    """

    measured = Signal(str, object)
    #: The test ended (measured, failed or cancelled).
    ended = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: _SpeedWorker | None = None
        self._cancel = threading.Event()
        self._tried: set[str] = set()

    def start(self, device_id: str) -> bool:
        """Measure ``device_id`` unless it was tried already or a test is running; True if started."""
        if self._thread is not None or device_id in self._tried:
            return False
        self._tried.add(device_id)
        self._cancel = threading.Event()
        self._worker = _SpeedWorker(device_id, self._cancel)
        self._worker.done.connect(self._on_done)
        self._thread = start_in_thread(self._worker, "nst-speed-test")
        return True

    def is_running(self) -> bool:
        return self._thread is not None

    def measuring(self) -> str | None:
        """The device being measured (None: none)."""
        return self._worker._device_id if self._worker is not None and not self._cancel.is_set() else None

    def cancel(self) -> None:
        """Stop the test within a step (a run is starting); it reports nothing."""
        self._cancel.set()

    def stop(self, timeout_ms: int | None = None) -> bool:
        """Cancel and wait for the thread to end (closing the window); False if it had not ended."""
        self.cancel()
        done = join_thread(self._thread, timeout_ms)
        if done:
            self._thread = self._worker = None
        return done

    @Slot(str, object)
    def _on_done(self, device_id: str, rate: float | None) -> None:
        join_thread(self._thread)  # it has left torch: emitting was the worker's last act
        self._thread = self._worker = None
        if self._cancel.is_set():
            self._tried.discard(device_id)  # a run took its place: it is measured again afterwards
        elif rate is not None:
            self.measured.emit(device_id, rate)
        self.ended.emit()


class SpeedKeeper(QObject):
    """The window's rates: those of finished runs (kept in ``settings``) and the speed test's,
    both handed to ``controls`` for the estimate. ``runs``: the window's runs (no test starts while
    one goes; a test a run cancelled starts again when it has ended). ``test_on_open``: run the
    speed test :data:`SPEED_TEST_DELAY_MS` after opening and whenever another device is chosen, on
    each device that no run has measured."""

    def __init__(self, *, runs: RunController, controls: ControlsPanel, settings: Settings, test_on_open: bool,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runs = runs
        self.controls = controls
        self.settings = settings
        self.test = SpeedTest(self)
        self.test.measured.connect(self._on_tested)
        self.test.ended.connect(self._on_test_ended)
        runs.running_changed.connect(self._on_running_changed)
        self._armed = False
        self._closed = False
        if test_on_open:
            self.start_timer()

    def start_timer(self) -> None:
        """Run the speed test :data:`SPEED_TEST_DELAY_MS` from now, and then on each device chosen."""
        QTimer.singleShot(SPEED_TEST_DELAY_MS, self._arm)

    @Slot()
    def _arm(self) -> None:
        if self._closed:  # closed before the delay was over
            return
        self._armed = True
        self.controls.changed.connect(self.test_chosen_device)
        self.test_chosen_device()

    @Slot()
    def test_chosen_device(self) -> None:
        """Start the speed test on the chosen device unless a run measured it or one is going."""
        device = self.controls.device_id()
        if not self._closed and not self.runs.is_running() and device not in self.settings.seconds_per_step:
            self.test.start(device)
        self._show_state()

    @Slot()
    def _show_state(self) -> None:
        self.controls.set_measuring(self.test.measuring())

    @Slot()
    def _on_test_ended(self) -> None:
        """A test a run cancelled can end after that run (a quick run beside a slow step): it starts
        again now (measured, failed or cancelled by closing, it does not: see :meth:`test_chosen_device`)."""
        if self._armed:
            self.test_chosen_device()
        else:
            self._show_state()

    @Slot(bool)
    def _on_running_changed(self, running: bool) -> None:
        if not running and self._armed:
            self.test_chosen_device()  # a run had cancelled the test: measure now

    def run_starting(self) -> None:
        """A run is about to start: the test gives way (it runs again after the run)."""
        self.test.cancel()
        self._show_state()

    def run_finished(self, res: StyleResult, device: str, size_hw: tuple[int, int]) -> None:
        """Learn the rate of a finished run of ``size_hw`` px on ``device`` (too small a run says
        nothing, nor does a tiled one: its time holds its tiles' margins, which the estimate
        adds to the rate itself)."""
        if res.metadata.get("tiles_used"):
            return
        per_step = self.settings.seconds_per_step.get(device, 0.0)
        rate = measured_rate(max(size_hw), size_hw, res.steps_done, res.elapsed_s, device, per_step)
        if rate is None:
            return
        rates = self.settings.seconds_per_pixel_step
        old = rates.get(device)
        rates[device] = rate if old is None else (1 - RATE_SMOOTHING) * old + RATE_SMOOTHING * rate
        self.controls.set_measured_rates(rates)

    def stop(self) -> None:
        """Closing: end the speed test's thread (within a step); no test starts after this."""
        self._closed = True
        self.test.stop()

    @Slot(str, object)
    def _on_tested(self, device: str, speed: Speed) -> None:
        """Keep the fixed part of a step (no run measures it) and show the estimate from the test."""
        settings = self.settings
        if device not in settings.seconds_per_step and settings.seconds_per_pixel_step.pop(device, None):
            # learnt from runs with the fixed part folded in: it would be counted twice
            self.controls.set_measured_rates(settings.seconds_per_pixel_step)
        settings.seconds_per_step[device] = speed.per_step_s
        self.controls.set_step_seconds(settings.seconds_per_step)
        self.controls.set_tested_rate(device, speed.per_pixel_s)
