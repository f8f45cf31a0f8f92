"""A video render on a Ray cluster (``nst-desktop-cli video --ray``; optional: the [farm] extra; no Qt).

A frame is painted from the one before it (:mod:`nst_desktop.engine.video.paint`), so one render is a
chain; a cluster cuts the range into chunks and paints them at the same time, one Ray task per
chunk (:func:`paint_frames`, a pure function of the clip's bytes, the paintings' bytes and the
settings, returning the painted frames as PNG bytes). Every chunk starts from its first frame's
result:

- if the previous chunk is already painted (it finished before this one was sent, or in an
  earlier run), the chunk continues from that chunk's painted frame just before its own first
  frame, as one long render would: no seam at all;
- else it paints :data:`~nst_desktop.engine.video.settings.CHUNK_OVERLAP` frames of the previous
  chunk first, starting there with the whole budget like a render's first frame, and the
  overlapping frames are cross-faded (see :func:`frame_sources` for why).

The driver (this process) sends the clip and the paintings once (``ray.put``). A chunk's task is a
Ray generator (:func:`paint_frames`): each frame comes back as soon as it is painted and is written
at once into the chunk's ``chunk_NNN/`` folder of the render's work folder, so a stop (Ctrl+C) or
a dead worker loses only the frames being painted. The chunk's start (``chunk.json``) is recorded
before its frames and ``done.json`` after the last; a rerun of a stopped or killed render goes on
from each chunk's last kept frame, as one long render would (the chunks' layout is part of the
work folder's key, so with the default ``chunk_frames`` a cluster of another size starts anew). A
chunk whose worker dies goes on from its last kept frame on another worker, once; a chunk that
fails twice or whose inputs are bad fails the render (its kept frames stay for the next run).
Then the final frames and the output are written as a local render does
(:func:`nst_desktop.engine.video.paint.assemble`: frame rate and audio kept, written under a temporary
name and renamed).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
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
#: The file a chunk's folder gets before its first frame: where the chunk starts (``{"first": n}``).
CHUNK_FILE = "chunk.json"


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


def paint_frames(clip: bytes, suffix: str, settings: VideoSettings, hw: tuple[int, int], first: int, stop: int,
                 start_frame: bytes | None, style_weights: list[float] | None,
                 *styles: bytes) -> Iterator[dict[str, Any]]:
    """What one Ray task runs (a generator): the clip's frames ``first`` to ``stop`` (indices in the
    whole clip) painted at ``hw`` = (height, width) in the style of ``styles`` (the paintings' file
    bytes; arguments of their own, so that Ray hands each task the bytes of its ``ray.put``).
    ``start_frame``: the painted frame ``first - 1`` as PNG bytes, to go on from (None: frame
    ``first`` is painted on its own with the whole budget); ``suffix``: the clip's file extension.

    Yields ``{"ok": True, "png": bytes, "frame_s": s, "eta_after": s, "host": name, "pid": n}`` for
    each frame in order as soon as it is painted (``eta_after``: the task's ETA then), or one
    ``{"ok": False, "message": line}`` for bad inputs. Any other exception propagates (the driver
    goes on from the last frame it got)."""
    import numpy as np

    from nst_desktop.engine import load_weights
    from nst_desktop.engine.image import decode_image
    from nst_desktop.engine.video import io as vio
    from nst_desktop.engine.video import paint as V
    from nst_desktop.services.batch_run import encode_png

    fd, name = tempfile.mkstemp(suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(clip)
        try:
            info = vio.probe(name)
            paintings = [decode_image(s, f"painting {k + 1}") for k, s in enumerate(styles)]
            painter = V.FramePainter(settings, hw, paintings, load_weights(settings.params.weights), style_weights)
            prev_image = None if start_frame is None else decode_image(start_frame, "the previous frame")
        except (EngineError, ValueError) as exc:
            yield {"ok": False, "message": _first_line(exc)}
            return
        lead = 0 if prev_image is None else 1  # frame first-1: decoded for the flow only
        # The clock counts a task that goes on from a painted frame as a render's later frames.
        clock = V.FrameClock(stop - first + lead, settings.every_frame_steps, settings.temporal, hw)
        prev = None
        clock.start_frame()
        for i, src in enumerate(vio.decode(info, range(first - lead, stop), hw)):
            if i < lead:
                prev = (np.asarray(src), prev_image)
                continue
            result = painter.paint(src, prev, clock.on_step)
            frame_s = clock.finish_frame(i)
            clock.start_frame()
            yield {"ok": True, "png": encode_png(result.image), "frame_s": frame_s,
                   "eta_after": clock.eta(i + 1) if i + 1 < clock.frames else 0.0,
                   "host": socket.gethostname(), "pid": os.getpid()}
            prev = (np.asarray(src), result.image)
    finally:
        Path(name).unlink(missing_ok=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@dataclass(frozen=True)
class FrameDone:
    """A frame back from the cluster and kept: range index ``index`` of ``chunk``, painted by
    process ``pid`` on ``host``."""

    chunk: Chunk
    index: int
    host: str
    pid: int


class RenderStopped(KeyboardInterrupt):
    """A Ray render stopped by Ctrl+C: ``kept`` of the range's ``frames`` frames are painted and kept
    in ``folder`` (the same command goes on from them)."""

    def __init__(self, kept: int, frames: int, folder: Path) -> None:
        super().__init__(f"{kept} of {frames} frames kept in {folder}")
        self.kept, self.frames, self.folder = kept, frames, folder


def kept_frames(bounds: Sequence[tuple[int, int]], folders: Sequence[Any]) -> int:
    """Frames of the range whose picture is kept in the chunk folders (each chunk's own frames,
    ``start`` to ``stop``; the overlap frames a chunk paints of the previous one are not counted)."""
    return sum(folder.frame_path(i).is_file() for (start, stop), folder in zip(bounds, folders)
               for i in range(start, stop))


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


@dataclass
class _Task:
    """A chunk being painted in this run: its next frame (range index), the run's retries of it and
    what this run measured (``t0``: ``time.perf_counter()`` when it was sent)."""

    chunk: Chunk
    next: int
    t0: float
    retries: int = 0
    host: str = ""
    frame_s: list[float] = dataclasses.field(default_factory=list)
    eta_after: list[float | None] = dataclasses.field(default_factory=list)


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
    on_frame: Callable[[FrameDone], None] | None = None,
) -> RayVideoResult:
    """Render ``source``'s range to ``out`` on the Ray cluster at ``address`` (see
    :func:`nst_desktop.services.farm.connect`) in chunks of about ``chunk_frames`` frames (0: one
    chunk per CPU of the cluster); see the module docstring. ``on_frame(done)`` is called as each
    frame comes back and is kept, ``on_chunk(done, chunks)`` as each chunk is complete (with all its
    pictures). ``parallel``: most chunks painted at once (0: one per CPU of the cluster; a chunk
    sent after the previous one is complete goes on from it). Raises FarmUnavailable (Ray missing
    or unreachable), VideoError / ValueError (bad inputs, a chunk that failed; one line),
    :class:`RenderStopped` (a KeyboardInterrupt: Ctrl+C, with the frames kept)."""
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
    done: dict[int, Chunk] = {}  # chunks whose frames are all in their folders
    begun: dict[int, Chunk] = {}  # chunks with a recorded start (and perhaps some frames)
    for k, folder in enumerate(folders):
        for name, into in ((DONE_FILE, done), (CHUNK_FILE, begun)):
            record = _read_record(folder.path / name)
            if record is not None and k not in done:
                into[k] = Chunk(k, *bounds[k], record["first"])

    remote = ray.remote(num_cpus=TASK_CPUS, max_retries=0)(paint_frames)  # a dead worker: see below
    clip_ref = ray.put(source.read_bytes())
    style_refs = [ray.put(p.read_bytes()) for p in styles]
    weights_list = None if style_weights is None else [float(w) for w in style_weights]
    todo = [k for k in range(len(bounds)) if k not in done]

    pending: dict[Any, _Task] = {}
    painted = 0

    def send(task: _Task) -> None:
        """Paint ``task.chunk`` from its frame ``task.next`` on, going on from the frame before it
        where there is one (this chunk's, or the previous chunk's for a chunk that continues it)."""
        chunk, k = task.chunk, task.chunk.index
        start_png = None
        if settings.temporal and task.next > chunk.first:
            start_png = folders[k].frame_path(task.next - 1).read_bytes()
        elif settings.temporal and k > 0 and chunk.overlap == 0:
            start_png = folders[k - 1].frame_path(chunk.start - 1).read_bytes()
        gen = remote.remote(clip_ref, source.suffix, plan.settings, plan.hw, plan.indices[task.next],
                            plan.indices[chunk.stop - 1] + 1, start_png, weights_list, *style_refs)
        pending[gen] = task

    def begin(k: int) -> None:
        start, stop = bounds[k]
        chunk = begun.get(k)
        if chunk is None:
            continues = k == 0 or (k - 1 in done and settings.temporal)  # go on from the previous chunk's frame
            chunk = Chunk(k, start, stop, start if continues else start - overlap)
            folders[k].path.mkdir(parents=True, exist_ok=True)
            write_text_atomic(folders[k].path / CHUNK_FILE, json.dumps({"first": chunk.first}))
        kept = chunk.first
        while kept < chunk.stop and folders[k].frame_path(kept).is_file():
            kept += 1
        send(_Task(chunk, kept, time.perf_counter()))

    def complete(task: _Task) -> None:
        nonlocal painted
        chunk, folder = task.chunk, folders[task.chunk.index]
        if task.next != chunk.stop:
            raise VideoError(f"chunk {chunk.index + 1} ({chunk.label()}) ended after frame {task.next} on the cluster")
        write_text_atomic(folder.path / DONE_FILE, json.dumps({"first": chunk.first, "stop": chunk.stop}))
        done[chunk.index] = chunk
        painted += 1
        if on_chunk is not None:
            pictures = [folder.read(i) for i in range(chunk.first, chunk.stop)]
            on_chunk(ChunkDone(chunk, pictures, time.perf_counter() - task.t0, task.host, tuple(task.frame_s),
                               tuple(task.eta_after)), len(bounds))

    try:
        while todo or pending:
            while todo and len(pending) < slots:
                begin(todo.pop(0))
            ready, _ = ray.wait(list(pending), num_returns=1)
            for gen in ready:
                task = pending[gen]
                chunk = task.chunk
                try:
                    ref = next(gen)
                except StopIteration:
                    del pending[gen]
                    complete(task)
                    continue
                try:
                    answer = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - RayTaskError, WorkerCrashedError, ...
                    del pending[gen]
                    if task.retries < TASK_RETRIES:  # go on from the last frame kept, on any worker
                        task.retries += 1
                        send(task)
                        continue
                    raise VideoError(f"chunk {chunk.index + 1} ({chunk.label()}) failed on the cluster twice "
                                     f"({_last_line(exc)})") from None
                if not answer["ok"]:
                    raise VideoError(answer["message"])
                folders[chunk.index].write(task.next, decode_image(answer["png"], f"frame {task.next + 1}"))
                task.host = answer["host"]
                task.frame_s.append(answer["frame_s"])
                task.eta_after.append(answer["eta_after"])
                task.next += 1
                if on_frame is not None:
                    on_frame(FrameDone(chunk, task.next - 1, answer["host"], answer["pid"]))
    except KeyboardInterrupt:
        raise RenderStopped(kept_frames(bounds, folders), plan.frames, plan.work.path) from None
    finally:
        for gen in pending:  # interrupted or failed: the cluster stops the rest
            ray.cancel(gen)

    chunks = [done[k] for k in range(len(bounds))]
    for i, parts in enumerate(frame_sources(chunks, plan.frames)):
        plan.work.write(i, blend([(folders[k].read(i), w) for k, w in parts]))
    for folder in folders:  # every final frame is written: the chunks' copies are not needed
        shutil.rmtree(folder.path, ignore_errors=True)
    output = V.assemble(plan)
    return RayVideoResult(output, plan.frames, tuple(chunks), painted, time.perf_counter() - t0)


def _read_record(path: Path) -> dict[str, Any] | None:
    """A chunk's ``chunk.json`` / ``done.json`` (None: absent or unreadable, so the chunk is painted anew)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("first"), int) else None


def _last_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[-1] if text else type(exc).__name__
