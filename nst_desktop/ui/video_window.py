"""The video window: a clip dropped on the Content pane (or File > Open Video…).

A frame scrubber shows the source; **Stylize Frame** paints the frame shown (a preview, with the
window's current settings and paintings); **Render Video** paints the chosen range into the
output file with progress, ETA and **Cancel** (the finished frames are kept: rendering again
goes on from them); **Play Video** opens the result in the desktop's default player. The
temporal weight and the steps of each later frame (defaults, limits and tooltips from
:mod:`~nst_desktop.engine.video.settings`) go into the render's settings. The work runs in a
:class:`~nst_desktop.ui.video_worker.VideoWorker` thread.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from nst_desktop.engine import EngineError, StyleParams
from nst_desktop.engine.video import VideoSettings
from nst_desktop.engine.video import settings as VS
from nst_desktop.services.jobs import format_duration
from nst_desktop.ui.image_canvas import ImageCanvas
from nst_desktop.ui.qimage_convert import pil_to_qimage
from nst_desktop.ui.threads import join_thread, start_in_thread
from nst_desktop.ui.video_worker import VideoJobRequest, VideoWorker

#: Files the Content pane hands to the video window instead of reading them as images.
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ogv", ".gif"})

#: What the window needs from the main window when it starts work: the paintings (RGB), their
#: weights (None: equal) and the current settings.
InputsProvider = Callable[[], tuple[list[Image.Image], list[float] | None, StyleParams]]


def is_video_path(path: Path) -> bool:
    """Whether ``path`` names a clip by its extension (animated GIFs count: FFmpeg reads them)."""
    return path.suffix.lower() in VIDEO_SUFFIXES - {".gif"}


def _tip(help_text: str) -> str:
    """A command-line help text as a tooltip (first letter capitalised)."""
    return help_text[:1].upper() + help_text[1:] + "."


class VideoWindow(QDialog):
    """One clip. Raises :class:`EngineError` (a one-line message) from the constructor if the
    clip cannot be read or the video extras are missing."""

    def __init__(self, path: Path, inputs: InputsProvider, open_url: Callable[[QUrl], bool],
                 cache_dir: Path | None = None, parent: QWidget | None = None) -> None:
        from nst_desktop.engine.video import deps as video_deps

        if not video_deps.available():
            raise video_deps.VideoDepsMissing(video_deps.install_hint())
        from nst_desktop.engine.video import io as video_io

        self.info = video_io.probe(path)
        super().__init__(parent)
        self.setWindowTitle(f"Video — {path.name}")
        self.path, self._inputs, self._open_url, self._cache_dir = path, inputs, open_url, cache_dir
        self.worker: VideoWorker | None = None
        self.thread_ = None
        self.output: Path | None = None
        self._preview_hw = self._hw(512)

        self.canvas = ImageCanvas("")
        self.canvas.setMinimumSize(320, 200)
        self.scrubber = QSlider(Qt.Orientation.Horizontal)
        self.scrubber.setRange(0, self.info.frames - 1)
        self.scrubber.valueChanged.connect(self.show_frame)
        self.frame_label = QLabel()
        self.start_box, self.end_box = QDoubleSpinBox(), QDoubleSpinBox()
        for box, value in ((self.start_box, 0.0), (self.end_box, self.info.duration_s)):
            box.setRange(0.0, self.info.duration_s)
            box.setDecimals(2)
            box.setSuffix(" s")
            box.setValue(value)
        self.temporal_box = QDoubleSpinBox()
        self.temporal_box.setRange(VS.MIN_TEMPORAL_WEIGHT, VS.MAX_TEMPORAL_WEIGHT)
        self.temporal_box.setDecimals(1)
        self.temporal_box.setSingleStep(10.0)
        self.temporal_box.setValue(VS.DEFAULT_TEMPORAL_WEIGHT)
        self.temporal_box.setToolTip(_tip(VS.TEMPORAL_WEIGHT_HELP))
        self.every_steps_box = QSpinBox()
        self.every_steps_box.setRange(VS.MIN_EVERY_FRAME_STEPS, VS.MAX_EVERY_FRAME_STEPS)
        self.every_steps_box.setValue(VS.DEFAULT_EVERY_FRAME_STEPS)
        self.every_steps_box.setToolTip(_tip(VS.EVERY_FRAME_STEPS_HELP))
        self.out_edit = QLineEdit(str(path.with_name(f"{path.stem}-painted.mp4")))
        self.out_edit.setToolTip("An .mp4 file, or a name without extension for a folder of PNG frames")
        self.stylize_button = QPushButton("Stylize Frame")
        self.stylize_button.setToolTip("Paint the frame shown, as a preview")
        self.render_button = QPushButton("Render Video")
        self.render_button.setToolTip("Paint every frame of the range into the output file")
        self.cancel_button = QPushButton("Cancel")
        self.play_button = QPushButton("Play Video")
        self.play_button.setToolTip("Open the painted video in the system's player")
        self.stylize_button.clicked.connect(self.stylize_frame)
        self.render_button.clicked.connect(self.render_video)
        self.cancel_button.clicked.connect(self.cancel)
        self.play_button.clicked.connect(self.play)
        self.progress = QProgressBar()
        self.status = QLabel(f"{self.info.frames} frames, {self.info.width}x{self.info.height}, "
                             f"{float(self.info.fps):.3g} fps{', with audio' if self.info.audio else ''}")
        self.status.setWordWrap(True)

        form = QFormLayout()
        rng = QHBoxLayout()
        rng.addWidget(self.start_box)
        rng.addWidget(QLabel("to"))
        rng.addWidget(self.end_box)
        form.addRow("Range", rng)
        form.addRow("Temporal weight", self.temporal_box)
        form.addRow("Steps per later frame", self.every_steps_box)
        form.addRow("Output", self.out_edit)
        buttons = QHBoxLayout()
        for b in (self.stylize_button, self.render_button, self.cancel_button, self.play_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.scrubber)
        layout.addWidget(self.frame_label)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        self._set_running(False)
        self.show_frame(0)

    def _hw(self, long_side: int) -> tuple[int, int]:
        from nst_desktop.engine.video import frame_size

        return frame_size(self.info, long_side)

    def is_running(self) -> bool:
        return self.worker is not None

    def _set_running(self, running: bool) -> None:
        for w in (self.stylize_button, self.render_button, self.scrubber, self.start_box, self.end_box,
                  self.temporal_box, self.every_steps_box, self.out_edit):
            w.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.play_button.setEnabled(not running and self.output is not None and self.output.exists())

    @Slot(int)
    def show_frame(self, index: int) -> None:
        """Show source frame ``index`` (a seek and a short decode, no torch)."""
        from nst_desktop.engine.video import io as video_io

        try:
            img = video_io.frame_at(self.info, index, self._preview_hw)
        except EngineError as exc:
            self.status.setText(str(exc))
            return
        self.current_frame = img
        self.canvas.set_image(pil_to_qimage(img))
        self.frame_label.setText(f"frame {index + 1} of {self.info.frames} · {index / float(self.info.fps):.2f} s")

    def _settings(self, params: StyleParams) -> VideoSettings:
        start, end = self.start_box.value(), self.end_box.value()
        return VideoSettings(dataclasses.replace(params, preview_every=10),
                             temporal_weight=self.temporal_box.value(),
                             every_frame_steps=self.every_steps_box.value(), start_s=start,
                             end_s=None if end >= self.info.duration_s - 1e-6 else end)

    @Slot()
    def stylize_frame(self) -> bool:
        """Paint the frame shown (the frame at the settings' size) as a preview."""
        styles, weights, params = self._inputs()
        if not styles:
            self.status.setText("Add a painting in the main window first.")
            return False
        frame = self.current_frame.resize(self._hw(params.size)[::-1], Image.Resampling.LANCZOS)
        return self._start(VideoJobRequest(self.path, styles, weights, self._settings(params), frame=frame,
                                           cache_dir=self._cache_dir), "Painting the frame…")

    @Slot()
    def render_video(self) -> bool:
        """Paint the range into the output (resuming from finished frames of the same settings)."""
        styles, weights, params = self._inputs()
        if not styles:
            self.status.setText("Add a painting in the main window first.")
            return False
        text = self.out_edit.text().strip()
        if not text:
            self.status.setText("Give an output file.")
            return False
        self.output = Path(text)
        return self._start(VideoJobRequest(self.path, styles, weights, self._settings(params), out=self.output,
                                           cache_dir=self._cache_dir), "Rendering…")

    def _start(self, request: VideoJobRequest, text: str) -> bool:
        if self.worker is not None:
            return False
        self.worker = VideoWorker(request)
        self.worker.progressed.connect(self._on_progress)
        self.worker.previewReady.connect(self._on_preview)
        self.worker.finished.connect(self._on_finished)
        self.worker.cancelled.connect(self._on_cancelled)
        self.worker.failed.connect(self._on_failed)
        self.progress.setValue(0)
        self.status.setText(text)
        self._set_running(True)
        self.thread_ = start_in_thread(self.worker, "video")
        return True

    @Slot()
    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    @Slot()
    def play(self) -> bool:
        """Open the output with the desktop's default application."""
        if self.output is None or not self.output.exists():
            return False
        return self._open_url(QUrl.fromLocalFile(str(self.output)))

    @Slot(int, int, int, int, object)
    def _on_progress(self, frame: int, frames: int, step: int, steps: int, eta: object) -> None:
        self.progress.setRange(0, 1000)
        self.progress.setValue(int(1000 * (frame + (step / steps if steps else 0)) / max(1, frames)))
        left = f", {format_duration(float(eta))} left" if isinstance(eta, float) else ""
        self.status.setText(f"frame {frame + 1} of {frames}, step {step} of {steps}{left}"
                            if frames > 1 else f"step {step} of {steps}{left}")

    @Slot(QImage)
    def _on_preview(self, image: QImage) -> None:
        self.canvas.set_image(image)

    def _done(self, text: str) -> None:
        join_thread(self.thread_)
        self.worker = self.thread_ = None
        self.status.setText(text)
        self._set_running(False)

    @Slot(object)
    def _on_finished(self, what: object) -> None:
        if isinstance(what, QImage):
            self.canvas.set_image(what)
            self._done("The frame as painted. Render Video paints the whole range.")
        else:
            self.progress.setValue(self.progress.maximum())
            self._done(f"Wrote {what}.")

    @Slot()
    def _on_cancelled(self) -> None:
        self._done("Stopped. The finished frames are kept: Render Video goes on from them.")

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._done(message.splitlines()[0])

    def closeEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt API
        """Closing stops the work and waits for its thread (the frames done so far stay)."""
        self.cancel()
        join_thread(self.thread_)
        self.worker = self.thread_ = None
        super().closeEvent(event)


class VideoWindows(QObject):
    """The main window's video windows: opens one per clip, closes them all (stopping their work,
    the finished frames kept) when the main window closes."""

    def __init__(self, inputs: InputsProvider, open_url: Callable[[QUrl], bool], show_message: Callable[[str], None],
                 cache_dir: Path | None, parent: QWidget) -> None:
        super().__init__(parent)
        self._inputs, self._open_url, self._show, self._cache_dir = inputs, open_url, show_message, cache_dir
        self._parent = parent
        self.windows: list[VideoWindow] = []

    @Slot(Path)
    def open(self, path: Path) -> VideoWindow | None:
        """A window for the clip ``path``; None (and the reason in the status bar) if it cannot be read."""
        try:
            win = VideoWindow(Path(path), self._inputs, self._open_url, self._cache_dir, self._parent)
        except EngineError as exc:
            self._show(str(exc))
            return None
        self.windows.append(win)
        win.show()
        return win

    def close_all(self) -> None:
        for win in self.windows:
            win.close()
        self.windows.clear()
