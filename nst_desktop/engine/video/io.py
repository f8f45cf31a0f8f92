"""Video files in and out with PyAV (FFmpeg): probe and check a clip, decode its frames, encode
the painted frames as H.264 MP4 (frame rate and audio kept) or a PNG sequence.

Times are in seconds from the start of the file; frames are RGB Pillow images; a frame's
index counts from 0 at the first frame of the chosen range. The checks (:func:`probe`,
:func:`check_disk`) run before any work, so that a bad input fails in one line at once.
"""

from __future__ import annotations

import math
import os
import shutil
import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

from nst_desktop.engine.video.deps import VideoError, import_av

#: Largest source frame accepted (8K UHD, 7680 x 4320): bigger frames are refused before work.
MAX_SOURCE_PIXELS = 7680 * 4320
#: Frame intervals may differ from their median by this fraction (timestamp rounding) and the
#: clip still counts as constant frame rate.
VFR_TOLERANCE = 0.1
#: Disk space kept free beyond the frames' estimate (bytes).
DISK_MARGIN = 256 * 2**20
#: A painted frame as PNG takes at most about its raw RGB size (painted textures compress little).
BYTES_PER_PIXEL = 3
#: The audio of an MP4 output: AAC at this bit rate (the source's audio is re-encoded, cut to the range).
AUDIO_BIT_RATE = 192_000
#: x264's constant rate factor for the MP4 output (18: visually lossless).
H264_CRF = "18"


@dataclass(frozen=True)
class VideoInfo:
    """What a clip is. ``fps``: frames per second (exact, e.g. 30000/1001); ``frames``: the number
    of video frames; ``duration_s``: ``frames / fps``; ``audio``: it has an audio stream."""

    path: Path
    width: int
    height: int
    fps: Fraction
    frames: int
    duration_s: float
    audio: bool
    codec: str

    def frames_in(self, start_s: float, end_s: float | None) -> range:
        """Indices (in the whole clip) of the frames shown from ``start_s`` to ``end_s`` (None: the end)."""
        first = max(0, math.ceil(start_s * self.fps - 1e-6))
        last = self.frames if end_s is None else min(self.frames, math.ceil(end_s * self.fps - 1e-6))
        return range(first, max(first, last))


def _open(path: Path):  # noqa: ANN202 - av's container type, imported lazily
    av = import_av()
    if not path.is_file():
        raise VideoError(f"'{path}': no such file")
    try:
        return av.open(str(path), "r")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise VideoError(f"'{path}': cannot be read as a video ({_reason(exc)})") from None


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(":")[0].strip() if text else type(exc).__name__


def probe(path: str | os.PathLike[str], max_pixels: int = MAX_SOURCE_PIXELS) -> VideoInfo:
    """Read and check a clip: it opens, has a video stream, a constant frame rate and frames of
    at most ``max_pixels``. Raises :class:`VideoError` naming the file and what is wrong.

    The frame rate and count come from the video packets' timestamps (read without decoding).
    """
    path = Path(path)
    av = import_av()
    with _open(path) as container:
        if not container.streams.video:
            raise VideoError(f"'{path}': has no video stream")
        stream = container.streams.video[0]
        w, h = stream.codec_context.width, stream.codec_context.height
        if not w or not h:
            raise VideoError(f"'{path}': the video stream has no frame size")
        if w * h > max_pixels:
            raise VideoError(f"'{path}': frames of {w}x{h} are too large (at most {max_pixels / 1e6:.0f} "
                             "megapixels); scale the clip down first")
        try:
            pts = sorted(p.pts for p in container.demux(stream) if p.pts is not None and p.size)
        except av.error.FFmpegError as exc:
            raise VideoError(f"'{path}': cannot be read as a video ({_reason(exc)})") from None
        audio = bool(container.streams.audio)
        codec = stream.codec_context.name
        tb = stream.time_base
        declared = stream.guessed_rate or stream.average_rate  # read while open: the stream dies with it
    if len(pts) < 1:
        raise VideoError(f"'{path}': the video stream has no frames")
    fps = _frame_rate(path, pts, tb, declared)
    return VideoInfo(path, w, h, fps, len(pts), float(len(pts) / fps), audio, codec)


