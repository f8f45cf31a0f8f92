"""A video render on a Ray cluster (``nst-desktop-cli video --ray``; optional: the [farm] extra; no Qt).

A frame is painted from the one before it (:mod:`nst_desktop.engine.video.paint`), so one render is a
chain; a cluster cuts the range into chunks and paints them at the same time, one Ray task per
chunk (:func:`paint_chunk`, a pure function of the clip's bytes, the paintings' bytes and the
settings, returning the painted frames as PNG bytes). Every chunk starts from its first frame's
result:

- if the previous chunk is already painted (it finished before this one was sent, or in an
  earlier run), the chunk continues from that chunk's painted frame just before its own first
  frame, as one long render would: no seam at all;
- else it paints :data:`~nst_desktop.engine.video.settings.CHUNK_OVERLAP` frames of the previous
  chunk first, starting there with the whole budget like a render's first frame, and the
  overlapping frames are cross-faded (see :func:`frame_sources` for why).

The driver (this process) sends the clip and the paintings once (``ray.put``), keeps each chunk's
frames as they come back in ``chunk_NNN/`` folders of the render's work folder (a chunk's
``done.json`` is written after its frames: a rerun of a stopped or killed render sends only the
chunks not done; the chunks' layout is part of the work folder's key, so with the default
``chunk_frames`` a cluster of another size starts anew), then writes the final frames and the
output as a local render does (:func:`nst_desktop.engine.video.paint.assemble`: frame rate and audio
kept, written under a temporary name and renamed). A chunk whose worker dies is retried once by
Ray; a chunk that fails twice or whose inputs are bad fails the render (its finished chunks stay
for the next run).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from nst_desktop.engine import EngineError
from nst_desktop.engine.video import CHUNK_OVERLAP, MIN_CHUNK_FRAMES, VideoSettings
from nst_desktop.services.farm import TASK_CPUS, TASK_RETRIES, connect
from nst_desktop.services.paths import write_text_atomic

#: The file a chunk's folder gets once all its frames are in it.
DONE_FILE = "done.json"


@dataclass(frozen=True)
class Chunk:
    """One chunk of a range of ``frames`` (indices in the range, 0 = its first frame): it owns
    frames ``start`` to ``stop`` (exclusive) and paints from ``first`` (``start - overlap`` when
    it starts on its own after another chunk, else ``start``)."""

    index: int
    start: int
    stop: int
    first: int

    @property
    def overlap(self) -> int:
        """Frames of the previous chunk this one paints too (0: it continues that chunk's frames)."""
        return self.start - self.first

    def label(self) -> str:
        """'frames 13-24' (1-based, as a player counts them)."""
        return f"frames {self.start + 1}-{self.stop}"


def chunk_bounds(frames: int, chunk_frames: int) -> list[tuple[int, int]]:
    """The range's ``frames`` cut into ``frames // chunk_frames`` (at least 1) chunks of equal
    length to within a frame: their ``(start, stop)``. ``chunk_frames`` >= MIN_CHUNK_FRAMES."""
    if chunk_frames < MIN_CHUNK_FRAMES:
        raise ValueError(f"chunks must have at least {MIN_CHUNK_FRAMES} frames, not {chunk_frames}")
    n = max(1, frames // chunk_frames)
    edges = [k * frames // n for k in range(n + 1)]
    return list(zip(edges[:-1], edges[1:]))


def auto_chunk_frames(frames: int, slots: int) -> int:
    """Frames per chunk that give each of ``slots`` parallel tasks one chunk (at least MIN_CHUNK_FRAMES)."""
    return max(MIN_CHUNK_FRAMES, frames // max(1, slots))


def frame_sources(chunks: Sequence[Chunk], frames: int) -> list[tuple[tuple[int, float], ...]]:
    """For each frame of the range, the chunks its final picture is made of: ``((chunk, weight),
    ...)``, weights summing to 1, in frame order; every frame is made exactly once.

    Where a chunk started on its own (``overlap`` frames before its ``start``), the two chunks'
    pictures of those frames are cross-faded: the later chunk's weight rises ``1/(n+1), 2/(n+1),
    ..., n/(n+1)`` over the ``n`` overlap frames, then it is alone. Not "the later chunk wins":
    the two chunks found different strokes for the same frame, and switching at one frame shows
    that whole difference between two frames, as much flicker as frames painted independently;
    the cross-fade spreads it over n+1 frame changes (each carries 1/(n+1) of it), like a
    dissolve. The price is n frames that mix two sets of strokes (a little softer). The later
    chunk's own first frames, where it settles from its whole-budget start into the temporal
    frames, are also the ones that count least.
    """
    by_start = {c.start: c for c in chunks}
    out: list[tuple[tuple[int, float], ...]] = []
    for c in chunks:
        nxt = by_start.get(c.stop)
        for i in range(c.start, c.stop):
            if nxt is not None and nxt.overlap and i >= nxt.first:
                alpha = (i - nxt.first + 1) / (nxt.overlap + 1)
                out.append(((c.index, 1.0 - alpha), (nxt.index, alpha)))
            else:
                out.append(((c.index, 1.0),))
    if len(out) != frames:
        raise ValueError(f"the chunks make {len(out)} frames, not {frames}")
    return out


def blend(pictures: Sequence[tuple[Image.Image, float]]) -> Image.Image:
    """The weighted mean of one or two RGB pictures of the same size (weights summing to 1), rounded."""
    import numpy as np

    if len(pictures) == 1:
        return pictures[0][0]
    mix = sum(np.asarray(p, dtype=np.float32) * w for p, w in pictures)
    return Image.fromarray(np.clip(np.rint(mix), 0, 255).astype(np.uint8))


def paint_chunk(clip: bytes, suffix: str, settings: VideoSettings, hw: tuple[int, int], first: int, stop: int,
                start_frame: bytes | None, style_weights: list[float] | None, *styles: bytes) -> dict[str, Any]:
    """What one Ray task runs: the clip's frames ``first`` to ``stop`` (indices in the whole clip)
    painted at ``hw`` = (height, width) in the style of ``styles`` (the paintings' file bytes;
    arguments of their own, so that Ray hands each task the bytes of its ``ray.put``).
    ``start_frame``: the painted frame ``first - 1`` as PNG bytes, to go on from (None: frame
    ``first`` is painted on its own with the whole budget); ``suffix``: the clip's file extension.

    Returns ``{"ok": True, "frames": [PNG bytes, ...], "frame_s": [s, ...], "eta_after": [s, ...],
    "seconds": s, "host": name}`` (``eta_after``: the chunk's ETA as each frame finished), or
    ``{"ok": False, "message": line}`` for bad inputs (not retried). Any other exception
    propagates, so that Ray retries the task."""
    import numpy as np

    from nst_desktop.engine import load_weights
    from nst_desktop.engine.image import decode_image
    from nst_desktop.engine.video import io as vio
    from nst_desktop.engine.video import paint as V
    from nst_desktop.services.batch_run import encode_png

    t0 = time.perf_counter()
    fd, name = tempfile.mkstemp(suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(clip)
        info = vio.probe(name)
        paintings = [decode_image(s, f"painting {k + 1}") for k, s in enumerate(styles)]
        painter = V.FramePainter(settings, hw, paintings, load_weights(settings.params.weights), style_weights)
        prev_image = None if start_frame is None else decode_image(start_frame, "the previous chunk's frame")
        lead = 0 if prev_image is None else 1  # frame first-1: decoded for the flow only
        # The clock counts a chunk that goes on from a painted frame as a render's later frames.
        clock = V.FrameClock(stop - first + lead, settings.every_frame_steps, settings.temporal, hw)
        frames: list[bytes] = []
        frame_s: list[float] = []
        eta_after: list[float | None] = []
        prev = None
        clock.start_frame()
        for i, src in enumerate(vio.decode(info, range(first - lead, stop), hw)):
            if i < lead:
                prev = (np.asarray(src), prev_image)
                continue
            result = painter.paint(src, prev, clock.on_step)
            frames.append(encode_png(result.image))
            frame_s.append(clock.finish_frame(i))
            clock.start_frame()
            eta_after.append(clock.eta(i + 1) if i + 1 < clock.frames else 0.0)
            prev = (np.asarray(src), result.image)
    except (EngineError, ValueError) as exc:
        return {"ok": False, "message": str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}
    finally:
        Path(name).unlink(missing_ok=True)
    return {"ok": True, "frames": frames, "frame_s": frame_s, "eta_after": eta_after,
            "seconds": time.perf_counter() - t0, "host": socket.gethostname()}


@dataclass(frozen=True)
class ChunkDone:
    """A chunk back from the cluster: its painted frames (from ``chunk.first``), the task's
    seconds and host, each frame's seconds and the chunk's ETA as each frame finished."""

    chunk: Chunk
    frames: list[Image.Image]
    seconds: float
    host: str
    frame_s: tuple[float, ...] = ()
    eta_after: tuple[float | None, ...] = ()


@dataclass(frozen=True)
class RayVideoResult:
    """A finished render: ``output`` written; ``chunks`` the layout; ``painted`` chunks painted in
    this run (the others were done already); ``elapsed_s`` wall time of this run."""

    output: Path
    frames: int
    chunks: tuple[Chunk, ...]
    painted: int
    elapsed_s: float


def render_ray(
    source: Path,
    styles: Sequence[Path],
    out: Path,
    settings: VideoSettings,
    address: str,
    chunk_frames: int = 0,
    style_weights: Sequence[float] | None = None,
    on_chunk: Callable[[ChunkDone, int], None] | None = None,
    parallel: int = 0,
) -> RayVideoResult:
    """Render ``source``'s range to ``out`` on the Ray cluster at ``address`` (see
    :func:`nst_desktop.services.farm.connect`) in chunks of about ``chunk_frames`` frames (0: one
    chunk per CPU of the cluster); see the module docstring. ``on_chunk(done, chunks)`` is called
    as each chunk comes back (with its pictures). ``parallel``: most chunks sent at once (0: one
    per CPU of the cluster; a chunk sent after the previous one is back goes on from it). Raises
    FarmUnavailable (Ray missing or unreachable), VideoError / ValueError (bad inputs, a chunk that
    failed; one line)."""
    from nst_desktop.engine.image import decode_image
    from nst_desktop.engine.video import VideoError, WorkFolder
    from nst_desktop.engine.video import io as vio
    from nst_desktop.engine.video import paint as V

    t0 = time.perf_counter()
    settings = settings.fixed()
    settings.validate()
    V.output_kind(out)  # the clip and the output's type checked before Ray starts (it takes seconds)
    frames = len(vio.probe(source).frames_in(settings.start_s, settings.end_s))
    ray = connect(address)
    slots = parallel or max(1, int(ray.cluster_resources().get("CPU", 1)) // TASK_CPUS)
    per_chunk = chunk_frames or auto_chunk_frames(frames, slots)
    bounds = chunk_bounds(max(1, frames), per_chunk)
    overlap = CHUNK_OVERLAP if settings.temporal else 0
    plan = V.plan_video(source, list(styles), out, settings, style_weights=style_weights,
                        key_extra={"ray_chunks": bounds, "overlap": overlap})
    plan.work.create({"source": str(plan.info.path), "frames": plan.frames, "hw": plan.hw,
                      "settings": dataclasses.asdict(plan.settings), "chunks": bounds, "overlap": overlap})
    folders = [WorkFolder(plan.work.path / f"chunk_{k:03d}") for k in range(len(bounds))]

    if plan.done == plan.frames:  # every final frame was written by a run stopped before the output
        return RayVideoResult(V.assemble(plan), plan.frames, (), 0, time.perf_counter() - t0)
    done: dict[int, Chunk] = {}  # chunks whose frames are in their folders
    for k, folder in enumerate(folders):
        marker = folder.path / DONE_FILE
        if marker.is_file():
            done[k] = Chunk(k, *bounds[k], json.loads(marker.read_text(encoding="utf-8"))["first"])

    remote = ray.remote(num_cpus=TASK_CPUS, max_retries=TASK_RETRIES, retry_exceptions=True)(paint_chunk)
    clip_ref = ray.put(source.read_bytes())
    style_refs = [ray.put(p.read_bytes()) for p in styles]
    weights_list = None if style_weights is None else [float(w) for w in style_weights]
    todo = [k for k in range(len(bounds)) if k not in done]
    pending: dict[Any, Chunk] = {}
    painted = 0

    def submit(k: int) -> None:
        start, stop = bounds[k]
        start_png = None
        if k == 0:
            chunk = Chunk(k, start, stop, start)
        elif k - 1 in done and settings.temporal:  # go on from the previous chunk's frame
            chunk = Chunk(k, start, stop, start)
            start_png = folders[k - 1].frame_path(start - 1).read_bytes()
        else:
            chunk = Chunk(k, start, stop, start - overlap)
        task = remote.remote(clip_ref, source.suffix, plan.settings, plan.hw, plan.indices[chunk.first],
                             plan.indices[chunk.stop - 1] + 1, start_png, weights_list, *style_refs)
        pending[task] = chunk

    try:
        while todo or pending:
            while todo and len(pending) < slots:
                submit(todo.pop(0))
            ready, _ = ray.wait(list(pending), num_returns=1)
            for task in ready:
                chunk = pending.pop(task)
                try:
                    answer = ray.get(task)
                except Exception as exc:  # noqa: BLE001 - failed twice: RayTaskError, WorkerCrashedError
                    why = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
                    raise VideoError(f"chunk {chunk.index + 1} ({chunk.label()}) failed on the cluster twice "
                                     f"({why})") from None
                if not answer["ok"]:
                    raise VideoError(answer["message"])
                pictures = [decode_image(b, f"frame {chunk.first + n + 1}") for n, b in enumerate(answer["frames"])]
                folder = folders[chunk.index]
                folder.path.mkdir(parents=True, exist_ok=True)
                for n, picture in enumerate(pictures):
                    folder.write(chunk.first + n, picture)
                write_text_atomic(folder.path / DONE_FILE, json.dumps({"first": chunk.first, "stop": chunk.stop}))
                done[chunk.index] = chunk
                painted += 1
                if on_chunk is not None:
                    on_chunk(ChunkDone(chunk, pictures, answer["seconds"], answer["host"], tuple(answer["frame_s"]),
                                       tuple(answer["eta_after"])), len(bounds))
    finally:
        for task in pending:  # interrupted or failed: the cluster stops the rest
            ray.cancel(task)

    chunks = [done[k] for k in range(len(bounds))]
    for i, parts in enumerate(frame_sources(chunks, plan.frames)):
        plan.work.write(i, blend([(folders[k].read(i), w) for k, w in parts]))
    for folder in folders:  # every final frame is written: the chunks' copies are not needed
        shutil.rmtree(folder.path, ignore_errors=True)
    output = V.assemble(plan)
    return RayVideoResult(output, plan.frames, tuple(chunks), painted, time.perf_counter() - t0)
