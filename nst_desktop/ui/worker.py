"""Background work in a QThread: the stylisation run (weights loading included).

Threading rules followed here (PySide6 6.12, see docs in shared/reference):
- the worker is a QObject moved to its own QThread; its ``run`` is a ``@Slot`` started by
  ``QThread.started``, so it runs in the worker thread;
- its signals are received only by ``@Slot`` methods of :class:`StyleJob`, a QObject of
  the GUI thread (a signal connected to a lambda or plain function would run it in
  the worker thread);
- the worker builds QImages (allowed off the GUI thread), never QPixmaps;
- a QThread is ended with ``quit()`` then ``wait()`` before it is released.

The GUI thread never runs torch: the worker loads the weights and calls
:func:`nst_desktop.engine.stylize`.
"""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image
from PySide6.QtCore import QObject, QThread, Signal, SignalInstance, Slot
from PySide6.QtGui import QImage

from nst_desktop.engine import (
    EngineError,
    ImageError,
    OutOfMemory,
    Progress,
    RunOptions,
    StyleInputs,
    StyleParams,
    StyleResult,
    load_weights,
    save_image,
)
from nst_desktop.ui.qimage_convert import pil_to_qimage
from nst_desktop.ui.threads import join_thread, start_in_thread

if TYPE_CHECKING:
    from nst_desktop.engine import Resume

# The engine's torch modules (stylize, the optimiser's state, Resume) are imported where they are
# used, not with this module: the window is built and shown before torch is loaded.


def stylize(*args: Any, **kwargs: Any) -> StyleResult:
    """:func:`nst_desktop.engine.stylize` (imported on the first run)."""
    from nst_desktop.engine.stylize import stylize as engine_stylize

    return engine_stylize(*args, **kwargs)


@dataclass
class StyleRequest:
    """One run: the full-resolution RGB images, the parameters, and where files go.

    style: one image, or a list to blend with ``style_weights`` (relative, one each).
    cache_dir: folder of downloaded weights (torchvision). recovery_path: where the
    finished result is also written as PNG (crash safety), or None.
    continued: a Continue, as the engine takes it (:class:`Resume`: the image to go on
    from and the state of the run that made it, ``StyleResult.state`` or None), or None for a new
    painting; after the run its ``consumed`` says whether the engine went on with that state in
    place (a failed run may have left it part-way).
    inputs: where the inputs came from (``{"content": path, "styles": [path, ...]}``,
    None for pasted images), stored in the result's metadata under "inputs".
    masks / keep_mask: regions (one grey mask per style / where to keep the photo), see
    :func:`nst_desktop.engine.stylize`; None for an ordinary run.
    keep_state: return this run's optimiser state in ``StyleResult.state`` (for a later
    Continue) if it is no larger than :data:`nst_desktop.engine.resume.KEEP_STATE_MAX_BYTES`.
    """

    content: Image.Image
    style: Image.Image | list[Image.Image]
    params: StyleParams
    cache_dir: Path | None = None
    recovery_path: Path | None = None
    style_weights: list[float] | None = None
    inputs: dict[str, object] | None = None
    masks: list[Image.Image] | None = None
    keep_mask: Image.Image | None = None
    keep_state: bool = False
    continued: Resume | None = field(default=None, repr=False)


@dataclass
class RunOutcome:
    """A run's result with its QImage (made in the worker, full resolution)."""

    result: StyleResult
    qimage: QImage
    weights_name: str
    #: Why the crash-recovery copy could not be written ("" when it was, or none was asked for).
    recovery_problem: str = ""


