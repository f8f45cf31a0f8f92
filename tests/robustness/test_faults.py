"""Faults injected while the app works: saving, downloading, running, closing.

Each fault must leave the app with its state intact (old files, the result in the
window) and usable for the next attempt, which must succeed.
"""

from __future__ import annotations

import dataclasses
import errno
import io
import math
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
import torch
from PIL import Image
from PySide6.QtCore import QThread

from nst_desktop.engine import StyleParams
from nst_desktop.engine.errors import DownloadCancelled, DownloadError, NumericalError
from nst_desktop.engine.image import images as engine_images
from nst_desktop.engine.net import weights as W
from nst_desktop.engine.net.objective import Objective  # faults are injected into its __call__
from nst_desktop.engine.params import StyleInputs
from nst_desktop.engine.plan import schedule
from nst_desktop.engine.stylize import stylize
from nst_desktop.services import paths
from nst_desktop.ui import worker as worker_mod
from nst_desktop.ui.download_dialog import DownloadDialog
from tests.engine.test_download import _leftovers, _Server, server, tv_file  # noqa: F401 - fixtures
from tests.helpers import make_content, make_style
from tests.ui.helpers import Prompts, inject_result, load_both, make_window

#: Every fault this module injects is counted here (reported with -s).
FAULTS: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def _report_faults():
    yield
    print(f"\nfaults injected: {len(FAULTS)}")


