"""The speed test's measured run (engine/measure/calibrate.py), with the real weights, and the speed
model of a run's time (engine/measure/speed.py)."""

from __future__ import annotations

import itertools
import threading

import pytest

from nst_desktop.engine.measure import calibrate
from nst_desktop.engine.measure.speed import Speed, run_seconds
from nst_desktop.engine.net.weights import VGGWeights
from nst_desktop.engine.params import StyleParams
from nst_desktop.engine.plan import schedule, sizing


@pytest.mark.slow  # real runs at 128 and 256 px
def test_the_speed_is_the_line_through_the_median_steps_times_the_runs_overhead(bundled_weights: VGGWeights) -> None:
    """Real runs at both calibration sizes, timed by a clock that ticks 0.25 s per reading: every
    step then lasts one tick at either size, so nothing of it grows with the pixels, and the larger
    step is predicted as that tick, times the overhead."""
    ticks = itertools.count()
    speed = calibrate.measure_speed("cpu", "fp32", bundled_weights, clock=lambda: 0.25 * next(ticks))
    h, w = calibrate.CALIBRATION_HW
    sh, sw = calibrate.SMALL_HW
    assert speed == calibrate.speed_from_steps((sh * sw, 0.25), (h * w, 0.25))
    assert speed.step_seconds(h * w) == pytest.approx(0.25 * calibrate.RUN_OVERHEAD)


@pytest.mark.slow  # real runs at 128 and 256 px
def test_a_real_speed_is_of_the_order_of_the_steps_it_measured(bundled_weights: VGGWeights) -> None:
    """Not a timing target: the speed is positive and of the order of the steps it measured."""
    speed = calibrate.measure_speed("cpu", "auto", bundled_weights)
    assert speed is not None and speed.per_pixel_s > 0 and speed.per_step_s >= 0
    h, w = calibrate.CALIBRATION_HW
    assert speed.step_seconds(h * w) < 30  # seconds per step at 256 x 192 px: anything slower is a broken measurement


def test_a_cancelled_speed_test_reports_nothing(bundled_weights: VGGWeights) -> None:
    cancel = threading.Event()
    cancel.set()
    assert calibrate.measure_speed("cpu", "auto", bundled_weights, cancel=cancel) is None


def test_a_runs_seconds_are_its_steps_and_its_sizes_setups_on_the_speeds_line() -> None:
    """The one model of a run's time (the window's estimate and bench's): at each size of the plan,
    (steps + the size's setup) x (the fixed part + the part per pixel x the size's pixels)."""
    budget = 8 * 2**30
    plan = sizing.plan_run(StyleParams(size=256, steps=40, device="cpu", start_size=128), (3, 4), "cpu", False, budget)
    assert len(plan.sizes) == 2 and not plan.tiled
    speed = Speed(2e-6, 0.05)
    expected = sum((st.steps + schedule.SIZE_SETUP_STEPS) * (0.05 + 2e-6 * h * w)
                   for st, (h, w) in zip(plan.stages, plan.sizes, strict=True))
    assert run_seconds(plan, speed, budget, "cpu", False) == pytest.approx(expected)
    # Tiled, each step sees more pixels than the image has (margins, the Gram pass): only that part grows.
    tiled = sizing.plan_run(StyleParams(size=256, steps=40, device="cpu", start_size=128, tile=64), (3, 4), "cpu",
                            False, budget)
    assert tiled.tiled
    fixed_only = run_seconds(tiled, Speed(0.0, 0.05), budget, "cpu", False)
    assert fixed_only == pytest.approx(0.05 * sum(st.steps + schedule.SIZE_SETUP_STEPS for st in tiled.stages))
    assert run_seconds(tiled, speed, budget, "cpu", False) > run_seconds(plan, speed, budget, "cpu", False)


def test_pixel_steps_sum_the_schedules_sizes() -> None:
    plan = schedule.plan_for("cpu", 512, 72)
    assert len(plan) == 2  # 256 and 512 px
    expected = round(sum((st.steps + schedule.SIZE_SETUP_STEPS) * st.long_side * round(st.long_side * 3 / 4)
                         for st in plan))
    assert schedule.pixel_steps("cpu", 512, (3, 4), 72) == expected


def test_the_speed_keeps_the_fixed_part_of_a_step_apart() -> None:
    """Steps of 50 ms plus 3 us per pixel: a 128 x 128 px step is predicted as that line says,
    not as the rate at 512 x 384 px times its pixels (12 times too little of the fixed part)."""
    def step(px: int) -> tuple[int, float]:
        return px, 0.05 + 3e-6 * px

    speed = calibrate.speed_from_steps(step(128 * 96), step(256 * 192))
    oh = calibrate.RUN_OVERHEAD
    assert speed.per_step_s == pytest.approx(0.05 * oh) and speed.per_pixel_s == pytest.approx(3e-6 * oh)
    assert speed.step_seconds(128 * 128) == pytest.approx((0.05 + 3e-6 * 128 * 128) * oh)
    falling = calibrate.speed_from_steps((100, 0.30), (400, 0.20))  # noise: a smaller step that took longer
    half = calibrate.FLAT_FIXED_SHARE
    assert falling.per_step_s == pytest.approx(half * 0.20 * oh)
    assert falling.step_seconds(400) == pytest.approx(0.20 * oh)  # the larger step as measured
    superlinear = calibrate.speed_from_steps((100, 0.01), (400, 0.20))  # a line with a negative fixed part
    assert superlinear == Speed(0.20 / 400 * oh, 0.0)
