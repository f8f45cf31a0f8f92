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

from nst_desktop.engine import color, schedule
from nst_desktop.engine import flow as fl
from nst_desktop.engine import video_io as vio
from nst_desktop.engine.devices import resolve_device
from nst_desktop.engine.images import pil_to_tensor, scaled_size
from nst_desktop.engine.params import DEFAULT_QUALITY, Progress, preset_steps
from nst_desktop.engine.precision import Precision
from nst_desktop.engine.resume import Resume
from nst_desktop.engine.stylize import stylize
from nst_desktop.engine.temporal import TemporalLoss
from nst_desktop.engine.video_deps import VideoError
from nst_desktop.engine.video_settings import OutputKind, VideoSettings, output_kind
from nst_desktop.engine.video_work import WorkFolder, file_digest, settings_key, source_identity
from nst_desktop.engine.weights import VGGWeights


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
               max_pixels: int = vio.MAX_SOURCE_PIXELS, style_weights: Sequence[float] | None = None) -> VideoPlan:
    """Check everything before work starts: the settings, the clip (:func:`video_io.probe`), the
    range, the output's type and folder, and the disk space for the frames still to paint.
    ``styles``: the paintings' files or images (for the work folder's key; the images painted
    with are given to :func:`render_video`). Raises :class:`VideoError` or ``ValueError`` with a
    one-line message."""
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


class _Clock:
    """The render's ETA: the mean time of the last later frames painted; until one has finished,
    the current frame's time extrapolated from its steps (the first frame's scaled by a later
    frame's share of its work in pixel-steps)."""

    def __init__(self, plan: VideoPlan, first_steps: int, device_type: str) -> None:
        self.t0 = self.frame_t0 = time.perf_counter()
        self.frames = plan.frames
        self.temporal = plan.settings.temporal
        h, w = plan.hw
        first_work = schedule.pixel_steps(device_type, max(plan.hw), plan.hw, first_steps)
        self.later_per_first = h * w * plan.settings.every_frame_steps / first_work if self.temporal else 1.0
        self.later: list[float] = []  # seconds of the later frames painted in this run
        self.first: float | None = None  # seconds of the first frame, if painted in this run

    def start_frame(self) -> None:
        self.frame_t0 = time.perf_counter()

    def finish_frame(self, frame: int) -> float:
        """Frame ``frame`` is done: its seconds (kept for the ETA unless it was a first frame)."""
        took = time.perf_counter() - self.frame_t0
        if frame > 0 or not self.temporal:
            self.later.append(took)
        else:
            self.first = took
        return took

    def eta(self, frame: int, step: int, steps: int) -> float | None:
        """Seconds left while frame ``frame`` has done ``step`` of ``steps`` (None: not known yet)."""
        spent = time.perf_counter() - self.frame_t0
        big_first = frame == 0 and self.temporal
        if self.later:
            recent = self.later[-10:]
            per_later = sum(recent) / len(recent)
        elif step > 0:
            per_later = spent / step * steps * (self.later_per_first if big_first else 1.0)
        elif self.first is not None:
            per_later = self.first * self.later_per_first
        else:
            return None
        if big_first or not self.later:
            left_now = spent / step * (steps - step) if step > 0 else per_later
        else:
            left_now = max(0.0, per_later - spent)
        return left_now + per_later * (self.frames - frame - 1)


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
    params = dataclasses.replace(settings.params, size=max(plan.hw))  # the even frame size (see frame_size)
    later_params = dataclasses.replace(params, steps=settings.every_frame_steps, coarse_to_fine=False)
    plan.work.create({"source": str(plan.info.path), "frames": plan.frames, "hw": plan.hw,
                      "settings": dataclasses.asdict(settings)})
    style_arg: Image.Image | list[Image.Image] = styles[0] if len(styles) == 1 else list(styles)
    device = resolve_device(params.device)
    bf16 = Precision.choose(params.precision, device).compute_dtype is not None
    clock = _Clock(plan, params.steps or preset_steps(DEFAULT_QUALITY, device.type, bf16), device.type)
    frame_s: list[float] = []
    eta_after: list[float | None] = []
    painted = 0
    prev_src: np.ndarray | None = None
    prev_out: Image.Image | None = None
    first = max(0, plan.done - 1)  # the last finished frame is needed as the start of the next
    for i, src in enumerate(vio.decode(plan.info, plan.indices[first:], plan.hw), start=first):
        src_np = np.asarray(src)
        if i < plan.done:
            prev_src, prev_out = src_np, plan.work.read(i)
            continue
        run_params = params if i == 0 or not settings.temporal else later_params
        options: dict[str, object] = {}
        if i > 0 and settings.temporal:
            assert prev_src is not None and prev_out is not None
            options = _temporal_start(src_np, prev_src, prev_out, settings)
        clock.start_frame()

        def progress(p: Progress, i: int = i) -> None:
            if on_progress is None or p.phase != "optimise":
                return
            on_progress(VideoProgress(i, plan.frames, p.step, p.total, time.perf_counter() - clock.t0,
                                      clock.eta(i, p.step, p.total), p.preview))

        result = stylize(src, style_arg, run_params, weights, progress, cancel, style_weights=style_weights,
                         **options)  # type: ignore[arg-type]
        if result.cancelled:
            return VideoResult(None, plan.frames, painted, plan.done, True, time.perf_counter() - clock.t0,
                               tuple(frame_s), tuple(eta_after))
        plan.work.write(i, result.image)
        painted += 1
        frame_s.append(clock.finish_frame(i))
        clock.start_frame()
        eta_after.append(clock.eta(i + 1, 0, 1) if i + 1 < plan.frames else 0.0)
        prev_src, prev_out = src_np, result.image
    t0 = clock.t0
    if on_progress is not None:
        on_progress(VideoProgress(plan.frames - 1, plan.frames, 0, 0, time.perf_counter() - t0, None,
                                  phase="assemble"))
    output = assemble(plan)
    return VideoResult(output, plan.frames, painted, plan.done, False, time.perf_counter() - t0,
                       tuple(frame_s), tuple(eta_after))


def _temporal_start(src: np.ndarray, prev_src: np.ndarray, prev_out: Image.Image,
                    settings: VideoSettings) -> dict[str, object]:
    """stylize()'s ``resume`` (the previous painted frame warped onto this one) and ``extra_loss``
    (the temporal loss over the reliable pixels) for a later frame."""
    backward = fl.dis_flow(src, prev_src)
    forward = fl.dis_flow(prev_src, src)
    mask = fl.reliable(forward, backward)
    warped = Image.fromarray(fl.warp(np.asarray(prev_out), backward))
    target = color.luminance_image(warped) if settings.params.preserve_colors == "luminance" else warped
    loss = TemporalLoss(pil_to_tensor(target), torch.from_numpy(mask)[None, None], settings.temporal_weight)
    return {"resume": Resume(image=warped), "extra_loss": loss}


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
