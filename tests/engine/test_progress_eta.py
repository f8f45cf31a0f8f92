"""The engine's count of the time left (engine/progress.py) counts each size's setup."""

from __future__ import annotations

import time

import pytest

from nst_desktop.engine.plan import schedule
from nst_desktop.engine.progress import Tracker


def test_the_time_left_counts_the_setups_of_the_sizes_begun_and_to_come() -> None:
    stages = [schedule.Stage(256, 10), schedule.Stage(512, 10)]
    t = Tracker(total=20, stages=stages, on_progress=None, cancel=None, preview_every=0,
                t0=time.perf_counter() - 10.0, out_hw=(512, 512))
    t.size_hw, t.step, t.work_done = (256, 256), 5, 5 * 256 * 256
    setup = schedule.SIZE_SETUP_STEPS
    small, large = 256 * 256, 512 * 512
    # 10 s paid for 5 steps and the first size's setup; left: 5 steps, the second size's setup and its 10 steps
    expected = 10.0 / ((5 + setup) * small) * (5 * small + (10 + setup) * large)
    assert t.eta() == pytest.approx(expected, rel=0.01)
