"""Crash-recovery files: each window has its own, which no other window writes or deletes; a write
that fails (a full disk) is told once (issue 31, items 4 and 9)."""

from __future__ import annotations

from pathlib import Path

from nst_desktop.engine import save_image
from nst_desktop.services import paths
from nst_desktop.services.recovery import RecoverySlot
from nst_desktop.ui.export import recovery_path
from tests.helpers import make_content
from tests.ui.helpers import few_steps, load_both, make_window

FAILED = "crash-recovery copy could not be written"


def test_a_second_window_never_overwrites_or_deletes_the_first_ones_recovery_file(qtbot) -> None:
    first = make_window(qtbot)
    assert first.export.recovery.path == recovery_path() and first.export.recovery.locked
    save_image(make_content((40, 30)), first.export.recovery.path, {"steps_done": 5})  # the first window's run
    second = make_window(qtbot)
    assert second.export.recovery.path != first.export.recovery.path
    save_image(make_content((20, 10)), second.export.recovery.path, {"steps_done": 1})
    second.export.recovery.discard()  # the second window's result saved: only its own file goes
    assert recovery_path().is_file()
    assert first.export.recover_last_result() and first.result.image.size == (40, 30)


def test_a_window_that_died_leaves_its_file_to_the_next_window(qtbot) -> None:
    folder = paths.cache_dir()
    holder = RecoverySlot(folder)  # an open window holds slot 1
    died = RecoverySlot(folder)  # a second window painted, then its process died (the lock is dropped)
    save_image(make_content((30, 30)), died.path, {"steps_done": 3})
    died.release()
    window = make_window(qtbot)  # takes the slot that holds a file and offers it
    assert window.export.recovery.path == died.path != holder.path
    assert "recovered" in window.statusBar().currentMessage() and window.recover_action.isEnabled()
    holder.release()


def test_a_failed_recovery_write_is_told_once(qtbot, image_files, tmp_path: Path, bundled_weights) -> None:
    window = make_window(qtbot)
    few_steps(window, steps=2, size=32)
    load_both(window, image_files)
    blocker = tmp_path / "full"
    blocker.write_bytes(b"")  # a file where the recovery folder would be: every write fails
    window.export.recovery.path = blocker / "recovery.png"
    seen: list[str] = []
    window.statusBar().messageChanged.connect(seen.append)
    for _ in range(2):
        assert window.start_run()
        with qtbot.waitSignal(window.runs.job.ended, timeout=120_000):
            pass
        assert window.result is not None
    told = [m for m in seen if FAILED in m]
    assert len(told) == 1 and "save the result now" in told[0], seen
