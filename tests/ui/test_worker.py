"""The stylisation worker thread: real short runs with the bundled weights, cancel, failure."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QImage

from nst_desktop.engine import StyleParams, load_image, read_metadata
from nst_desktop.ui import worker as worker_mod
from nst_desktop.ui.worker import RunOutcome, StyleJob, StyleRequest
from tests.helpers import make_content, make_style


def small_request(steps: int, tmp_path: Path | None = None, **kw) -> StyleRequest:
    params = StyleParams(size=64, steps=steps, device="cpu", seed=0, preview_every=3, **kw)
    return StyleRequest(
        make_content((72, 48)), make_style((40, 40)), params,
        recovery_path=tmp_path / "recovery.png" if tmp_path else None,
    )


@pytest.mark.slow
def test_real_run_reports_progress_previews_and_finishes(qtbot, bundled_weights, tmp_path, monkeypatch) -> None:
    threads: list[threading.Thread] = []
    real_stylize = worker_mod.stylize

    def spy(*args, **kwargs):
        threads.append(threading.current_thread())
        return real_stylize(*args, **kwargs)

    monkeypatch.setattr(worker_mod, "stylize", spy)
    job = StyleJob(small_request(12, tmp_path))
    progress, previews, statuses = [], [], []
    job.progressed.connect(progress.append)
    job.previewReady.connect(previews.append)
    job.status.connect(statuses.append)
    ticks = []
    timer = QTimer()
    timer.setInterval(50)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    with qtbot.waitSignal(job.finished, timeout=120_000) as sig:
        job.start()
        assert job.is_running()
    timer.stop()
    outcome = sig.args[0]
    assert isinstance(outcome, RunOutcome)
    assert not outcome.result.cancelled and outcome.result.steps_done == 12
    assert outcome.result.image.size == (64, 43)
    assert (outcome.qimage.width(), outcome.qimage.height()) == (64, 43)
    assert "bundled" in outcome.weights_name
    # Torch ran in the worker thread, never the GUI thread, and the GUI thread kept running.
    assert threads and threads[0] is not threading.main_thread()
    assert len(ticks) >= 3
    # Every step was reported, in order; previews came every 3 steps as QImages.
    steps = [p.step for p in progress if p.phase == "optimise"]
    assert steps == list(range(1, 13))
    assert all(p.preview is None for p in progress)
    assert len(previews) >= 3 and all(isinstance(q, QImage) and not q.isNull() for q in previews)
    assert statuses[0].startswith("Loading weights")
    # The thread is gone and the recovery copy was written with metadata.
    assert not job.is_running() and job._thread is None
    rec = tmp_path / "recovery.png"
    assert load_image(rec).size == (64, 43)
    assert read_metadata(rec)["params"]["size"] == 64


@pytest.mark.slow
def test_cancel_stops_within_a_step_and_keeps_best_so_far(qtbot, bundled_weights) -> None:
    job = StyleJob(small_request(500))
    started = []
    job.progressed.connect(lambda p: started.append(p) if p.phase == "optimise" else None)
    job.start()
    qtbot.waitUntil(lambda: len(started) >= 2, timeout=60_000)
    t0 = time.perf_counter()
    with qtbot.waitSignal(job.cancelled, timeout=30_000) as sig:
        job.cancel()
    latency = time.perf_counter() - t0
    outcome = sig.args[0]
    assert outcome is not None and outcome.result.cancelled
    assert 2 <= outcome.result.steps_done < 500
    assert outcome.result.image.size == (64, 43)
    # One step at 48 px takes well under a second on an idle core; allow for a busy machine.
    assert latency < 10, latency
    qtbot.waitUntil(lambda: not job.is_running(), timeout=5000)


def test_bad_weights_fail_with_a_message(qtbot, tmp_path: Path) -> None:
    req = small_request(5)
    req.params = replace(req.params, weights=str(tmp_path / "missing.pth"))
    job = StyleJob(req)
    ended = []
    job.ended.connect(lambda: ended.append(True))
    with qtbot.waitSignal(job.failed, timeout=30_000) as sig:
        job.start()
    assert "missing.pth" in sig.args[0] and "not found" in sig.args[0]
    assert sig.args[1] is None  # only an out-of-memory failure suggests a size
    assert ended == [True] and not job.is_running()


def test_bad_params_fail_with_a_message(qtbot) -> None:
    req = small_request(5)
    req.params = replace(req.params, size=5)  # below the engine's minimum
    job = StyleJob(req)
    with qtbot.waitSignal(job.failed, timeout=30_000) as sig:
        job.start()
    assert "size" in sig.args[0]


@pytest.mark.slow
def test_stop_joins_the_thread_and_mutes_late_signals(qtbot, bundled_weights) -> None:
    job = StyleJob(small_request(500))
    seen = []
    job.progressed.connect(seen.append)
    late = []
    job.cancelled.connect(late.append)
    job.finished.connect(late.append)
    job.start()
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=60_000)
    thread = job._thread
    assert thread is not None
    assert job.stop(timeout_ms=30_000)
    assert thread.isFinished() and not job.is_running()
    qtbot.wait(200)  # let queued signals arrive: they must be dropped
    assert late == []


def test_a_continue_request_carries_one_resume_object_for_the_engine() -> None:
    """A continue is one field, the engine's Resume, which says afterwards whether the state was consumed."""
    from nst_desktop.engine import Resume

    req = small_request(5)
    assert req.continued is None
    given = Resume(make_content((72, 48)), None)
    req = StyleRequest(make_content((72, 48)), make_style((40, 40)), req.params, continued=given)
    assert req.continued is given and not req.continued.consumed


@pytest.mark.slow
def test_the_worker_hands_the_engine_the_requests_resume(qtbot, bundled_weights, monkeypatch) -> None:
    seen: list[object] = []
    real_stylize = worker_mod.stylize

    def spy(*args, **kwargs):
        seen.append(kwargs["options"].resume)
        return real_stylize(*args, **kwargs)

    monkeypatch.setattr(worker_mod, "stylize", spy)
    first = small_request(2)
    from nst_desktop.engine import Resume

    req = StyleRequest(first.content, first.style, first.params, continued=Resume(make_content((72, 48)), None))
    job = StyleJob(req)
    with qtbot.waitSignal(job.finished, timeout=60_000) as sig:
        job.start()
    assert seen == [req.continued] and req.continued is not None
    assert sig.args[0].result.metadata["continued"] is True
