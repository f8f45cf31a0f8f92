"""Painting a clip: the checks before work, the render (frames, rate and audio kept), resume, outputs."""

from __future__ import annotations

import threading
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nst_desktop.engine import Progress, StyleParams
from nst_desktop.engine.net import recurring
from nst_desktop.engine.video import flow as fl
from nst_desktop.engine.video import io as vio
from nst_desktop.engine.video import paint as V
from nst_desktop.engine.video.deps import VideoError
from tests.helpers import make_style
from tests.video_helpers import audio_seconds, panning_frames, tone_strength, write_clip

pytest.importorskip("av")
pytest.importorskip("cv2")

FAST = StyleParams(device="cpu", size=48, steps=6, preview_every=0)


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """1 s at 12 fps, 48 x 32 px, panning 1 px right and down per frame, with a 440 Hz tone."""
    return write_clip(tmp_path / "clip.mp4", panning_frames(12, (32, 48), (1, 1)))


@pytest.fixture
def painting(tmp_path: Path) -> Path:
    path = tmp_path / "painting.png"
    make_style((48, 48)).save(path)
    return path


def _settings(**kw: object) -> V.VideoSettings:
    return V.VideoSettings(FAST, every_frame_steps=kw.pop("every", 3), **kw)  # type: ignore[arg-type]


def test_probe_reads_rate_frames_and_audio(clip: Path) -> None:
    info = vio.probe(clip)
    assert (info.width, info.height, info.fps, info.frames, info.audio) == (48, 32, 12, 12, True)
    assert info.frames_in(0.25, 0.75) == range(3, 9)
    assert info.frames_in(0, None) == range(12)


