"""The speed test's measured run (engine/measure/calibrate.py), with the real weights."""

from __future__ import annotations

import itertools
import threading

import pytest

from nst_desktop.engine.measure import calibrate
from nst_desktop.engine.net.weights import VGGWeights
from nst_desktop.engine.plan import schedule


@pytest.mark.slow  # real runs at 128 and 256 px
def test_the_rate_is_the_median_step_per_pixel_times_the_runs_overhead(bundled_weights: VGGWeights) -> None:
    """Real runs at both calibration sizes, timed by a clock that ticks 0.25 s per reading: every
    step then lasts one tick at either size, so nothing of it grows with the pixels, and the
    rate falls back to that tick per pixel of the larger run, times the overhead."""
    ticks = itertools.count()
    rate = calibrate.measure_rate("cpu", "fp32", bundled_weights, clock=lambda: 0.25 * next(ticks))
    h, w = calibrate.CALIBRATION_HW
    assert rate == pytest.approx(0.25 / (h * w) * calibrate.RUN_OVERHEAD)


def test_two_sizes_separate_the_fixed_part_of_a_step_from_the_part_per_pixel() -> None:
    """Steps that cost 50 ms plus 3 us per pixel: the rate at the reference size is that line's."""
    def step(px: int) -> tuple[int, float]:
        return px, 0.05 + 3e-6 * px

    rate = calibrate.rate_from_steps(step(128 * 96), step(256 * 192), reference_pixels=512 * 384)
    assert rate == pytest.approx(3e-6 + 0.05 / (512 * 384))
    # The larger the reference, the less the fixed part weighs.
    assert calibrate.rate_from_steps(step(128 * 96), step(256 * 192), reference_pixels=2048 ** 2) < rate


@pytest.mark.parametrize("small_s, large_s", [(0.30, 0.20), (0.01, 0.20)])
def test_noise_that_breaks_the_line_falls_back_to_the_larger_steps_cost(small_s: float, large_s: float) -> None:
    """A smaller step that took longer (no part per pixel), or a line with a negative fixed part."""
    rate = calibrate.rate_from_steps((100, small_s), (400, large_s), reference_pixels=1000)
    assert rate == pytest.approx(large_s / 400)


def test_a_line_that_noise_tilted_is_held_to_the_least_share_of_the_larger_steps_cost() -> None:
    """A small step measured slow flattens the line until nearly all is fixed part: the rate
    stays at the floor, not at the fraction of the truth the line would say."""
    rate = calibrate.rate_from_steps((100, 0.95), (400, 1.0), reference_pixels=1600)
    assert rate == pytest.approx(calibrate.LEAST_SHARE * 1.0 / 400)


@pytest.mark.slow  # real runs at 128 and 256 px
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
    assert speed.rate_at(512 * 384) == pytest.approx(calibrate.rate_from_steps(step(128 * 96), step(256 * 192)) * oh)
    falling = calibrate.speed_from_steps((100, 0.30), (400, 0.20))  # noise: a smaller step that took longer
    half = calibrate.FLAT_FIXED_SHARE
    assert falling.per_step_s == pytest.approx(half * 0.20 * oh)
    assert falling.step_seconds(400) == pytest.approx(0.20 * oh)  # the larger step as measured
    superlinear = calibrate.speed_from_steps((100, 0.01), (400, 0.20))  # a line with a negative fixed part
    assert superlinear == calibrate.Speed(0.20 / 400 * oh, 0.0)
