"""Painting a clip, frame after frame, without flicker (Ruder, Dosovitskiy & Brox, GCPR 2016).

The first frame of the range is painted like a photo, with the whole budget (``params.steps``).
Every later frame t starts from painted frame t-1 warped onto it by the optical flow between
the source frames t and t-1 (:mod:`flow`), and a temporal loss (:mod:`temporal`) keeps it close
to that warped frame where the flow is reliable; it gets ``every_frame_steps`` steps at the
final size only. With ``temporal=False`` every frame is painted on its own with the whole
budget (the flicker baseline).

Frames are written as they finish into a work folder (:mod:`video_work`); a run with the same
settings goes on from the last finished frame. The output (an H.264 MP4 with the source's
frame rate and audio, or a folder of PNG frames) is assembled only when every frame exists,
under a temporary name, then renamed: there is never a half-written output.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from PIL import Image

from nst_desktop.engine.image import color
from nst_desktop.engine.image.images import pil_to_tensor, scaled_size
from nst_desktop.engine.net.weights import VGGWeights
from nst_desktop.engine.params import Progress, RunOptions, StyleInputs, StyleParams, StyleResult
from nst_desktop.engine.resume import Resume
from nst_desktop.engine.stylize import stylize
from nst_desktop.engine.video import flow as fl
from nst_desktop.engine.video import io as vio
from nst_desktop.engine.video.deps import VideoError
from nst_desktop.engine.video.settings import OutputKind, VideoSettings, output_kind
from nst_desktop.engine.video.temporal import TemporalLoss
from nst_desktop.engine.video.work import WorkFolder, file_digest, settings_key, source_identity


def frame_size(info: vio.VideoInfo, long_side: int) -> tuple[int, int]:
    """(height, width) of the painted frames: ``long_side`` on the long side, aspect kept, both
    even (H.264 in 4:2:0 needs even sizes)."""
    h, w = scaled_size((info.height, info.width), long_side)
    return max(2, h - h % 2), max(2, w - w % 2)


@dataclass(frozen=True)
class VideoPlan:
    """A checked render, before any work: the clip, the frames (indices in the clip), their
    size, the work folder and how many of its frames are done already."""

    info: vio.VideoInfo
    indices: range
    hw: tuple[int, int]
    out: Path
    kind: OutputKind
    work: WorkFolder
    done: int
    settings: VideoSettings

    @property
    def frames(self) -> int:
        return len(self.indices)


def plan_video(source: Path, styles: Sequence[Path | Image.Image], out: Path, settings: VideoSettings,
               max_pixels: int = vio.MAX_SOURCE_PIXELS, style_weights: Sequence[float] | None = None,
               key_extra: dict[str, object] | None = None) -> VideoPlan:
    """Check everything before work starts: the settings, the clip (:func:`video_io.probe`), the
    range, the output's type and folder, and the disk space for the frames still to paint.
    ``styles``: the paintings' files or images (for the work folder's key; the images painted
    with are given to :func:`render_video`). ``key_extra``: more of what makes the frames (JSON;
    a farm's chunks), so that another way of painting them has its own work folder. Raises
    :class:`VideoError` or ``ValueError`` with a one-line message."""
    settings = settings.fixed()
    settings.validate()
    kind = output_kind(out)
    if not out.parent.resolve().is_dir():
        raise VideoError(f"cannot write '{out}': the folder '{out.parent}' does not exist")
    if kind == "png" and out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise VideoError(f"'{out}' exists already; give a new name for the folder of PNG frames")
    info = vio.probe(source, max_pixels)
    indices = info.frames_in(settings.start_s, settings.end_s)
    if not indices:
        raise VideoError(f"'{source}': no frames from {settings.start_s:g} s to "
                         f"{'the end' if settings.end_s is None else f'{settings.end_s:g} s'} "
                         f"(the clip is {info.duration_s:.2f} s long)")
    hw = frame_size(info, settings.params.size)
    key = settings_key({
        "source": source_identity(source),
        "styles": [_digest(s) for s in styles],
        "style_weights": None if style_weights is None else [float(w) for w in style_weights],
        "settings": dataclasses.asdict(settings),
        "hw": hw,
        "indices": [indices.start, indices.stop],
        **({"extra": key_extra} if key_extra else {}),
    })
    work = WorkFolder.for_output(out, key)
    done = work.finished(len(indices))
    vio.check_disk(out.parent, vio.frames_needed_bytes(len(indices) - done, hw),
                   f"'{source}': {len(indices) - done} frames at {hw[1]}x{hw[0]}")
    return VideoPlan(info, indices, hw, out, kind, work, done, settings)


def _digest(style: Path | Image.Image) -> str:
    if isinstance(style, Image.Image):
        return hashlib.sha256(style.convert("RGB").tobytes() + repr(style.size).encode()).hexdigest()
    return file_digest(style)


@dataclass
class VideoProgress:
    """One report of a render. ``frame``: index (in the range, from 0) of the frame being painted,
    of ``frames``; ``step``/``steps``: its loss evaluations done / budgeted; ``elapsed_s``: since this
    run started; ``eta_s``: seconds left for the whole render (None until it can be estimated);
    ``preview``: the frame's current image on preview steps; ``phase``: "frame" or "assemble"."""

    frame: int
    frames: int
    step: int
    steps: int
    elapsed_s: float
    eta_s: float | None
    preview: Image.Image | None = None
    phase: Literal["frame", "assemble"] = "frame"


@dataclass(frozen=True)
class VideoResult:
    """A finished or stopped render. ``output``: the file or folder made (None if cancelled);
    ``painted``: frames painted in this run, after ``resumed_from`` found done; ``frame_s``: each
    painted frame's seconds; ``eta_after``: the ETA reported as each frame finished (for checking it)."""

    output: Path | None
    frames: int
    painted: int
    resumed_from: int
    cancelled: bool
    elapsed_s: float
    frame_s: tuple[float, ...]
    eta_after: tuple[float | None, ...]


#: Later frames whose measured costs the ETA averages (the most recent: the machine's speed drifts).
ETA_WINDOW = 10


@dataclass
class _Size:
    """The optimise reports of one size of a frame: the first and the last (time s, step)."""

    t_first: float
    s_first: int
    t_last: float
    s_last: int
    pixels: int

    @property
    def steps(self) -> int:
        return self.s_last - self.s_first + 1

    @property
    def step_s(self) -> float | None:
        """Seconds per step at this size (None with fewer than two reports)."""
        return (self.t_last - self.t_first) / (self.s_last - self.s_first) if self.s_last > self.s_first else None


@dataclass(frozen=True)
class FrameCost:
    """A painted frame's time split in two: ``step_s``, seconds per step at the final size, and
    ``fixed_s``, everything else (s): decoding, the flow both ways, the mask and the warp, the
    content and style targets, the network's set-up, the PNG written."""

    fixed_s: float
    step_s: float


class FrameClock:
    """The render's ETA, from costs measured on the frames painted in this run.

    A frame's time runs from the end of the one before it (so decoding, the flow and the warp
    count) to when it is written. Its seconds per step are measured between its first and last
    step at the final size; its fixed cost is its time less its steps at each size times that
    size's seconds per step (:class:`FrameCost`). A later frame still to paint is predicted to take
    ``fixed + every_frame_steps x step`` with the means of the last :data:`ETA_WINDOW` later
    frames; before one has finished, with the first frame's fixed cost and its seconds per step
    at the final size; before that too, with what the frame in progress has shown (the time to
    its first step as fixed cost, its seconds per step scaled to the final size by pixels). The
    frame in progress has its steps left times its own seconds per step (a first frame:
    stylize's own ETA over its sizes). With ``temporal`` False every frame is alike and the
    prediction is the mean time of the last frames. ``now``: the clock (s; injected by tests)."""

    def __init__(self, frames: int, later_steps: int, temporal: bool, hw: tuple[int, int],
                 now: Callable[[], float] = time.perf_counter) -> None:
        self.now = now
        self.t0 = self.frame_t0 = now()
        self.frames, self.later_steps, self.temporal = frames, later_steps, temporal
        self.final_pixels = hw[0] * hw[1]
        self.sizes: dict[int, _Size] = {}  # the frame in progress: stage -> its reports
        self.final_stage = 0
        self.later: list[FrameCost] = []  # later frames painted in this run
        self.totals: list[float] = []  # seconds of every frame painted in this run
        self.first: FrameCost | None = None  # the first frame, if painted in this run

    def start_frame(self) -> None:
        """A frame begins now (call at the end of the previous one, before its decoding)."""
        self.frame_t0 = self.now()
        self.sizes = {}

    def on_step(self, p: Progress) -> None:
        """An optimise report of the frame in progress (tile reports within a step are left out)."""
        if p.phase != "optimise" or p.tile or p.step <= 0:
            return
        t = self.now()
        self.final_stage = p.stages - 1
        size = self.sizes.get(p.stage)
        if size is None:
            self.sizes[p.stage] = _Size(t, p.step, t, p.step, p.size_hw[0] * p.size_hw[1])
        else:
            size.t_last, size.s_last = t, p.step

    def _cost(self, total: float) -> FrameCost:
        final = self.sizes.get(self.final_stage)
        step_s = final.step_s if final is not None else None
        stepping = sum(s.steps * (s.step_s or 0.0) for s in self.sizes.values())
        return FrameCost(max(0.0, total - stepping), step_s or 0.0)

    def finish_frame(self, frame: int) -> float:
        """Frame ``frame`` (index in the range) is written: its seconds; its cost is kept for the ETA."""
        took = self.now() - self.frame_t0
        self.totals.append(took)
        cost = self._cost(took)
        if frame > 0 or not self.temporal:
            self.later.append(cost)
        else:
            self.first = cost
        return took

    def later_frame_s(self) -> float | None:
        """Predicted seconds of a later frame still to paint (None: nothing measured yet)."""
        if not self.temporal:
            recent_totals = self.totals[-ETA_WINDOW:]
            return sum(recent_totals) / len(recent_totals) if recent_totals else None
        if self.later:
            recent = self.later[-ETA_WINDOW:]
            fixed = sum(c.fixed_s for c in recent) / len(recent)
            step = sum(c.step_s for c in recent) / len(recent)
            return fixed + self.later_steps * step
        if self.first is not None:
            return self.first.fixed_s + self.later_steps * self.first.step_s
        if not self.sizes:
            return None
        stage = max(self.sizes)
        size = self.sizes[stage]
        if size.step_s is None:
            return None
        first = self.sizes[min(self.sizes)]
        step = size.step_s * self.final_pixels / size.pixels
        fixed = max(0.0, first.t_first - self.frame_t0 - step)
        return fixed + self.later_steps * step

    def eta(self, frame: int, p: Progress | None = None) -> float | None:
        """Seconds left while frame ``frame`` is being painted and ``p`` is its latest report
        (None: it has not begun its steps). None while nothing can be estimated."""
        per_later = self.later_frame_s()
        spent = self.now() - self.frame_t0
        size = self.sizes.get(p.stage) if p is not None else None
        if frame == 0 or not self.temporal:  # the whole budget, over the sizes: stylize's own ETA
            left_now = p.eta_s if p is not None else None
            if left_now is None and per_later is not None:
                left_now = max(0.0, per_later - spent)
            if left_now is None:
                return None
            if per_later is None and not self.temporal:  # every frame will be like this one
                per_later = spent + left_now
        elif p is not None and size is not None and size.step_s is not None:
            left_now = max(0, p.total - p.step) * size.step_s
        elif per_later is not None:
            left_now = max(0.0, per_later - spent)
        else:
            return None
        if per_later is None:
            return None if self.frames - frame - 1 > 0 else left_now
        return left_now + per_later * (self.frames - frame - 1)


@dataclass(frozen=True, eq=False)
class FramePainter:
    """Paints the frames of a range one by one (what :func:`render_video` and a farm's chunk
    run): ``hw`` the frames' (height, width), ``styles`` the paintings (RGB) blended by
    ``style_weights``."""

    settings: VideoSettings
    hw: tuple[int, int]
    styles: Sequence[Image.Image]
    weights: VGGWeights | None = None
    style_weights: Sequence[float] | None = None

    @property
    def first_params(self) -> StyleParams:
        """A first frame's parameters: the whole budget, at the even frame size (see frame_size)."""
        return dataclasses.replace(self.settings.params, size=max(self.hw))

    @property
    def later_params(self) -> StyleParams:
        """A later frame's: ``every_frame_steps`` at the final size only."""
        return dataclasses.replace(self.first_params, steps=self.settings.every_frame_steps, coarse_to_fine=False)

    def paint(self, src: Image.Image, prev: tuple[np.ndarray, Image.Image] | None,
              progress: Callable[[Progress], None] | None = None, cancel: threading.Event | None = None,
              ) -> StyleResult:
        """Frame ``src`` (at ``hw``). ``prev``: the previous source frame (uint8 array) and its
        painted frame, to start from (None, or ``temporal`` off: painted on its own with the whole
        budget)."""
        inputs = StyleInputs(src, self.styles, self.style_weights)
        if prev is None or not self.settings.temporal:
            return stylize(inputs, self.first_params, self.weights, progress, cancel)
        options = _temporal_start(np.asarray(src), prev[0], prev[1], self.settings)
        return stylize(inputs, self.later_params, self.weights, progress, cancel, options=options)


def render_video(
    plan: VideoPlan,
    styles: Sequence[Image.Image],
    weights: VGGWeights | None = None,
    on_progress: Callable[[VideoProgress], None] | None = None,
    cancel: threading.Event | None = None,
    style_weights: Sequence[float] | None = None,
) -> VideoResult:
    """Paint the frames of ``plan`` still missing, then assemble the output (see the module
    docstring). ``styles``: the paintings (RGB), blended by ``style_weights``. Setting ``cancel``
    stops within one loss evaluation; the finished frames stay for the next run."""
    settings = plan.settings
    plan.work.create({"source": str(plan.info.path), "frames": plan.frames, "hw": plan.hw,
                      "settings": dataclasses.asdict(settings)})
    painter = FramePainter(settings, plan.hw, styles, weights, style_weights)
    clock = FrameClock(plan.frames, settings.every_frame_steps, settings.temporal, plan.hw)
    frame_s: list[float] = []
    eta_after: list[float | None] = []
    painted = 0
    prev: tuple[np.ndarray, Image.Image] | None = None
    first = max(0, plan.done - 1)  # the last finished frame is needed as the start of the next
    for i, src in enumerate(vio.decode(plan.info, plan.indices[first:], plan.hw), start=first):
        if i < plan.done:
            prev = (np.asarray(src), plan.work.read(i))
            continue
        if painted == 0:
            clock.start_frame()

        def progress(p: Progress, i: int = i) -> None:
            if p.phase != "optimise":
                return
            clock.on_step(p)
            if on_progress is not None:
                on_progress(VideoProgress(i, plan.frames, p.step, p.total, clock.now() - clock.t0,
                                          clock.eta(i, p), p.preview))

        result = painter.paint(src, prev if i > 0 else None, progress, cancel)
        if result.cancelled:
            return VideoResult(None, plan.frames, painted, plan.done, True, clock.now() - clock.t0,
                               tuple(frame_s), tuple(eta_after))
        plan.work.write(i, result.image)
        painted += 1
        frame_s.append(clock.finish_frame(i))
        clock.start_frame()
        eta_after.append(clock.eta(i + 1) if i + 1 < plan.frames else 0.0)
        prev = (np.asarray(src), result.image)
    t0 = clock.t0
    if on_progress is not None:
        on_progress(VideoProgress(plan.frames - 1, plan.frames, 0, 0, time.perf_counter() - t0, None,
                                  phase="assemble"))
    output = assemble(plan)
    return VideoResult(output, plan.frames, painted, plan.done, False, time.perf_counter() - t0,
                       tuple(frame_s), tuple(eta_after))


def _temporal_start(src: np.ndarray, prev_src: np.ndarray, prev_out: Image.Image,
                    settings: VideoSettings) -> RunOptions:
    """A later frame's start: ``resume`` (the previous painted frame warped onto this one) and
    ``extra_loss`` (the temporal loss over the reliable pixels)."""
    backward = fl.dis_flow(src, prev_src)
    forward = fl.dis_flow(prev_src, src)
    mask = fl.reliable(forward, backward)
    warped = Image.fromarray(fl.warp(np.asarray(prev_out), backward))
    target = color.luminance_image(warped) if settings.params.preserve_colors == "luminance" else warped
    loss = TemporalLoss(pil_to_tensor(target), torch.from_numpy(mask)[None, None], settings.temporal_weight)
    return RunOptions(resume=Resume(image=warped), extra_loss=loss)


def assemble(plan: VideoPlan) -> Path:
    """The output from the finished frames, under a temporary name then renamed; the work folder
    is removed after. Raises :class:`VideoError` if a frame is missing or damaged."""
    missing = plan.work.finished(plan.frames)
    if missing < plan.frames:
        raise VideoError(f"frame {missing + 1} of {plan.frames} is missing in '{plan.work.path}'")
    fps = plan.info.fps
    start_s, end_s = plan.indices.start / fps, plan.indices.stop / fps
    out = plan.out
    tmp = out.with_name(f".{out.name}.part-{os.getpid()}{out.suffix}")
    try:
        if plan.kind == "mp4":
            frames = (plan.work.read(i) for i in range(plan.frames))
            vio.encode_mp4(frames, tmp, fps, (plan.info, float(start_s), float(end_s)))
            os.replace(tmp, out)
        else:
            tmp.mkdir()
            for i in range(plan.frames):
                plan.work.read(i)  # each checked whole before it is moved
                os.replace(plan.work.frame_path(i), tmp / plan.work.frame_path(i).name)
            vio.encode_audio_only(plan.info, float(start_s), float(end_s), tmp / "audio.m4a")
            if out.is_dir():
                out.rmdir()  # empty (checked by plan_video)
            os.replace(tmp, out)
    except BaseException:
        if tmp.is_dir():
            for f in tmp.glob("frame_*.png"):  # put the frames back, so that nothing is lost
                os.replace(f, plan.work.path / f.name)
            for f in tmp.iterdir():
                f.unlink()
            tmp.rmdir()
        else:
            tmp.unlink(missing_ok=True)
        raise
    plan.work.remove()
    return out
