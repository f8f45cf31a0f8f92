"""Loading the painting engine (torch) after the window is shown, off the GUI thread.

Importing torch and the engine takes 1.5-3 s, most of a start. The window is built from
modules that do not import torch (``tests/ui/test_engine_loader.py`` checks it) and shown first;
then :class:`EngineLoader` imports the engine in a QThread and reports the devices it finds
(the GPUs need torch to be listed). Same thread rules as :mod:`nst_desktop.ui.worker`.
"""

from __future__ import annotations

import traceback

from PySide6.QtCore import QObject, QThread, Signal, Slot

from nst_desktop.ui.threads import join_thread, start_in_thread


class _Import(QObject):
    """Runs in the loader's thread: imports the engine, then lists the devices."""

    loaded = Signal(list)
    failed = Signal(str)

    @Slot()
    def run(self) -> None:
        try:
            import nst_desktop.engine.stylize  # noqa: F401 - torch and the whole engine, for the first run
            from nst_desktop.engine.device import available_devices
            from nst_desktop.engine.net import cpu_auto_bf16

            cpu_auto_bf16()  # torch's view of the CPU and bfloat16's measured speed: here, not in the GUI thread
            self.loaded.emit(available_devices())
        except Exception:  # noqa: BLE001 - reported to the window, which cannot paint without the engine
            self.failed.emit(traceback.format_exc())


class EngineLoader(QObject):
    """``start()`` imports the engine in a thread; then ``loaded(devices)`` (a list of
    :class:`~nst_desktop.engine.device.devices.DeviceInfo`) or ``failed(traceback text)``, in the GUI thread."""

    loaded = Signal(list)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._import: _Import | None = None
        self.done = False
        self._closed = False

    def start(self) -> None:
        if self._thread is not None or self.done or self._closed:
            return
        self._import = _Import()
        self._import.loaded.connect(self._on_loaded)
        self._import.failed.connect(self._on_failed)
        self._thread = start_in_thread(self._import, "nst-engine-load")

    def wait(self) -> None:
        """Wait for the import to end (an import cannot be stopped half-way) and end the thread."""
        join_thread(self._thread)
        self._thread = None

    def close(self) -> None:
        """The window closes: no import starts from now on, and one going is waited for."""
        self._closed = True
        self.wait()

    @Slot(list)
    def _on_loaded(self, devices: list) -> None:
        self.done = True
        self.wait()
        self.loaded.emit(devices)

    @Slot(str)
    def _on_failed(self, details: str) -> None:
        self.done = True
        self.wait()
        self.failed.emit(details)