class StyleWorker(QObject):
    """Runs one stylisation in its thread and reports through signals.

    progressed(Progress): after every loss evaluation (its ``preview`` is always None;
        previews come through ``previewReady``).
    previewReady(QImage): the current image every ``params.preview_every`` steps.
    status(str): a phase the progress numbers do not show ("Loading weights...").
    finished(RunOutcome) / cancelled(RunOutcome | None) / failed(str, int | None): exactly
        one of these ends every run; ``cancelled`` carries the best image so far (None if
        the run was stopped before it began); ``failed`` carries the message and, when the
        device ran out of memory, the largest long side (px) estimated to fit (else None).
    crashed(str): the traceback of an unexpected error (a bug), just before its ``failed``.
    """

    progressed = Signal(object)
    previewReady = Signal(QImage)
    status = Signal(str)
    finished = Signal(object)
    cancelled = Signal(object)
    failed = Signal(str, object)
    crashed = Signal(str)

    def __init__(self, request: StyleRequest) -> None:
        super().__init__()
        self._request = request
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Ask the run to stop (thread-safe; takes effect within one loss evaluation)."""
        self._cancel.set()

    def _on_progress(self, p: Progress) -> None:
        if p.preview is not None:
            self.previewReady.emit(pil_to_qimage(p.preview))
            p = replace(p, preview=None)
        self.progressed.emit(p)

    def _on_retry(self, message: str, size: int) -> None:
        """Out of memory: the run goes on at ``size`` px; tell the user why."""
        self.status.emit(message)

    @Slot()
    def run(self) -> None:
        from nst_desktop.engine.fit import stylize_fitting
        from nst_desktop.engine.resume import can_keep_state

        req = self._request
        try:
            self.status.emit("Loading weights…")
            weights = load_weights(req.params.weights, cache_dir=req.cache_dir, allow_download=False)
            if self._cancel.is_set():
                self.cancelled.emit(None)
                return
            self.status.emit("Painting…")
            inputs = StyleInputs(req.content, req.style, req.style_weights, req.masks, req.keep_mask)
            keep_state = req.keep_state and can_keep_state((req.content.height, req.content.width), req.params.size)
            # keep_pixels: a TIFF save of this result is 16-bit (see ui/export.py)
            options = RunOptions(resume=req.continued, keep_state=keep_state, keep_pixels=True)
            result = stylize_fitting(inputs, req.params, weights, self._on_progress, self._cancel, options=options,
                                     on_retry=self._on_retry, run=stylize)
            if req.inputs is not None:
                result.metadata["inputs"] = req.inputs
            outcome = RunOutcome(result, pil_to_qimage(result.image), weights.name)
        except OutOfMemory as exc:
            self.failed.emit(str(exc), exc.fits)
            return
        except (EngineError, ValueError) as exc:
            self.failed.emit(str(exc), None)
            return
        except Exception as exc:  # noqa: BLE001 - anything else must still end the run visibly
            traceback.print_exc()
            self.crashed.emit(traceback.format_exc())
            self.failed.emit(f"Unexpected error: {type(exc).__name__}: {exc}", None)
            return
        # Crash safety: the window shows a stopped run's best image as the (unsaved) result
        # too, so it is the one to recover; a run stopped before its first step painted nothing.
        if req.recovery_path is not None and (not result.cancelled or result.steps_done > 0):
            try:
                req.recovery_path.parent.mkdir(parents=True, exist_ok=True)
                save_image(result.image, req.recovery_path, result.metadata)
            except (ImageError, OSError) as exc:  # the result itself is in memory: the window says so
                outcome.recovery_problem = str(exc) if isinstance(exc, ImageError) else f"{exc.strerror or exc}"
        if result.cancelled:
            self.cancelled.emit(outcome)
            return
        self.finished.emit(outcome)


class StyleJob(QObject):
    """GUI-thread owner of one :class:`StyleWorker` and its QThread.

    Re-emits the worker's signals (same names and meanings) from the GUI thread and
    emits ``ended`` after the terminal one, once the thread has been joined.
    """

    progressed = Signal(object)
    previewReady = Signal(QImage)
    status = Signal(str)
    finished = Signal(object)
    cancelled = Signal(object)
    failed = Signal(str, object)
    crashed = Signal(str)
    ended = Signal()

    def __init__(self, request: StyleRequest, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._worker: StyleWorker | None = StyleWorker(request)
        self._thread: QThread | None = None
        self._running = False
        self._muted = False  # after stop(): late queued signals are dropped
        w = self._worker
        w.progressed.connect(self._on_progressed)
        w.previewReady.connect(self._on_preview)
        w.status.connect(self._on_status)
        w.finished.connect(self._on_finished)
        w.cancelled.connect(self._on_cancelled)
        w.failed.connect(self._on_failed)
        w.crashed.connect(self._on_crashed)

    def start(self) -> None:
        """Start the run in a new thread."""
        assert self._worker is not None and self._thread is None, "a StyleJob runs once"
        self._running = True
        self._thread = start_in_thread(self._worker, "nst-stylize")

    def is_running(self) -> bool:
        """True from :meth:`start` until the terminal signal has been handled."""
        return self._running

    def cancel(self) -> None:
        """Ask the run to stop; ``cancelled`` follows with the best image so far."""
        if self._worker is not None:
            self._worker.cancel()

    def stop(self, timeout_ms: int | None = None) -> bool:
        """Cancel, wait for the thread to end and drop any late signals (for closing).

        Returns False if the thread was still running after ``timeout_ms``.
        """
        self._muted = True
        self.cancel()
        done = join_thread(self._thread, timeout_ms)
        if done:
            self._release()
        return done

    def _release(self) -> None:
        self._running = False
        self._thread = None
        self._worker = None

    def _end(self) -> None:
        join_thread(self._thread)
        self._release()

    @Slot(object)
    def _on_progressed(self, p: Progress) -> None:
        if not self._muted:
            self.progressed.emit(p)

    @Slot(QImage)
    def _on_preview(self, img: QImage) -> None:
        if not self._muted:
            self.previewReady.emit(img)

    @Slot(str)
    def _on_status(self, text: str) -> None:
        if not self._muted:
            self.status.emit(text)

    @Slot(str)
    def _on_crashed(self, details: str) -> None:
        if not self._muted:
            self.crashed.emit(details)

    def _terminate(self, signal: SignalInstance, *args: object) -> None:
        """Join the thread, then (unless stopped) emit the terminal ``signal`` and ``ended``."""
        self._end()
        if not self._muted:
            signal.emit(*args)
            self.ended.emit()

    @Slot(object)
    def _on_finished(self, outcome: RunOutcome) -> None:
        self._terminate(self.finished, outcome)

    @Slot(object)
    def _on_cancelled(self, outcome: RunOutcome | None) -> None:
        self._terminate(self.cancelled, outcome)

    @Slot(str, object)
    def _on_failed(self, message: str, fits: int | None) -> None:
        self._terminate(self.failed, message, fits)
