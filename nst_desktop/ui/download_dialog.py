"""Dialog that downloads the torchvision VGG19 weights in a worker thread.

It shows bytes received of the total and can be cancelled (the download checks
for cancel between 64 KiB chunks). The download and the check that the file loads
run in :class:`DownloadWorker` on its own QThread; the dialog only receives its
signals in slots (see :mod:`nst_desktop.ui.worker` for the threading rules).
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QProgressBar, QVBoxLayout, QWidget

from nst_desktop.app_info import APP_NAME
from nst_desktop.engine import DownloadCancelled, EngineError
from nst_desktop.engine.net import DownloadProgress
from nst_desktop.services.error_log import write_error
from nst_desktop.services.jobs import format_bytes
from nst_desktop.ui.threads import join_thread, start_in_thread

#: fetch(progress, should_cancel) -> anything: does the download (and loading) in the worker thread.
Fetch = Callable[[DownloadProgress, Callable[[], bool]], Any]

#: Approximate size of torchvision's VGG19 weights file, for the dialog text.
TORCHVISION_DOWNLOAD_BYTES = 548_051_848


def torchvision_fetch(cache_dir: Path) -> Fetch:
    """The real fetch: download torchvision's VGG19 into ``cache_dir`` and check that it loads."""

    def fetch(progress: DownloadProgress, should_cancel: Callable[[], bool]) -> Any:
        from nst_desktop.engine.net import load_torchvision

        return load_torchvision(cache_dir, allow_download=True, progress=progress, should_cancel=should_cancel)

    return fetch


class DownloadWorker(QObject):
    """Runs ``fetch`` in its thread. progressed(done, total|None) in bytes; then exactly one of
    succeeded(), cancelled(), failed(message)."""

    progressed = Signal(object, object)
    succeeded = Signal()
    cancelled = Signal()
    failed = Signal(str)

    def __init__(self, fetch: Fetch) -> None:
        super().__init__()
        self._fetch = fetch
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Thread-safe: the download stops at its next chunk."""
        self._cancel.set()

    def _progress(self, done: int, total: int | None) -> None:
        self.progressed.emit(done, total)

    @Slot()
    def run(self) -> None:
        try:
            self._fetch(self._progress, self._cancel.is_set)
        except DownloadCancelled:
            self.cancelled.emit()
        except EngineError as exc:
            if self._cancel.is_set():
                self.cancelled.emit()
            else:
                self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - report, never leave the dialog hanging
            traceback.print_exc()
            # A bug: a sentence for people; the Python text goes to the error log.
            log = write_error("downloading the weights", f"{type(exc).__name__}: {exc}", traceback.format_exc())
            where = f" The details are in the error log {log}." if log is not None else ""
            self.failed.emit(f"The download stopped because of an unexpected error (a bug in {APP_NAME}).{where}")
        else:
            self.succeeded.emit()


class DownloadDialog(QDialog):
    """Modal progress dialog around one download. ``exec()`` returns Accepted on success.

    ``outcome`` is "succeeded", "cancelled" or "failed" afterwards; ``error`` holds the
    message of a failure (also shown in the dialog until the user closes it).
    """

    def __init__(self, fetch: Fetch, title: str, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(True)
        self.setMinimumWidth(460)
        self.outcome: str | None = None
        self.error = ""
        self._worker: DownloadWorker | None = DownloadWorker(fetch)
        self._thread: QThread | None = None

        self.text = QLabel(text)
        self.text.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)  # busy until the size is known
        self.detail = QLabel("Connecting…")
        self.detail.setTextFormat(Qt.TextFormat.PlainText)  # error messages carry URLs and paths
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.text)
        lay.addWidget(self.bar)
        lay.addWidget(self.detail)
        lay.addWidget(self.buttons)

        w = self._worker
        w.progressed.connect(self._on_progress)
        w.succeeded.connect(self._on_succeeded)
        w.cancelled.connect(self._on_cancelled)
        w.failed.connect(self._on_failed)

    def start(self) -> None:
        """Start the download (``exec()`` calls this if it was not called before)."""
        if self._thread is None and self._worker is not None:
            self._thread = start_in_thread(self._worker, "nst-download")

    def exec(self) -> int:
        self.start()
        return super().exec()

    def is_running(self) -> bool:
        return self._thread is not None

    def _finish_thread(self) -> None:
        join_thread(self._thread)
        self._thread = None
        self._worker = None

    @Slot(object, object)
    def _on_progress(self, done: int, total: int | None) -> None:
        if total:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * min(done, total) / total))
            self.detail.setText(f"{format_bytes(done)} of {format_bytes(total)}")
        else:
            self.detail.setText(f"{format_bytes(done)} received")

    @Slot()
    def _on_succeeded(self) -> None:
        self._finish_thread()
        self.outcome = "succeeded"
        self.accept()

    @Slot()
    def _on_cancelled(self) -> None:
        self._finish_thread()
        self.outcome = "cancelled"
        super().reject()

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._finish_thread()
        self.outcome = "failed"
        self.error = message
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.detail.setText(message)
        self.detail.setWordWrap(True)
        self.buttons.setStandardButtons(QDialogButtonBox.StandardButton.Close)

    def reject(self) -> None:
        """Cancel: ask the worker to stop; the dialog closes when it has (``_on_cancelled``)."""
        if self._worker is not None and self._thread is not None:
            self._worker.cancel()
            self.detail.setText("Cancelling…")
            self.buttons.setEnabled(False)
            return
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        if self._thread is not None:
            self.reject()
            event.ignore()
            return
        super().closeEvent(event)

    def done(self, result: int) -> None:
        if self._thread is not None and self._worker is not None:
            # Closed from outside while running: stop and join before the dialog goes.
            self._worker.cancel()
            self._finish_thread()
            self.outcome = self.outcome or "cancelled"
        super().done(result)
