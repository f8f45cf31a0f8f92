"""Running a worker QObject in a QThread of its own, and ending that thread."""

from __future__ import annotations

from PySide6.QtCore import QObject, QThread


def start_in_thread(worker: QObject, name: str) -> QThread:
    """Move ``worker`` (which must have a ``run`` slot) to a new QThread named ``name`` and start it."""
    thread = QThread()
    thread.setObjectName(name)
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    thread.start()
    return thread


def join_thread(thread: QThread | None, timeout_ms: int | None = None) -> bool:
    """``quit()`` then ``wait()``; True once the thread has ended (or there was none)."""
    if thread is None:
        return True
    thread.quit()
    if timeout_ms is None:
        return thread.wait()
    return thread.wait(timeout_ms)