# ----------------------------------------------------------------------------- saving
class _FailingFile:
    """Wraps the file save_image writes to; ``hook(bytes after this write)`` runs before each write."""

    def __init__(self, fh, hook) -> None:
        self._fh, self._hook, self.written = fh, hook, 0
        self._flushed = False

    def write(self, data) -> int:
        try:
            self._hook(self.written + len(data))
        except OSError:
            self._fh.write(bytes(data)[: len(data) // 2])  # part of it lands, like a real full disk
            raise
        n = self._fh.write(data)
        self.written += n
        return n

    def fileno(self) -> int:
        # Pillow's JPEG/TIFF/WebP encoders write straight to the descriptor when there is
        # one; refusing it until save_image's flush() routes every byte through write().
        if not self._flushed:
            raise io.UnsupportedOperation("fileno")
        return self._fh.fileno()

    def flush(self) -> None:
        self._flushed = True
        self._fh.flush()

    def __getattr__(self, name: str):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._fh.close()


def _patch_write(monkeypatch: pytest.MonkeyPatch, hook) -> None:
    real = os.fdopen

    def fdopen(fd, *args, **kwargs):
        return _FailingFile(real(fd, *args, **kwargs), hook)

    monkeypatch.setattr(engine_images.os, "fdopen", fdopen)


def _noisy(size=(160, 120)) -> Image.Image:
    return Image.effect_noise(size, 60).convert("RGB")  # compresses badly: many write calls


def disk_full_midway(written: int) -> None:
    if written > 4096:
        raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("fault", ["disk-full", "folder-vanishes", "read-only-at-create", "read-only-at-rename"])
def test_save_fault_keeps_old_file_and_result(window, tmp_path: Path, monkeypatch, fault: str) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "picture.png"
    old = make_content((30, 20))
    old.save(target)
    old_bytes = target.read_bytes()
    res = inject_result(window, _noisy())
    FAULTS.append(f"save:{fault}")
    if fault == "disk-full":
        _patch_write(monkeypatch, disk_full_midway)
        words = "No space left"
    elif fault == "folder-vanishes":
        def vanish(written: int) -> None:
            if written > 4096 and folder.exists():
                shutil.rmtree(folder)  # e.g. a USB stick pulled out mid-write
        _patch_write(monkeypatch, vanish)
        words = "No such file"
    elif fault == "read-only-at-create":
        # Tests run as root, for whom chmod cannot make a folder read-only: simulated.
        def denied(*a, **k):
            raise PermissionError(errno.EACCES, "Permission denied")
        monkeypatch.setattr(engine_images.tempfile, "mkstemp", denied)
        words = "permission denied"
    else:
        def denied_rename(src, dst):
            raise PermissionError(errno.EACCES, "Permission denied")
        monkeypatch.setattr(engine_images.os, "replace", denied_rename)
        words = "permission denied"
    t0 = time.perf_counter()
    assert not window.export.save_result_to(target, confirm_overwrite=False)
    assert time.perf_counter() - t0 < 1
    message = window.prompts.informed[-1][1]
    assert words in message and str(target) in message, message
    assert window.result is res and window.isWindowModified() and window.save_button.isEnabled()
    if fault != "folder-vanishes":
        assert target.read_bytes() == old_bytes  # the old file is intact
        assert sorted(p.name for p in folder.iterdir()) == ["picture.png"]  # no temp file left
    monkeypatch.undo()
    elsewhere = tmp_path / "elsewhere.png"
    assert window.export.save_result_to(elsewhere)
    assert Image.open(elsewhere).size == res.image.size and not window.isWindowModified()


def test_engine_save_image_disk_full_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    from nst_desktop.engine.errors import ImageError

    FAULTS.append("save:engine-disk-full")
    _patch_write(monkeypatch, disk_full_midway)
    for ext in (".png", ".jpg", ".tif", ".webp"):
        with pytest.raises(ImageError, match="No space left"):
            engine_images.save_image(_noisy((400, 300)), tmp_path / f"x{ext}")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- download
@pytest.mark.slow
def test_each_failed_download_leaves_nothing_and_the_next_succeeds(
    server: _Server, tv_file: tuple[str, str], tmp_path: Path  # noqa: F811
) -> None:
    name, digest = tv_file
    (server.root / "wrong.bin").write_bytes(os.urandom(50_000))
    good = server.url("files", name)
    with socket_closed() as refused_url:
        bad_attempts = [
            ("refused", dict(url=refused_url)),
            ("cut", dict(url=server.url("cut", name))),
            ("wrong-file", dict(url=server.url("files", "wrong.bin"))),
            ("cancel", dict(url=good, should_cancel=_cancel_after(3))),
        ]
        for what, kw in bad_attempts:
            cache = tmp_path / what
            FAULTS.append(f"download:{what}")
            with pytest.raises(DownloadError) as exc:
                W.load_torchvision(cache, sha256=digest, **kw)
            assert isinstance(exc.value, DownloadCancelled) == (what == "cancel")
            assert _leftovers(cache) == [] and not W.torchvision_available(cache)
            w = W.load_torchvision(cache, url=good, sha256=digest)  # the next attempt
            assert w.preprocessing == W.IMAGENET and _leftovers(cache) == [W.TORCHVISION_FILENAME]


def _cancel_after(n: int):
    calls = [0]

    def should_cancel() -> bool:
        calls[0] += 1
        return calls[0] > n

    return should_cancel


class socket_closed:
    """A 127.0.0.1 URL on a port that was just free: connecting is refused."""

    def __enter__(self) -> str:
        import socket

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        return f"http://127.0.0.1:{port}/vgg19.pth"

    def __exit__(self, *exc) -> None:
        pass


@pytest.mark.slow
def test_gui_download_dialog_fails_then_succeeds(qtbot, server: _Server, tv_file, tmp_path: Path) -> None:  # noqa: F811
    name, digest = tv_file
    cache = paths.cache_dir()

    def fetch_from(url: str):
        def fetch(progress, should_cancel):
            return W.load_torchvision(cache, progress=progress, should_cancel=should_cancel, url=url, sha256=digest)
        return fetch

    FAULTS.append("download:gui-cut")
    dialog = DownloadDialog(fetch_from(server.url("cut", name)), "t", "x")
    qtbot.addWidget(dialog)
    dialog.start()
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=30_000)
    assert dialog.outcome == "failed" and "cut off" in dialog.error and "cut off" in dialog.detail.text()
    assert not dialog.is_running() and _leftovers(cache) == []
    dialog.close()

    dialog2 = DownloadDialog(fetch_from(server.url("files", name)), "t", "x")
    qtbot.addWidget(dialog2)
    with qtbot.waitSignal(dialog2.accepted, timeout=60_000):
        dialog2.start()
    assert dialog2.outcome == "succeeded" and W.torchvision_available(cache)
    assert _leftovers(cache) == [W.TORCHVISION_FILENAME]


# ----------------------------------------------------------------------------- the engine
def _params(**kw) -> StyleParams:
    base = dict(size=48, steps=12, seed=1, device="cpu", start_size=32, preview_every=0)
    base.update(kw)
    return StyleParams(**base)


def _nan_at(monkeypatch, k: int, forever: bool) -> list[int]:
    """From the k-th loss evaluation on (or only at it), the objective returns NaN."""
    real = Objective.__call__
    calls = [0]

    def call(self, x):
        calls[0] += 1
        total, c, s = real(self, x)
        if calls[0] == k or (forever and calls[0] > k):
            nan = torch.tensor(math.nan)
            return total * nan, c * nan, s * nan
        return total, c, s

    monkeypatch.setattr(Objective, "__call__", call)
    return calls


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
@pytest.mark.parametrize("forever", [False, True], ids=["once", "from-then-on"])
@pytest.mark.parametrize("k", [1, 5])
def test_nan_in_a_step_never_reaches_the_result(
    monkeypatch, bundled_weights, optimizer: str, forever: bool, k: int
) -> None:
    FAULTS.append(f"nan:{optimizer}:{k}:{forever}")
    _nan_at(monkeypatch, k, forever)
    try:
        res = stylize(StyleInputs(make_content((48, 32)), make_style((40, 40))), _params(optimizer=optimizer),
                      bundled_weights)
    except NumericalError as exc:
        assert "NaN" in str(exc)  # a clear message is the other allowed outcome
        return
    data = res.image.tobytes()
    assert res.image.size == (48, 32) and len(data) == 48 * 32 * 3
    assert math.isfinite(res.content_loss) or res.steps_done == 0
    if optimizer == "lbfgs":
        # L-BFGS recovers: it restarts from the best iterate and still returns an image.
        assert res.steps_done >= min(k - 1, 1)


@pytest.mark.slow
def test_out_of_memory_inside_the_engine_is_reported(monkeypatch, bundled_weights) -> None:
    from nst_desktop.engine.errors import OutOfMemory

    FAULTS.append("oom:engine")

    def oom(self, x):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(Objective, "__call__", oom)
    with pytest.raises(OutOfMemory, match="ran out of memory") as exc:
        stylize(StyleInputs(make_content((48, 32)), make_style()), _params(), bundled_weights)
    assert exc.value.size == 48


# ----------------------------------------------------------------------------- the window
@pytest.fixture
def window(qtbot):
    return make_window(qtbot)


def _tiny(window, steps: int = 6, size: int = 64) -> None:
    window.steps_override = steps
    window.controls.size_spin.setValue(size)
    window.preview_every = 2
    real = window.controls.params

    def params(*a, **k):
        return dataclasses.replace(real(*a, **k), start_size=32)  # 32, 64 px (32, 45, 64 with _three_sizes)

    window.controls.params = params


def _wait_end(qtbot, window, timeout: int = 60_000) -> None:
    job = window.runs.job
    assert job is not None
    if job.is_running():
        with qtbot.waitSignal(job.ended, timeout=timeout):
            pass
    assert not window.is_running() and job._thread is None


def _run_ok(qtbot, window) -> None:
    """A following run finishes normally."""
    before = window.result
    assert window.start_run()
    _wait_end(qtbot, window)
    assert window.result is not None and window.result is not before and not window.result.cancelled
    assert "Done" in window.progress_label.text()


def _stylize_threads() -> list[QThread]:
    from PySide6.QtWidgets import QApplication

    return [t for t in QApplication.instance().findChildren(QThread) if t.isRunning()]


@pytest.mark.slow
def test_engine_exception_is_reported_and_next_run_works(qtbot, window, image_files, monkeypatch) -> None:
    _tiny(window)
    load_both(window, image_files)
    real = Objective.__call__
    calls = [0]

    def boom(self, x):
        calls[0] += 1
        if calls[0] == 3:
            raise RuntimeError("simulated engine bug")
        return real(self, x)

    FAULTS.append("run:exception")
    monkeypatch.setattr(Objective, "__call__", boom)
    assert window.start_run()
    _wait_end(qtbot, window)
    assert "simulated engine bug" in window.prompts.errors[-1][2]  # a bug: in the Details, not the sentence
    assert "Failed" in window.progress_label.text() and window.result is None
    monkeypatch.undo()
    _run_ok(qtbot, window)


@pytest.mark.slow
def test_out_of_memory_in_a_run_is_reported_and_next_run_works(qtbot, window, image_files, monkeypatch) -> None:
    _tiny(window)
    load_both(window, image_files)
    window.prompts.answer = False  # "Set the output size to N px?" -> no

    def oom(self, x):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    FAULTS.append("run:oom")
    monkeypatch.setattr(Objective, "__call__", oom)
    assert window.start_run()
    _wait_end(qtbot, window)
    said = [t for _, t in window.prompts.asked + window.prompts.informed] + [window.statusBar().currentMessage()]
    assert any("out of memory" in s.lower() for s in said), said
    monkeypatch.undo()
    _run_ok(qtbot, window)


class _Gate:
    """Blocks the worker thread inside a phase until the run is cancelled (or 20 s pass)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.cancel_event: threading.Event | None = None

    def hold(self) -> None:
        self.entered.set()
        t0 = time.monotonic()
        while time.monotonic() - t0 < 20:
            if self.cancel_event is not None and self.cancel_event.is_set():
                return
            time.sleep(0.01)


PHASES = ["weights", "targets", "size-1", "size-2", "size-3"]


def _arm(phase: str, window, monkeypatch, act) -> _Gate:
    """Make ``act()`` happen (in the GUI thread) when the run reaches ``phase``."""
    gate = _Gate()
    if phase == "weights":
        real = worker_mod.load_weights

        def slow_weights(*a, **k):
            gate.hold()
            return real(*a, **k)

        monkeypatch.setattr(worker_mod, "load_weights", slow_weights)
    elif phase == "targets":
        from nst_desktop.engine.net import losses

        real_targets = losses.make_targets

        def slow_targets(*a, **k):
            gate.hold()
            return real_targets(*a, **k)

        monkeypatch.setattr(losses, "make_targets", slow_targets)
    else:
        stage = int(phase[-1]) - 1
        fired = []

        def on_progress(p) -> None:
            if p.stage == stage and p.phase == "optimise" and not fired:
                fired.append(True)
                act()

        window._arm_progress = on_progress  # kept alive; connected once the job exists
    return gate


def _start_armed(qtbot, window, phase: str, gate: _Gate, act) -> None:
    assert window.start_run()
    job = window.runs.job
    gate.cancel_event = job._worker._cancel
    if phase.startswith("size"):
        job.progressed.connect(window._arm_progress)
    else:
        qtbot.waitUntil(gate.entered.is_set, timeout=30_000)
        act()


def _three_sizes(monkeypatch) -> None:
    """Sizes sqrt(2) apart on the CPU too (as on GPUs), so that a 64 px run from 32 px has three."""
    monkeypatch.setitem(schedule.SHAPES, "cpu", schedule.GPU_SHAPE)
    monkeypatch.setitem(schedule.FP32_SHAPES, "cpu", schedule.GPU_SHAPE)  # whichever number format the CPU runs


@pytest.mark.slow
@pytest.mark.parametrize("phase", PHASES)
def test_cancel_at_every_phase(qtbot, window, image_files, monkeypatch, phase: str) -> None:
    _tiny(window, steps=60)
    _three_sizes(monkeypatch)
    load_both(window, image_files)
    FAULTS.append(f"cancel:{phase}")
    gate = _arm(phase, window, monkeypatch, window.cancel_run)
    threads_before = threading.active_count()
    _start_armed(qtbot, window, phase, gate, window.cancel_run)
    _wait_end(qtbot, window)
    assert "Stopped" in window.progress_label.text() and "stopped" in window.statusBar().currentMessage()
    if phase.startswith("size"):
        stage = int(phase[-1])
        assert window.result is not None and window.result.cancelled
        assert window.result.image.size == (64, 43) and window.result.steps_done < 60
        assert stage == 1 or window.result.steps_done >= (stage - 1) * 2
        # The stopped run's best image is what the window shows, so it is what a crash recovers.
        from nst_desktop.engine import read_metadata
        from nst_desktop.ui.export import recovery_path

        assert read_metadata(recovery_path())["steps_done"] == window.result.steps_done
    else:
        from nst_desktop.ui.export import recovery_path

        assert not recovery_path().exists()  # nothing was painted: nothing to recover
    assert not _stylize_threads() and threading.active_count() <= threads_before + 1
    monkeypatch.undo()
    _run_ok(qtbot, window)


@pytest.mark.slow
@pytest.mark.parametrize("phase", PHASES)
def test_close_the_window_at_every_phase(qtbot, image_files, monkeypatch, phase: str) -> None:
    window = make_window(qtbot, Prompts())
    _tiny(window, steps=60)
    _three_sizes(monkeypatch)
    load_both(window, image_files)
    FAULTS.append(f"close:{phase}")
    closed = []

    def close() -> None:
        closed.append(window.close())

    gate = _arm(phase, window, monkeypatch, close)
    _start_armed(qtbot, window, phase, gate, close)
    job = window.runs.job or None
    qtbot.waitUntil(lambda: bool(closed), timeout=60_000)
    assert closed == [True] and not window.isVisible()
    assert window.runs.job is None and (job is None or job._thread is None)
    assert not _stylize_threads()
    assert "Stop painting" in window.prompts.asked[-1][0]
    monkeypatch.undo()
    # The app is usable again: a new window (as after a restart) runs to the end.
    again = make_window(qtbot)
    again.steps_override, again.preview_every = 3, 0
    again.controls.size_spin.setValue(48)
    load_both(again, image_files)
    _run_ok(qtbot, again)