def _frame_rate(path: Path, pts: list[int], time_base: Fraction, guessed: Fraction | None) -> Fraction:
    """The constant frame rate the timestamps show; :class:`VideoError` if it varies."""
    if len(pts) < 2:
        raise VideoError(f"'{path}': has a single frame: a still image, not a video")
    gaps = [b - a for a, b in zip(pts, pts[1:], strict=False)]
    median = statistics.median(gaps)
    if median <= 0:
        raise VideoError(f"'{path}': frames carry repeated timestamps; the frame rate cannot be read")
    worst = max(abs(g - median) for g in gaps)
    if worst > VFR_TOLERANCE * median:
        lo, hi = float(min(gaps) * time_base * 1000), float(max(gaps) * time_base * 1000)
        raise VideoError(f"'{path}': variable frame rate (frames {lo:.0f} to {hi:.0f} ms apart); convert it to "
                         "a constant rate first, e.g. ffmpeg -i IN -fps_mode cfr -r 24 OUT.mp4")
    measured = 1 / (Fraction(median) * time_base)
    if guessed and abs(float(guessed) - float(measured)) <= VFR_TOLERANCE * float(measured):
        return Fraction(guessed)  # the exact rate the file declares (e.g. 30000/1001)
    return measured.limit_denominator(1001)


def frames_needed_bytes(frames: int, hw: tuple[int, int]) -> int:
    """Disk space the painted frames of ``hw`` = (height, width) px take (an upper estimate)."""
    return frames * hw[0] * hw[1] * BYTES_PER_PIXEL


def check_disk(folder: Path, need_bytes: int, what: str) -> None:
    """:class:`VideoError` if ``folder``'s file system has less than ``need_bytes`` (+ a margin) free."""
    probe_at = folder
    while not probe_at.exists() and probe_at != probe_at.parent:
        probe_at = probe_at.parent
    free = shutil.disk_usage(probe_at).free
    if need_bytes + DISK_MARGIN > free:
        raise VideoError(f"{what} need about {_gb(need_bytes + DISK_MARGIN)} in '{folder}' but only {_gb(free)} "
                         "are free; choose a shorter range (--start/--end), a smaller --size or another folder")


def _gb(n: int) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"


def decode(info: VideoInfo, indices: range, hw: tuple[int, int]) -> Iterator[Image.Image]:
    """The frames ``indices`` (of the whole clip, see :meth:`VideoInfo.frames_in`) in order, as RGB
    images resized to ``hw`` = (height, width) (Lanczos). Raises :class:`VideoError` if the file
    ends early or cannot be decoded."""
    av = import_av()
    wanted = iter(indices)
    nxt = next(wanted, None)
    if nxt is None:
        return
    with _open(info.path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        i = -1
        try:
            for frame in container.decode(stream):
                i += 1
                if i < nxt:
                    continue
                img = frame.to_image()
                if (img.height, img.width) != hw:
                    img = img.resize((hw[1], hw[0]), Image.Resampling.LANCZOS)
                yield img
                nxt = next(wanted, None)
                if nxt is None:
                    return
        except av.error.FFmpegError as exc:
            raise VideoError(f"'{info.path}': frame {i + 1} cannot be decoded ({_reason(exc)})") from None
    raise VideoError(f"'{info.path}': ends after {i + 1} frames, before frame {nxt}")


def frame_at(info: VideoInfo, index: int, hw: tuple[int, int]) -> Image.Image:
    """Frame ``index`` of the clip (0-based, in the whole clip) resized to ``hw``: a seek to the
    key frame before it, then decoding forward (for a scrubber; :func:`decode` for whole ranges)."""
    av = import_av()
    if not 0 <= index < info.frames:
        raise VideoError(f"'{info.path}': has no frame {index + 1} (it has {info.frames})")
    with _open(info.path) as container:
        stream = container.streams.video[0]
        tb, start = stream.time_base, stream.start_time or 0
        target = start + round(index / info.fps / tb)
        try:
            container.seek(target, stream=stream, backward=True, any_frame=False)
            last = None
            for frame in container.decode(stream):
                if frame.pts is not None and frame.pts > target and last is not None:
                    break
                last = frame
                if frame.pts is not None and frame.pts >= target:
                    break
        except av.error.FFmpegError as exc:
            raise VideoError(f"'{info.path}': frame {index + 1} cannot be decoded ({_reason(exc)})") from None
        if last is None:
            raise VideoError(f"'{info.path}': frame {index + 1} cannot be decoded")
        img = last.to_image()
    return img if (img.height, img.width) == hw else img.resize((hw[1], hw[0]), Image.Resampling.LANCZOS)


def _audio_params(info: VideoInfo) -> tuple[int, str] | None:
    """The source's audio sample rate and channel layout name (None: no audio stream)."""
    with _open(info.path) as container:
        if not container.streams.audio:
            return None
        ctx = container.streams.audio[0].codec_context
        return ctx.sample_rate, ctx.layout.name


def _audio_blocks(info: VideoInfo, start_s: float, end_s: float) -> Iterator[np.ndarray]:
    """The source's audio from ``start_s`` to ``end_s`` as planar float32 blocks ``(channels, n)``
    at its own sample rate, sample-exact at both ends."""
    av = import_av()
    with _open(info.path) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        to_planar = av.AudioResampler(format="fltp", layout=stream.codec_context.layout.name, rate=rate)
        first, last = round(start_s * rate), round(end_s * rate)
        pos: int | None = None
        try:
            for frame in container.decode(stream):
                for f in to_planar.resample(frame):
                    if pos is None:
                        pos = round(float(f.pts * f.time_base) * rate) if f.pts is not None else 0
                    data = f.to_ndarray()
                    lo, hi = max(first - pos, 0), min(last - pos, data.shape[1])
                    pos += data.shape[1]
                    if hi > lo:
                        yield np.ascontiguousarray(data[:, lo:hi])
                    if pos >= last:
                        return
        except av.error.FFmpegError as exc:
            raise VideoError(f"'{info.path}': its audio cannot be decoded ({_reason(exc)})") from None


class _AudioTrack:
    """The source's audio cut to a range, re-encoded as AAC into an output container, fed in
    step with the video (:meth:`until`) so that the muxer can interleave the two."""

    def __init__(self, container, info: VideoInfo, start_s: float, end_s: float) -> None:  # noqa: ANN001
        av = import_av()
        rate, layout = _audio_params(info) or (0, "")
        self.container, self.rate, self.layout = container, rate, layout
        self.stream = container.add_stream("aac", rate=rate, layout=layout)
        self.stream.bit_rate = AUDIO_BIT_RATE
        self.resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate, frame_size=1024)
        self.blocks = _audio_blocks(info, start_s, end_s)
        self.pos = 0  # samples fed so far

    def until(self, t_s: float | None) -> None:
        """Encode the audio up to ``t_s`` seconds of the output (None: all of it, and flush)."""
        av = import_av()
        while t_s is None or self.pos < t_s * self.rate:
            block = next(self.blocks, None)
            if block is None:
                break
            frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=self.layout)
            frame.sample_rate, frame.pts, frame.time_base = self.rate, self.pos, Fraction(1, self.rate)
            self.pos += block.shape[1]
            for f in self.resampler.resample(frame):
                self.container.mux(self.stream.encode(f))
        if t_s is None:
            for f in self.resampler.resample(None):
                self.container.mux(self.stream.encode(f))
            self.container.mux(self.stream.encode())


