"""The runs of a window: start, continue, cancel and stop a :class:`StyleJob`, show its progress.

:class:`RunController` owns the job (its worker thread), the Stylize/Cancel button, the
progress bar and its label, and the optimiser state held for Continue. It tells the window
what happened through signals, received by the window's ``@Slot`` methods in the GUI thread:
``running_changed(bool)``, ``preview_ready``, ``result_ready(outcome, stopped)``,
``stopped_empty()`` and ``run_failed(message, fits, details)``. The window builds the
:class:`StyleRequest` (it owns the inputs) and shows results.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QObject, QSize, Qt, Signal, Slot
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton

from nst_desktop.engine import Progress, StyleResult
from nst_desktop.services.jobs import format_duration
from nst_desktop.services.time_left import time_left
from nst_desktop.ui.worker import RunOutcome, StyleJob, StyleRequest

STYLIZE_TIP = "Paint the content in the style (Ctrl+Return)"
CANCEL_TIP = "Stop painting and keep the best result so far (Esc)"
#: Lines of text the progress line has room for (its height does not change with its text).
PROGRESS_LINES = 3


class RunController(QObject):
    """One run at a time, in a worker thread; the GUI thread never waits on torch.

    Signals:
        running_changed(bool): a run started (True) or has fully ended (False).
        preview_ready(QImage, object): a preview image and the run's output size (QSize or None).
        result_ready(object, bool): a run's :class:`RunOutcome`, and whether it was stopped.
        stopped_empty(): a run was stopped before it painted anything.
        run_failed(str, object, str): the message, the long side that would fit after an
            out-of-memory (or None), and the traceback of an unexpected error ("" otherwise).
        stylize_requested(): the Stylize button was clicked while no run is going.
        percent_changed(int): the share of the run done, 0-100 (by its time), -1 once no run is going.
    """

    running_changed = Signal(bool)
    preview_ready = Signal(QImage, object)
    result_ready = Signal(object, bool)
    stopped_empty = Signal()
    run_failed = Signal(str, object, str)
    stylize_requested = Signal()
    percent_changed = Signal(int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.job: StyleJob | None = None
        #: The request of the latest run (for tests and the screenshot script).
        self.last_request: StyleRequest | None = None
        #: The device id and output size (h, w) of the latest run.
        self.run_device = ""
        self.run_size: tuple[int, int] | None = None
        #: The latest run's optimiser state (for Continue) and the result it belongs to.
        self.resume_state: object | None = None
        self.resume_owner: StyleResult | None = None
        self._crash_details = ""
        #: The estimate of the running run's seconds when it started (None: none measured).
        self._estimate_s: float | None = None
        #: The share of the running run done, percent (None: no run is going).
        self.percent: int | None = None

        self.stylize_button = QPushButton("Stylize")
        self.stylize_button.setObjectName("stylizeButton")
        self.stylize_button.setMinimumHeight(40)
        font = self.stylize_button.font()
        font.setBold(True)
        self.stylize_button.setFont(font)
        self.stylize_button.clicked.connect(self.stylize_or_cancel)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setTextVisible(False)
        self.progress_label = QLabel(" ")
        self.progress_label.setWordWrap(True)
        self.progress_label.setTextFormat(Qt.TextFormat.PlainText)  # messages carry file names
        # A fixed height (PROGRESS_LINES lines): the buttons below do not jump as the text wraps.
        self.progress_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.progress_label.setFixedHeight(PROGRESS_LINES * self.progress_label.fontMetrics().lineSpacing() + 2)

    # ------------------------------------------------------------------ control
    def is_running(self) -> bool:
        return self.job is not None and self.job.is_running()

    def resume_for(self, result: StyleResult) -> object | None:
        """The held optimiser state if it belongs to ``result`` (else a Continue starts afresh)."""
        return self.resume_state if self.resume_owner is result else None

    def start(self, request: StyleRequest, device_id: str, run_size: tuple[int, int],
              estimate_s: float | None = None) -> bool:
        """Start ``request`` in a new worker thread; False if a run is already going.
        ``estimate_s``: the run's estimated seconds (steadies the time left at its first steps)."""
        if self.is_running():
            return False
        self.last_request = request
        if self.job is not None:
            self.job.deleteLater()  # the previous run's thread has ended (not running)
        job = StyleJob(request, self)
        job.progressed.connect(self._on_progress)
        job.previewReady.connect(self._on_preview)
        job.status.connect(self._on_status)
        job.finished.connect(self._on_finished)
        job.cancelled.connect(self._on_cancelled)
        job.failed.connect(self._on_failed)
        job.crashed.connect(self._on_crashed)
        job.ended.connect(self._on_ended)
        self.job = job
        self._crash_details = ""
        self.run_device = device_id
        self.run_size = run_size
        self._estimate_s = estimate_s
        self._set_percent(0)
        self.progress_bar.setRange(0, request.params.steps)
        self.progress_bar.setValue(0)
        self.progress_label.setText("Starting…")
        job.start()
        self.running_changed.emit(True)
        return True

    @Slot()
    def stylize_or_cancel(self) -> None:
        """The Stylize button: cancel a run going, else ask the window for a new one."""
        if self.is_running():
            self.cancel()
        else:
            self.stylize_requested.emit()

    @Slot()
    def cancel(self) -> None:
        """Ask the run to stop; it ends with the best image so far (``result_ready`` stopped)."""
        if self.job is not None and self.is_running():
            self.job.cancel()
            self.progress_label.setText("Stopping…")
            self.stylize_button.setEnabled(False)

    def stop(self) -> None:
        """Cancel a run and wait for its thread to end, dropping its late signals (closing)."""
        if self.job is not None:
            self.job.stop()
            self.job = None

    def update_button(self, why_not: str | None) -> None:
        """Stylize (enabled when ``why_not`` is None, else its tooltip) or Cancel while running."""
        if self.is_running():
            self.stylize_button.setText("Cancel")
            self.stylize_button.setEnabled(True)
            self.stylize_button.setToolTip(CANCEL_TIP)
        else:
            self.stylize_button.setText("Stylize")
            self.stylize_button.setEnabled(why_not is None)
            self.stylize_button.setToolTip(STYLIZE_TIP if why_not is None else why_not)

    # ------------------------------------------------------------------ the job's signals
    @Slot(str)
    def _on_status(self, text: str) -> None:
        self.progress_label.setText(text)

    @Slot(object)
    def _on_progress(self, p: Progress) -> None:
        self.progress_bar.setRange(0, max(1, p.total))
        self.progress_bar.setValue(p.step)
        h, w = p.size_hw
        stage = f" (size {p.stage + 1} of {p.stages})" if p.stages > 1 else ""
        if p.phase == "targets":
            self.progress_label.setText(f"Preparing {w} × {h} px{stage}…")
            return
        left = time_left(p.eta_s, p.elapsed_s, self._estimate_s)
        eta = f" · about {format_duration(left)} left" if left is not None and math.isfinite(left) else ""
        if left is not None and math.isfinite(left) and p.elapsed_s + left > 0:
            self._set_percent(max(self.percent or 0, min(99, int(100 * p.elapsed_s / (p.elapsed_s + left)))))
        # A print size's step takes a while: its tiles (both passes) show it moving.
        tiles = f" · tile {p.tile} of {p.tiles}" if p.tiles else ""
        self.progress_label.setText(f"Step {p.step} of {p.total}{tiles} · {w} × {h} px{stage}{eta}")

    @Slot(QImage)
    def _on_preview(self, image: QImage) -> None:
        size = QSize(self.run_size[1], self.run_size[0]) if self.run_size else None
        self.preview_ready.emit(image, size)

    def _keep_resume_state(self, outcome: RunOutcome) -> None:
        """Hold the latest run's optimiser state for Continue (one at a time: it can be large)."""
        self.resume_state = outcome.result.state
        self.resume_owner = outcome.result if outcome.result.state is not None else None
        outcome.result.state = None  # the history keeps results, not their optimiser states

    @Slot(object)
    def _on_finished(self, outcome: RunOutcome) -> None:
        self._keep_resume_state(outcome)
        self.progress_label.setText(f"Done in {format_duration(outcome.result.elapsed_s)}.")
        self.result_ready.emit(outcome, False)

    @Slot(object)
    def _on_cancelled(self, outcome: RunOutcome | None) -> None:
        if outcome is None:
            self.progress_label.setText("Stopped before painting began.")
            self.stopped_empty.emit()
            return
        self._keep_resume_state(outcome)
        self.progress_label.setText(f"Stopped after {outcome.result.steps_done} steps; the best so far is shown.")
        self.result_ready.emit(outcome, True)

    @Slot(str)
    def _on_crashed(self, details: str) -> None:
        self._crash_details = details

    @Slot(str, object)
    def _on_failed(self, message: str, fits: int | None) -> None:
        continued = self.last_request.continued if self.last_request is not None else None
        if continued is not None and continued.consumed and continued.state is self.resume_state:
            # The engine went on with the held optimiser state in place and may have left it
            # part-way: a later Continue starts a fresh L-BFGS from the result.
            self.resume_state = self.resume_owner = None
        self.progress_label.setText("Failed.")
        details, self._crash_details = self._crash_details, ""
        self.run_failed.emit(message, fits, details)

    @Slot()
    def _on_ended(self) -> None:
        self._set_percent(None)
        self.running_changed.emit(False)

    def _set_percent(self, percent: int | None) -> None:
        if percent != self.percent:
            self.percent = percent
            self.percent_changed.emit(-1 if percent is None else percent)
