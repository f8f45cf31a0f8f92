"""Synthetic clips for the video tests (not a test module): a textured pattern that moves by a
known amount per frame, written with PyAV, with a sine tone as audio."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

#: Tone of the test clips' audio (Hz) and its sample rate.
TONE_HZ, SAMPLE_RATE = 440.0, 16000


def texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth random RGB texture, uint8, ``(h, w, 3)``: blurred noise stretched to 0-255."""
    import cv2

    rng = np.random.default_rng(seed)
    tex = cv2.GaussianBlur((rng.random((h, w, 3)) * 255).astype(np.uint8), (0, 0), 1.5)
    return cv2.normalize(tex, None, 0, 255, cv2.NORM_MINMAX)


def panning_frames(n: int, hw: tuple[int, int] = (32, 48), step: tuple[int, int] = (1, 1)) -> list[np.ndarray]:
    """``n`` frames of a window over a texture that moves by ``step`` = (dx, dy) px per frame
    (the picture moves right and down: frame t+1 at p shows frame t at p - step)."""
    h, w = hw
    dx, dy = step
    big = texture(h + abs(dy) * n + 2, w + abs(dx) * n + 2)
    x0, y0 = abs(dx) * n, abs(dy) * n
    return [np.ascontiguousarray(big[y0 - t * dy:y0 - t * dy + h, x0 - t * dx:x0 - t * dx + w]) for t in range(n)]


def write_clip(
    path: Path, frames: list[np.ndarray], fps: int = 12, audio: bool = True, pts: list[int] | None = None,
) -> Path:
    """``frames`` as H.264 at ``fps`` (or with the given timestamps ``pts`` in 1/fps units), with a
    tone as AAC audio as long as the frames if ``audio``."""
    import av

    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=Fraction(fps))
        v.width, v.height, v.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        v.codec_context.time_base = Fraction(1, fps)
        a = c.add_stream("aac", rate=SAMPLE_RATE, layout="mono") if audio else None  # before any packet
        for i, arr in enumerate(frames):
            f = av.VideoFrame.from_ndarray(arr, format="rgb24")
            f.pts = i if pts is None else pts[i]
            f.time_base = Fraction(1, fps)
            c.mux(v.encode(f))
        c.mux(v.encode())
        if a is not None:
            n = round(len(frames) / fps * SAMPLE_RATE)
            tone = (0.3 * np.sin(2 * np.pi * TONE_HZ * np.arange(n) / SAMPLE_RATE)).astype(np.float32)
            res = av.AudioResampler(format="fltp", layout="mono", rate=SAMPLE_RATE, frame_size=1024)
            frame = av.AudioFrame.from_ndarray(tone[None, :], format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = SAMPLE_RATE, 0, Fraction(1, SAMPLE_RATE)
            for rf in [*res.resample(frame), *res.resample(None)]:
                c.mux(a.encode(rf))
            c.mux(a.encode())
    return path


def audio_seconds(path: Path) -> float:
    """Length of ``path``'s decoded audio (s); 0 without an audio stream."""
    import av

    with av.open(str(path)) as c:
        if not c.streams.audio:
            return 0.0
        s = c.streams.audio[0]
        return sum(f.samples for f in c.decode(s)) / s.codec_context.sample_rate


def tone_strength(path: Path) -> float:
    """How much of the decoded audio's energy is the test tone (0-1): its share in the spectrum."""
    import av

    with av.open(str(path)) as c:
        s = c.streams.audio[0]
        rate = s.codec_context.sample_rate
        data = np.concatenate([f.to_ndarray().reshape(f.samples, -1).mean(-1) if f.format.is_packed
                               else f.to_ndarray().mean(0) for f in c.decode(s)])
    spec = np.abs(np.fft.rfft(data)) ** 2
    freqs = np.fft.rfftfreq(len(data), 1 / rate)
    band = np.abs(freqs - TONE_HZ) < 20
    return float(spec[band].sum() / spec.sum())
