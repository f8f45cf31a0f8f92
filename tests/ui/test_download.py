"""Weights download dialog: progress, success, failure, cancel; the window's fallback to bundled."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QComboBox, QDialogButtonBox

from nst_desktop.engine import DownloadCancelled
from nst_desktop.engine.device.devices import DeviceInfo
from nst_desktop.engine.net.download import download
from nst_desktop.engine.net.weights import torchvision_cache_path
from nst_desktop.services import paths
from nst_desktop.ui.download_dialog import DownloadDialog
from nst_desktop.ui.main_window import MainWindow


def file_fetch(src: Path, dest: Path, sha256: str):
    def fetch(progress, should_cancel):
        return download(src.resolve().as_uri(), dest, sha256, progress=progress, should_cancel=should_cancel)

    return fetch


def test_download_succeeds_with_progress(qtbot, tmp_path: Path) -> None:
    src = tmp_path / "weights.bin"
    src.write_bytes(bytes(range(256)) * 4096)  # 1 MiB: several 64 KiB chunks
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    dest = tmp_path / "cache" / "w.bin"
    dialog = DownloadDialog(file_fetch(src, dest, sha), "Download", "text")
    qtbot.addWidget(dialog)
    values = []
    dialog.bar.valueChanged.connect(values.append)
    dialog.start()
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=30_000)
    assert dialog.outcome == "succeeded" and dialog.result() == DownloadDialog.DialogCode.Accepted
    assert dest.read_bytes() == src.read_bytes()
    assert values[-1] == 1000 and len(values) >= 3
    assert "1 MB of 1 MB" in dialog.detail.text()
    assert not dialog.is_running()


def test_download_failure_is_shown_and_nothing_is_kept(qtbot, tmp_path: Path) -> None:
    src = tmp_path / "weights.bin"
    src.write_bytes(b"x" * 100_000)
    dest = tmp_path / "cache" / "w.bin"
    dialog = DownloadDialog(file_fetch(src, dest, "0" * 64), "Download", "text")
    qtbot.addWidget(dialog)
    dialog.start()
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=30_000)
    assert dialog.outcome == "failed"
    assert "does not match" in dialog.error and dialog.error in dialog.detail.text()
    assert dialog.buttons.standardButtons() == QDialogButtonBox.StandardButton.Close
    assert not dest.exists() and not dest.with_name("w.bin.part").exists()


def test_a_bug_in_the_download_is_a_sentence_and_goes_to_the_log(qtbot) -> None:
    def buggy(progress, should_cancel):
        raise KeyError("content-length")

    dialog = DownloadDialog(buggy, "Download", "text")
    qtbot.addWidget(dialog)
    dialog.start()
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=30_000)
    assert dialog.outcome == "failed" and "unexpected error" in dialog.error
    assert "KeyError" not in dialog.error and "Unexpected error:" not in dialog.error
    log = paths.log_dir() / "errors.log"
    assert str(log) in dialog.error and "KeyError: 'content-length'" in log.read_text()


def slow_fetch(progress, should_cancel):
    total = 1000
    for i in range(total):
        if should_cancel():
            raise DownloadCancelled("cancelled")
        progress(i, total)
        time.sleep(0.01)
    return None


def test_cancel_stops_the_download(qtbot) -> None:
    dialog = DownloadDialog(slow_fetch, "Download", "text")
    qtbot.addWidget(dialog)
    dialog.start()
    qtbot.waitUntil(lambda: dialog.bar.value() > 0, timeout=10_000)
    t0 = time.perf_counter()
    dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    assert dialog.detail.text() == "Cancelling…"
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=10_000)
    assert dialog.outcome == "cancelled" and time.perf_counter() - t0 < 2
    assert dialog.result() == DownloadDialog.DialogCode.Rejected and not dialog.is_running()


def choose_torchvision(window: MainWindow, fetch) -> QComboBox:
    """Pick torchvision weights as a user would; ``fetch`` stands in for the download.

    The dialog runs modally; a timer closes it once the download has ended (as a user would).
    """
    window.torchvision_fetch = fetch
    timer = QTimer(window)
    timer.setInterval(50)

    def poke() -> None:
        d = getattr(window, "_download_dialog", None)
        if d is not None and d.outcome is not None and d.isVisible():
            d.reject()

    timer.timeout.connect(poke)
    timer.start()
    combo = window.controls.weights_combo
    combo.setCurrentIndex(combo.findData("torchvision"))
    combo.activated.emit(combo.currentIndex())
    timer.stop()
    return combo


def test_window_falls_back_to_bundled_when_download_fails(qtbot) -> None:
    window = MainWindow(devices=[DeviceInfo("cpu", "CPU", None)])
    qtbot.addWidget(window)

    def failing(progress, should_cancel):
        from nst_desktop.engine import DownloadError

        raise DownloadError("Download of https://example/vgg19.pth failed: no network.")

    combo = choose_torchvision(window, failing)
    assert combo.currentData() == "bundled"
    assert "no network" in window.statusBar().currentMessage()
    assert "bundled" in window.statusBar().currentMessage()


def test_window_keeps_torchvision_after_a_download(qtbot) -> None:
    window = MainWindow(devices=[DeviceInfo("cpu", "CPU", None)])
    qtbot.addWidget(window)

    def fake_download(progress, should_cancel):
        path = torchvision_cache_path(paths.cache_dir())
        path.parent.mkdir(parents=True, exist_ok=True)
        progress(10, 10)
        path.write_bytes(b"placeholder")

    combo = choose_torchvision(window, fake_download)
    assert combo.currentData() == "torchvision"
    assert "is downloaded" in window.controls.weights_status.text()