def encode_mp4(
    frames: Iterator[Image.Image], out: Path, fps: Fraction, audio_from: tuple[VideoInfo, float, float] | None,
    on_frame: Callable[[int], None] | None = None,
) -> int:
    """Write ``frames`` (all one size, even width and height) as H.264 (yuv420p) at ``fps`` to ``out``
    (an .mp4), with the audio of ``audio_from`` = (clip, start s, end s) re-encoded as AAC (none if
    the clip has none). Returns the number of frames written; ``on_frame(i)`` after each."""
    av = import_av()
    frames = iter(frames)
    first = next(frames, None)
    if first is None:
        raise VideoError(f"'{out}': no frames to write")
    n = 0
    with av.open(str(out), "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=fps, options={"crf": H264_CRF})
        video.pix_fmt = "yuv420p"
        video.width, video.height = first.width, first.height
        video.codec_context.time_base = 1 / fps
        audio = _AudioTrack(container, *audio_from) if audio_from is not None and audio_from[0].audio else None
        for img in _chain(first, frames):
            frame = av.VideoFrame.from_image(img.convert("RGB"))
            frame.pts, frame.time_base = n, 1 / fps
            container.mux(video.encode(frame))
            n += 1
            if audio is not None:
                audio.until(float(n / fps))
            if on_frame is not None:
                on_frame(n - 1)
        container.mux(video.encode())
        if audio is not None:
            audio.until(None)
    return n


def _chain(first: Image.Image, rest: Iterator[Image.Image]) -> Iterator[Image.Image]:
    yield first
    yield from rest


def encode_audio_only(info: VideoInfo, start_s: float, end_s: float, out: Path) -> bool:
    """The clip's audio from ``start_s`` to ``end_s`` as AAC in ``out`` (.m4a); False if it has none."""
    if not info.audio:
        return False
    av = import_av()
    with av.open(str(out), "w", format="mp4") as container:
        _AudioTrack(container, info, start_s, end_s).until(None)
    return True
