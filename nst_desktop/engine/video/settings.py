"""The settings of a video render (no NumPy, PyAV or OpenCV needed: the command line and the
window read their defaults and limits from here before the video extras are known to exist)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from nst_desktop.engine.params import StyleParams
from nst_desktop.engine.video.deps import VideoError

#: Weight of the temporal loss (see :mod:`temporal`; the content and style losses are relative,
#: of order 1). On 12 frames of cat x night at 256 px (README, Video): W 50 gave 0.28x the warping
#: error of independent frames at +2.3 % style score; W 200 and 1000, 0.21x / 0.15x at +10 / +16 %.
DEFAULT_TEMPORAL_WEIGHT = 50.0
#: Steps of every frame after the first (at the final size only): 0.22x the CPU Balanced budget.
DEFAULT_EVERY_FRAME_STEPS = 16
MIN_TEMPORAL_WEIGHT, MAX_TEMPORAL_WEIGHT = 0.0, 1e6
MIN_EVERY_FRAME_STEPS, MAX_EVERY_FRAME_STEPS = 1, 10_000
#: What the two say to the user (the command line's --help and the video window's tooltips).
TEMPORAL_WEIGHT_HELP = (f"how strongly a frame keeps the previous one's strokes where the motion is known "
                        f"(default {DEFAULT_TEMPORAL_WEIGHT:g}; 0: none, more: less flicker but the first "
                        f"frame's strokes are kept longer)")
EVERY_FRAME_STEPS_HELP = (f"steps of each frame after the first, which gets the whole quality/steps budget "
                          f"(default {DEFAULT_EVERY_FRAME_STEPS})")
#: A render on a Ray cluster (``services/video_farm.py``): frames of overlap between chunks (a chunk
#: started on its own paints this many frames of the previous chunk, cross-faded into them).
CHUNK_OVERLAP = 4
#: Frames per chunk: 0 = the range split evenly over the cluster's CPUs; fewer than
#: MIN_CHUNK_FRAMES would make the overlap most of a chunk.
DEFAULT_CHUNK_FRAMES = 0
MIN_CHUNK_FRAMES, MAX_CHUNK_FRAMES = 2 * CHUNK_OVERLAP, 10_000_000
#: Output kinds: "mp4" (H.264 + AAC), "png" (a folder of frame_000001.png ... and audio.m4a).
OutputKind = Literal["mp4", "png"]


def output_kind(out: Path) -> OutputKind:
    """The kind of output ``out`` names: an .mp4 file, or (no extension) a folder of PNG frames."""
    if out.suffix.lower() == ".mp4":
        return "mp4"
    if out.suffix == "":
        return "png"
    raise VideoError(f"'{out}': unknown video output type '{out.suffix}'; use .mp4, or a name without an "
                     "extension for a folder of PNG frames")


@dataclass(frozen=True)
class VideoSettings:
    """How a clip is painted. ``params``: each frame's stylisation (``params.size``: the frames'
    long side, px; ``params.steps``: the first frame's budget, 0 = the device's Balanced preset;
    a seed of None is taken as 0, so that a resumed render paints as the first run did).
    ``start_s``/``end_s``: the range, s (end None: to the end of the clip). ``temporal_weight``:
    see :mod:`temporal`. ``every_frame_steps``: budget of each later frame. ``temporal``: False
    paints every frame independently."""

    params: StyleParams
    temporal_weight: float = DEFAULT_TEMPORAL_WEIGHT
    every_frame_steps: int = DEFAULT_EVERY_FRAME_STEPS
    start_s: float = 0.0
    end_s: float | None = None
    temporal: bool = True

    def validate(self) -> None:
        """``ValueError`` with a readable message for an out-of-range value."""
        self.params.validate()
        if not MIN_TEMPORAL_WEIGHT <= self.temporal_weight <= MAX_TEMPORAL_WEIGHT:
            raise ValueError(f"temporal weight must be between {MIN_TEMPORAL_WEIGHT:g} and "
                             f"{MAX_TEMPORAL_WEIGHT:.0e}, not {self.temporal_weight}")
        if not MIN_EVERY_FRAME_STEPS <= self.every_frame_steps <= MAX_EVERY_FRAME_STEPS:
            raise ValueError(f"steps per frame must be between {MIN_EVERY_FRAME_STEPS} and "
                             f"{MAX_EVERY_FRAME_STEPS}, not {self.every_frame_steps}")
        if not self.start_s >= 0 or (self.end_s is not None and not self.end_s > self.start_s):
            raise ValueError(f"the range must have 0 <= start < end, not {self.start_s} to {self.end_s}")

    def fixed(self) -> VideoSettings:
        """These settings with the seed fixed (None -> 0)."""
        if self.params.seed is not None:
            return self
        return dataclasses.replace(self, params=dataclasses.replace(self.params, seed=0))
