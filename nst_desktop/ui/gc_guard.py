"""Run Python's cyclic garbage collector in the GUI thread only.

Python collects reference cycles in whichever thread happens to allocate when a
generation's threshold is passed. If that is the stylisation worker thread and the
garbage holds Qt widgets (a closed dialog, a window's bound-method cycles), their C++
destructors run outside the GUI thread and the process crashes. This guard turns
automatic collection off and collects from a timer in the GUI thread, with the same
generation thresholds the automatic collector uses (the approach pyqtgraph takes).
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer, Slot

#: How often the GUI thread checks whether a collection is due, ms.
CHECK_INTERVAL_MS = 500
_NAME = "nst-gui-thread-gc"


class GuiThreadGarbageCollector(QObject):
    """While it lives (and until :meth:`stop`), cycles are collected in the GUI thread only."""

    def __init__(self, parent: QObject, interval_ms: int = CHECK_INTERVAL_MS) -> None:
        super().__init__(parent)
        self.setObjectName(_NAME)
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self._timer.start()

    @Slot()
    def check(self) -> None:
        """Collect the oldest generation whose allocation count passed its threshold."""
        counts = gc.get_count()
        thresholds = gc.get_threshold()
        if counts[0] <= thresholds[0]:
            return
        generation = 0
        if counts[1] > thresholds[1]:
            generation = 2 if counts[2] > thresholds[2] else 1
        gc.collect(generation)

    def stop(self) -> None:
        """Stop the timer, collect once more here, and restore automatic collection."""
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()


def install(app: QObject) -> GuiThreadGarbageCollector:
    """Install the guard on ``app`` (the QApplication) once; returns the existing one if present."""
    existing = app.findChild(GuiThreadGarbageCollector, _NAME)
    if existing is not None:
        return existing
    return GuiThreadGarbageCollector(app)
