"""The time left the window shows: steady over the first steps, the engine's count later."""

from __future__ import annotations

import math

import pytest

from nst_desktop.services.time_left import SHOW_AFTER, TRUST_ENGINE_AFTER, time_left


def test_at_the_first_step_the_estimate_holds_against_a_start_spread_over_one_step() -> None:
    # 5.5 min run; at step 1 (20 s in) the engine's count says 18 min left
    shown = time_left(18 * 60, 20, estimate_s=330)
    assert 300 <= shown <= 6 * 60  # not 18 min


def test_later_the_engine_count_is_shown_alone() -> None:
    assert time_left(100, 200, estimate_s=330) == 100  # two thirds done by the engine's count
    assert time_left(0, 300, estimate_s=330) == 0


def test_the_estimate_hands_over_gradually() -> None:
    shown = [time_left(left, 330 - left, estimate_s=330) * 1.0 for left in (400, 300, 260, 231)]
    done = [(330 - left) / 330 for left in (400, 300, 260, 231)]
    assert all(d < TRUST_ENGINE_AFTER + 0.01 for d in done)
    assert shown == sorted(shown, reverse=True)


def test_a_run_slower_than_its_estimate_is_not_shown_as_nearly_done() -> None:
    # 400 s in of a 330 s estimate, the engine says 3 min left and 0.69 done
    assert time_left(180, 400, estimate_s=330) == pytest.approx(180)
    # early on with the estimate spent: the estimate's share still to do
    assert time_left(3000, 120, estimate_s=100) > 90


def test_without_an_estimate_nothing_is_shown_over_the_first_steps() -> None:
    assert time_left(1000, 10) is None
    assert time_left(100, 100 * SHOW_AFTER / (1 - SHOW_AFTER) + 1) == 100
    assert time_left(None, 5, 100) is None and time_left(math.nan, 5, 100) is None
