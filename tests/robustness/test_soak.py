"""Hours of use, compressed: many consecutive runs in one window through the real worker.

30 runs (``NST_SOAK_RUNS``) at 32-48 px with a few steps each, every fourth one cancelled
mid-run. Afterwards: memory (RSS) within 10 % of its value after the fifth run, no
leaked threads or jobs, and no Qt warning printed along the way.
"""

from __future__ import annotations

import gc
import os
import threading
import time
import warnings

import pytest
from PySide6.QtCore import QThread, QtMsgType, qInstallMessageHandler

from nst_desktop.ui.worker import StyleJob
from tests.ui.helpers import load_both, make_window

RUNS = int(os.environ.get("NST_SOAK_RUNS", "30"))
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE


def live_qthreads() -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # isinstance() on some torch objects warns of deprecations
        return sum(1 for o in gc.get_objects() if isinstance(o, QThread))


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")
def test_soak_many_runs_in_one_window(qtbot, image_files, bundled_weights) -> None:
    window = make_window(qtbot)
    window.preview_every = 2
    load_both(window, image_files)
    qtbot.wait(50)  # let the window settle (the offscreen plugin warns once on show)

    qt_warnings: list[str] = []

    def handler(mode: QtMsgType, context: object, message: str) -> None:
        # The offscreen platform plugin says this whenever a window's size hints change (the
        # history strip appears after the first result); real platforms support it.
        offscreen_limit = "does not support propagateSizeHints" in message
        if mode != QtMsgType.QtDebugMsg and mode != QtMsgType.QtInfoMsg and not offscreen_limit:
            qt_warnings.append(f"{mode.name}: {message}")

    previous = qInstallMessageHandler(handler)
    threads_at_start = threading.active_count()
    rss: list[int] = []
    outcomes: list[str] = []
    t0 = time.perf_counter()
    try:
        for i in range(RUNS):
            window.steps_override = 4 if i % 4 != 3 else 200
            window.controls.size_spin.setValue((32, 40, 48)[i % 3])
            assert window.start_run(), f"run {i} did not start"
            job = window.runs.job
            if i == 0:
                assert live_qthreads() == 1  # the count below does see a running QThread
            if i % 4 == 3:  # cancel mid-run
                qtbot.waitUntil(lambda: window.progress_bar.value() >= 1, timeout=60_000)
                window.cancel_run()
            with qtbot.waitSignal(job.ended, timeout=120_000):
                pass
            assert not window.is_running() and job._thread is None
            outcomes.append("cancelled" if window.result.cancelled else "finished")
            gc.collect()
            rss.append(rss_bytes())
    finally:
        qInstallMessageHandler(previous)
    elapsed = time.perf_counter() - t0
    qtbot.wait(20)  # deleteLater of the last replaced job
    gc.collect()

    print(f"\nsoak: {RUNS} runs in {elapsed:.1f} s ({outcomes.count('cancelled')} cancelled); "
          f"RSS after run 5 {rss[4] / 2**20:.1f} MiB, after run {RUNS} {rss[-1] / 2**20:.1f} MiB, "
          f"max {max(rss) / 2**20:.1f} MiB")
    assert outcomes.count("cancelled") == RUNS // 4
    assert rss[-1] <= rss[4] * 1.10, [round(r / 2**20, 1) for r in rss]
    assert threading.active_count() <= threads_at_start, threading.enumerate()
    assert live_qthreads() == 0
    assert len(window.findChildren(StyleJob)) <= 1  # only the last run's (finished) job
    assert qt_warnings == [], qt_warnings
    # Still usable: one more run finishes.
    window.steps_override = 3
    assert window.start_run()
    with qtbot.waitSignal(window.runs.job.ended, timeout=60_000):
        pass
    assert not window.result.cancelled