@pytest.mark.parametrize("case", ["missing", "garbage", "still image", "audio only", "variable rate", "huge"])
def test_bad_clips_are_refused_in_one_line_naming_the_file(tmp_path: Path, clip: Path, case: str) -> None:
    path, limit = tmp_path / "bad.mp4", vio.MAX_SOURCE_PIXELS
    if case == "garbage":
        path.write_bytes(b"not a video " * 100)
    elif case == "still image":
        path = tmp_path / "still.png"
        Image.new("RGB", (16, 16)).save(path)
    elif case == "audio only":
        path = tmp_path / "tone.m4a"
        vio.encode_audio_only(vio.probe(clip), 0, 1, path)
    elif case == "variable rate":
        write_clip(path, panning_frames(6), pts=[0, 1, 2, 4, 5, 8])
    elif case == "huge":
        path, limit = clip, 40 * 30
    expected = {"missing": "no such file", "garbage": "cannot be read as a video", "still image": "still image",
                "audio only": "no video stream", "variable rate": "variable frame rate",
                "huge": "too large"}[case]
    with pytest.raises(VideoError, match=expected) as err:
        vio.probe(path, limit)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_a_clip_the_disk_cannot_hold_is_refused_before_work(
    tmp_path: Path, clip: Path, painting: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(vio.shutil, "disk_usage", lambda p: usage(10**9, 10**9, 10 * 2**20))
    with pytest.raises(VideoError, match="12 frames at 48x32 need about .* but only 10 MB are free"):
        V.plan_video(clip, [painting], tmp_path / "out.mp4", _settings())
    assert not list(tmp_path.glob(".out.mp4.nst-video-*"))


@pytest.mark.parametrize(("out", "kw", "expected"), [
    ("out.avi", {}, "unknown video output type"),
    ("nowhere/out.mp4", {}, "does not exist"),
    ("out.mp4", {"start_s": 5.0}, "no frames from 5 s"),
    ("out.mp4", {"start_s": 0.5, "end_s": 0.2}, "0 <= start < end"),
])
def test_bad_outputs_and_ranges(tmp_path: Path, clip: Path, painting: Path, out: str, kw: dict,
                                expected: str) -> None:
    with pytest.raises((VideoError, ValueError), match=expected):
        V.plan_video(clip, [painting], tmp_path / out, _settings(**kw))


def test_render_keeps_frame_count_rate_and_audio(tmp_path: Path, clip: Path, painting: Path,
                                                 bundled_weights) -> None:
    out = tmp_path / "painted.mp4"
    plan = V.plan_video(clip, [painting], out, _settings())
    reports: list[V.VideoProgress] = []
    result = V.render_video(plan, [make_style((48, 48))], bundled_weights, reports.append)
    assert result.output == out and result.painted == 12 and not result.cancelled
    info = vio.probe(out)
    assert (info.frames, info.fps, info.width, info.height) == (12, 12, 48, 32)
    assert audio_seconds(out) == pytest.approx(1.0, abs=0.1) and tone_strength(out) > 0.8
    assert not plan.work.path.exists()  # the frames are removed once the video is written
    assert {r.frame for r in reports} == set(range(12))
    later = [r for r in reports if r.frame > 0 and r.phase == "frame"]
    assert later and all(r.steps == 3 for r in later) and reports[-1].phase == "assemble"
    assert all(r.eta_s is not None for r in later)


def test_a_range_as_png_frames_with_its_audio(tmp_path: Path, clip: Path, painting: Path, bundled_weights) -> None:
    out = tmp_path / "frames"
    plan = V.plan_video(clip, [painting], out, _settings(start_s=0.25, end_s=0.75))
    V.render_video(plan, [make_style((48, 48))], bundled_weights)
    assert sorted(p.name for p in out.iterdir()) == ["audio.m4a", *(f"frame_{i:06d}.png" for i in range(1, 7))]
    assert audio_seconds(out / "audio.m4a") == pytest.approx(0.5, abs=0.1)
    assert Image.open(out / "frame_000001.png").size == (48, 32)


def test_a_cancelled_render_resumes_from_the_last_finished_frame(
    tmp_path: Path, clip: Path, painting: Path, bundled_weights
) -> None:
    out = tmp_path / "painted.mp4"
    cancel = threading.Event()

    def stop_at_frame_5(p: V.VideoProgress) -> None:
        if p.frame == 5:
            cancel.set()

    plan = V.plan_video(clip, [painting], out, _settings())
    first = V.render_video(plan, [make_style((48, 48))], bundled_weights, stop_at_frame_5, cancel)
    assert first.cancelled and first.painted == 5 and not out.exists()
    again = V.plan_video(clip, [painting], out, _settings())
    assert again.work == plan.work and again.done == 5
    other = V.plan_video(clip, [painting], out, _settings(temporal_weight=5.0))
    assert other.work != plan.work and other.done == 0  # other settings: other frames
    second = V.render_video(again, [make_style((48, 48))], bundled_weights)
    assert second.resumed_from == 5 and second.painted == 7
    assert vio.probe(out).frames == 12


def test_temporal_frames_flicker_less_than_independent_ones(
    tmp_path: Path, clip: Path, painting: Path, bundled_weights
) -> None:
    def painted(name: str, **kw: object) -> list[np.ndarray]:
        out = tmp_path / name
        plan = V.plan_video(clip, [painting], out, _settings(end_s=0.4, **kw))
        V.render_video(plan, [make_style((48, 48))], bundled_weights)
        return [np.asarray(Image.open(out / f"frame_{i:06d}.png")) for i in range(1, 6)]

    def flicker(frames: list[np.ndarray]) -> float:
        src = panning_frames(12, (32, 48), (1, 1))
        errs = []
        for t in range(1, len(frames)):
            back, fwd = fl.dis_flow(src[t], src[t - 1]), fl.dis_flow(src[t - 1], src[t])
            errs.append(fl.warping_error(frames[t], frames[t - 1], back, fl.reliable(fwd, back)))
        return float(np.mean(errs))

    temporal = flicker(painted("temporal", temporal_weight=1000.0))
    independent = flicker(painted("independent", temporal=False))
    assert temporal < 0.7 * independent


def test_the_paintings_weights_are_found_once_for_all_frames(tmp_path: Path, clip: Path, painting: Path,
                                                             bundled_weights, monkeypatch: pytest.MonkeyPatch) -> None:
    """Leaving out the painting's objects (the default) looks at the painting once, not once per frame."""
    assert FAST.leave_out_objects
    monkeypatch.setattr(recurring, "MEMO", recurring.Memo())
    passes: list[int] = []
    real = recurring.weights_from_features
    monkeypatch.setattr(recurring, "weights_from_features", lambda f: passes.append(1) or real(f))
    plan = V.plan_video(clip, [painting], tmp_path / "frames", _settings(start_s=0.25, end_s=0.75))
    V.render_video(plan, [make_style((48, 48))], bundled_weights)
    assert len(list((tmp_path / "frames").glob("frame_*.png"))) == 6 and len(passes) == 1


def test_an_odd_size_gives_even_frames_for_h264(tmp_path: Path, clip: Path, painting: Path, bundled_weights) -> None:
    out = tmp_path / "odd.mp4"
    settings = V.VideoSettings(StyleParams(device="cpu", size=47, steps=4, preview_every=0), every_frame_steps=2,
                               end_s=0.2)
    plan = V.plan_video(clip, [painting], out, settings)
    assert plan.hw == (30, 46) and plan.frames == 3
    V.render_video(plan, [make_style((48, 48))], bundled_weights)
    info = vio.probe(out)
    assert (info.width, info.height, info.frames) == (46, 30, 3)


class _Now:
    """An injected clock (s): tests set ``t``."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _step(clock: V.FrameClock, now: _Now, t: float, step: int, total: int, stage: int = 0, stages: int = 1,
          hw: tuple[int, int] = (10, 10), eta_s: float | None = None) -> Progress:
    now.t = t
    p = Progress(step, total, stage, stages, hw, 0.0, 0.0, 0.0, t, eta_s)
    clock.on_step(p)
    return p


def test_the_eta_counts_a_later_frame_as_its_fixed_cost_plus_its_steps() -> None:
    now = _Now()
    clock = V.FrameClock(frames=5, later_steps=4, temporal=True, hw=(10, 10), now=now)
    clock.start_frame()
    # Frame 0, two sizes: 6 steps at 5x5 px (0.1 s each) from t=3 (the set-up before), 0.5 s of
    # targets, 4 steps at 10x10 (0.4 s each), written at t=6.
    for k in range(6):
        _step(clock, now, 3.0 + 0.1 * k, 1 + k, 10, 0, 2, (5, 5))
    # Before the first frame is done: its final size's rate (0.4 s) and the time to its first step
    # less one step (3.0 - 0.4) stand for a later frame: 2.6 + 4 x 0.4 = 4.2 s.
    for k in range(4):
        p = _step(clock, now, 4.4 + 0.4 * k, 7 + k, 10, 1, 2, (10, 10), eta_s=0.4 * (3 - k))
    assert clock.later_frame_s() == pytest.approx(4.2)
    assert clock.eta(0, p) == pytest.approx(0.0 + 4 * 4.2)
    now.t = 6.0
    assert clock.finish_frame(0) == pytest.approx(6.0)
    # Fixed: 6.0 s less 6 x 0.1 and 4 x 0.4 stepping = 3.8 s; a later frame 3.8 + 4 x 0.4 = 5.4 s.
    assert clock.first == V.FrameCost(pytest.approx(3.8), pytest.approx(0.4))
    clock.start_frame()
    assert clock.eta(1) == pytest.approx(4 * 5.4)
    # Frame 1: flow, warp, targets until t=7 (1.0 s), 4 steps of 0.5 s, written at 9.2.
    _step(clock, now, 7.5, 1, 4)
    p = _step(clock, now, 8.0, 2, 4)
    assert clock.eta(1, p) == pytest.approx(2 * 0.5 + 3 * 5.4)  # its own steps left, then three frames
    _step(clock, now, 8.5, 3, 4)
    _step(clock, now, 9.0, 4, 4)
    now.t = 9.2
    assert clock.finish_frame(1) == pytest.approx(3.2)
    assert clock.later == [V.FrameCost(pytest.approx(1.2), pytest.approx(0.5))]
    clock.start_frame()
    assert clock.eta(2) == pytest.approx(3 * (1.2 + 4 * 0.5))
    now.t = 10.0  # 0.8 s into frame 2, no step yet: what is left of it, then two more
    assert clock.eta(2) == pytest.approx(3.2 - 0.8 + 2 * 3.2)


def test_the_eta_of_independent_frames_and_of_a_resumed_render() -> None:
    now = _Now()
    clock = V.FrameClock(frames=3, later_steps=4, temporal=False, hw=(10, 10), now=now)
    clock.start_frame()
    assert clock.eta(0) is None
    p = _step(clock, now, 2.0, 1, 8, eta_s=6.0)
    assert clock.eta(0, p) == pytest.approx(6.0 + 2 * 8.0)  # this frame's 8 s, twice more
    now.t = 7.0
    clock.finish_frame(0)
    clock.start_frame()
    assert clock.eta(1) == pytest.approx(2 * 7.0)

    # Resumed at frame 3 of 6: a later frame first, its own rate and lead-in stand for the rest.
    now.t = 0.0
    clock = V.FrameClock(frames=6, later_steps=4, temporal=True, hw=(10, 10), now=now)
    clock.start_frame()
    assert clock.eta(3) is None
    _step(clock, now, 1.5, 1, 4)
    p = _step(clock, now, 2.0, 2, 4)
    assert clock.eta(3, p) == pytest.approx(2 * 0.5 + 2 * (1.0 + 4 * 0.5))
