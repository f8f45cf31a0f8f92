"""The video window: opened from File > Open Video… or a clip dropped on the Content pane; the
scrubber, Stylize Frame, Render Video with progress and Cancel, Play Video."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QObject, QUrl, Slot

from nst_desktop.engine.video import io as vio
from nst_desktop.engine.video import settings as VS
from nst_desktop.ui.video_window import VideoWindow
from tests.helpers import make_style
from tests.ui.helpers import drag_and_drop, few_steps, make_window
from tests.video_helpers import panning_frames, write_clip

pytest.importorskip("av")
pytest.importorskip("cv2")


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return write_clip(tmp_path / "clip.mp4", panning_frames(12, (32, 48), (1, 1)))


def _with_painting(qtbot, tmp_path: Path):  # noqa: ANN202
    window = make_window(qtbot)
    painting = tmp_path / "painting.png"
    make_style((48, 48)).save(painting)
    assert window.style_pane.load_path(painting)
    few_steps(window, steps=4, size=48)
    return window


def _open(window, clip: Path) -> VideoWindow:  # noqa: ANN001
    window.prompts.open_answer = str(clip)
    window.open_video_action.trigger()
    assert len(window.videos.windows) == 1
    return window.videos.windows[0]


def test_open_video_shows_a_scrubber_over_the_frames(qtbot, clip: Path, tmp_path: Path) -> None:
    window = _with_painting(qtbot, tmp_path)
    video = _open(window, clip)
    assert video.scrubber.maximum() == 11 and "frame 1 of 12" in video.frame_label.text()
    first = video.current_frame
    video.scrubber.setValue(7)
    assert "frame 8 of 12" in video.frame_label.text() and video.current_frame.tobytes() != first.tobytes()
    assert "12 frames, 48x32, 12 fps, with audio" in video.status.text()


def test_a_clip_dropped_on_the_content_pane_opens_a_video_window(qtbot, clip: Path, tmp_path: Path) -> None:
    window = _with_painting(qtbot, tmp_path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(clip))])
    assert drag_and_drop(window.content_pane, mime)
    assert len(window.videos.windows) == 1 and window.content_pane.loaded is None


def test_a_file_that_is_no_video_is_refused_in_the_status_bar(qtbot, tmp_path: Path) -> None:
    window = _with_painting(qtbot, tmp_path)
    window.prompts.open_answer = str(tmp_path / "painting.png")
    window.open_video_action.trigger()
    assert not window.videos.windows and "still image" in window.statusBar().currentMessage()


def test_stylize_frame_then_render_and_play(qtbot, clip: Path, tmp_path: Path) -> None:
    window = _with_painting(qtbot, tmp_path)
    video = _open(window, clip)
    assert video.stylize_frame()
    qtbot.waitUntil(lambda: not video.is_running(), timeout=60_000)
    assert "as painted" in video.status.text()
    out = tmp_path / "painted.mp4"
    video.out_edit.setText(str(out))
    video.end_box.setValue(0.5)
    assert not video.play_button.isEnabled()
    video.render_button.click()
    assert video.is_running() and video.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not video.is_running(), timeout=120_000)
    assert video.status.text() == f"Wrote {out}."
    assert vio.probe(out).frames == 6 and video.progress.value() == video.progress.maximum()
    assert video.play_button.isEnabled()
    video.play_button.click()
    assert window.prompts.opened == [str(out)]


def test_cancel_keeps_the_finished_frames(qtbot, clip: Path, tmp_path: Path) -> None:
    window = _with_painting(qtbot, tmp_path)
    few_steps(window, steps=200, size=48)  # the first frame takes long enough to be stopped
    video = _open(window, clip)
    out = tmp_path / "painted.mp4"
    video.out_edit.setText(str(out))
    video.render_button.click()
    qtbot.waitUntil(lambda: video.progress.value() > 0, timeout=60_000)
    video.cancel_button.click()
    qtbot.waitUntil(lambda: not video.is_running(), timeout=60_000)
    assert video.status.text().startswith("Stopped") and not out.exists()
    assert list(tmp_path.glob(".painted.mp4.nst-video-*"))  # the work folder stays for the next render


class _Steps(QObject):
    """Records the worker's progress reports in the GUI thread: frame -> the steps it was given
    (the assembly's report, with 0 steps, left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.steps: dict[int, int] = {}

    @Slot(int, int, int, int, object)
    def record(self, frame: int, frames: int, step: int, steps: int, eta: object) -> None:
        if steps:
            self.steps[frame] = steps


def test_temporal_weight_and_later_steps_go_into_the_render(qtbot, clip: Path, tmp_path: Path) -> None:
    window = _with_painting(qtbot, tmp_path)
    video = _open(window, clip)
    assert video.temporal_box.value() == VS.DEFAULT_TEMPORAL_WEIGHT
    assert video.every_steps_box.value() == VS.DEFAULT_EVERY_FRAME_STEPS
    assert (video.temporal_box.minimum(), video.temporal_box.maximum()) == (VS.MIN_TEMPORAL_WEIGHT,
                                                                            VS.MAX_TEMPORAL_WEIGHT)
    assert (video.every_steps_box.minimum(), video.every_steps_box.maximum()) == (VS.MIN_EVERY_FRAME_STEPS,
                                                                                  VS.MAX_EVERY_FRAME_STEPS)
    assert VS.TEMPORAL_WEIGHT_HELP[1:] in video.temporal_box.toolTip()
    assert VS.EVERY_FRAME_STEPS_HELP[1:] in video.every_steps_box.toolTip()
    video.temporal_box.setValue(7.5)
    video.every_steps_box.setValue(2)
    out = tmp_path / "painted.mp4"
    video.out_edit.setText(str(out))
    video.end_box.setValue(0.2)  # 3 frames
    video.render_button.click()
    assert video.is_running() and not video.every_steps_box.isEnabled() and not video.temporal_box.isEnabled()
    settings = video.worker.request.settings
    assert (settings.temporal_weight, settings.every_frame_steps) == (7.5, 2)
    recorder = _Steps()
    video.worker.progressed.connect(recorder.record)  # before frame 1: frame 0 alone takes far longer
    qtbot.waitUntil(lambda: not video.is_running(), timeout=120_000)
    assert video.status.text() == f"Wrote {out}." and vio.probe(out).frames == 3
    assert recorder.steps[1] == recorder.steps[2] == 2 and recorder.steps[0] == 4  # the painted later frames
    assert video.every_steps_box.isEnabled()
