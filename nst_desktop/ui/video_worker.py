"""The video work off the GUI thread: painting one frame (the preview) or rendering the range.

Same rules as :mod:`nst_desktop.ui.worker`: a QObject moved to its own QThread, ``run`` a slot
started by ``QThread.started``, signals received by slots of GUI-thread objects, QImages (never
QPixmaps) made here. The GUI thread never runs torch, PyAV or OpenCV work that takes long.
"""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QImage

from nst_desktop.engine import EngineError, Progress, load_weights
from nst_desktop.engine.video import VideoSettings
from nst_desktop.ui.qimage_convert import pil_to_qimage


@dataclass(frozen=True, eq=False)
class VideoJobRequest:
    """What to do: ``frame`` set paints that one source frame (a preview, ``settings.params``);
    else the range of ``settings`` of ``source`` is rendered to ``out``."""

    source: Path
    styles: list[Image.Image]
    style_weights: list[float] | None
    settings: VideoSettings
    out: Path | None = None
    frame: Image.Image | None = None
    cache_dir: Path | None = None


class VideoWorker(QObject):
    """Runs one :class:`VideoJobRequest`.

    progressed(int, int, int, int, object): frame, frames, step, steps, ETA s (or None).
    previewReady(QImage): the frame being painted, now and then.
    finished(object): the output path (a render) or the painted frame as QImage (a preview).
    cancelled(): stopped by :meth:`cancel` (a render's finished frames are kept).
    failed(str): a one-line message (with the traceback after it for a bug).
    """

    progressed = Signal(int, int, int, int, object)
    previewReady = Signal(QImage)
    finished = Signal(object)
    cancelled = Signal()
    failed = Signal(str)

    def __init__(self, request: VideoJobRequest) -> None:
        super().__init__()
        self._request = request
        self._cancel = threading.Event()

    @property
    def request(self) -> VideoJobRequest:
        """What this worker was asked to do."""
        return self._request

    def cancel(self) -> None:
        """Ask the work to stop (thread-safe; within one loss evaluation)."""
        self._cancel.set()

    @Slot()
    def run(self) -> None:
        req = self._request
        try:
            weights = load_weights(req.settings.params.weights, cache_dir=req.cache_dir, allow_download=False)
            if req.frame is not None:
                def on_step(p: Progress) -> None:
                    self.progressed.emit(0, 1, p.step, p.total, p.eta_s)
                    if p.preview is not None:
                        self.previewReady.emit(pil_to_qimage(p.preview))

                from nst_desktop.engine.stylize import StyleInputs, stylize  # torch: imported with the first job

                inputs = StyleInputs(req.frame, req.styles, req.style_weights)
                result = stylize(inputs, req.settings.params, weights, on_step, self._cancel)
                if result.cancelled:
                    self.cancelled.emit()
                else:
                    self.finished.emit(pil_to_qimage(result.image))
                return
            self._render(weights)
        except (EngineError, ValueError) as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug: report it, never kill the thread silently
            self.failed.emit(f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")

    def _render(self, weights: object) -> None:
        from nst_desktop.engine.video import paint as V

        req = self._request
        assert req.out is not None
        plan = V.plan_video(req.source, req.styles, req.out, req.settings, style_weights=req.style_weights)

        def on_progress(p: V.VideoProgress) -> None:
            self.progressed.emit(p.frame, p.frames, p.step, p.steps, p.eta_s)
            if p.preview is not None:
                self.previewReady.emit(pil_to_qimage(p.preview))

        result = V.render_video(plan, req.styles, weights, on_progress, self._cancel,  # type: ignore[arg-type]
                                req.style_weights)
        if result.cancelled:
            self.cancelled.emit()
        else:
            self.finished.emit(result.output)
