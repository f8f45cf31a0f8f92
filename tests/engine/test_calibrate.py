"""The speed test's measured run (engine/calibrate.py), with the real weights."""

from __future__ import annotations

import itertools
import threading

import pytest

from nst_desktop.engine import calibrate, schedule
from nst_desktop.engine.weights import VGGWeights


def test_the_rate_is_the_median_step_per_pixel_times_the_runs_overhead(bundled_weights: VGGWeights) -> None:
    """A real run at the calibration size, timed by a clock that ticks 0.25 s per reading: every
    step then lasts one tick, and the rate is that tick per pixel of the run, times the overhead."""
    ticks = itertools.count()
    rate = calibrate.measure_rate("cpu", "fp32", bundled_weights, clock=lambda: 0.25 * next(ticks))
    h, w = calibrate.CALIBRATION_HW
    assert rate == pytest.approx(0.25 / (h * w) * calibrate.RUN_OVERHEAD)


def test_a_real_rate_predicts_a_run_at_the_same_size(bundled_weights: VGGWeights) -> None:
    """Not a timing target: the rate is positive and of the order of the step it measured."""
    rate = calibrate.measure_rate("cpu", "auto", bundled_weights)
    assert rate is not None and 0 < rate
    h, w = calibrate.CALIBRATION_HW
    assert rate * h * w < 30  # seconds per step at 256 x 192 px: anything slower is a broken measurement


def test_a_cancelled_speed_test_reports_nothing(bundled_weights: VGGWeights) -> None:
    cancel = threading.Event()
    cancel.set()
    assert calibrate.measure_rate("cpu", "auto", bundled_weights, cancel=cancel) is None


def test_pixel_steps_sum_the_schedules_sizes() -> None:
    plan = schedule.plan_for("cpu", 512, 72)
    assert len(plan) == 2  # 256 and 512 px
    expected = sum(st.steps * st.long_side * round(st.long_side * 3 / 4) for st in plan)
    assert schedule.pixel_steps("cpu", 512, (3, 4), 72) == expected
