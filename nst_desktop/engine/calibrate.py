"""A short measured run, so that the first estimate on a machine is this machine's.

Machines differ by several times in the engine's speed (bfloat16 with AMX or AVX-512 BF16,
float32 on AVX2 laptops, the number of cores), so no built-in table of one machine
predicts the first run well. :func:`measure_rate` times a few real optimisation steps of
the engine (the same network, precision and optimiser as a run) on a generated image
pair at :data:`CALIBRATION_HW`, and turns them into the unit the estimate uses: seconds
per pixel-step of a whole run (see :func:`schedule.pixel_steps`).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable

from PIL import Image, ImageDraw

from nst_desktop.engine.params import Progress, StyleParams
from nst_desktop.engine.stylize import stylize
from nst_desktop.engine.weights import VGGWeights, load_bundled

#: Size of the measured run, (height, width) px: large enough that a step costs what its
#: pixels cost (on a 2-core AMX CPU a 256 x 192 step cost per pixel within 2 % of a 512 x 384
#: one in float32 and within 4 % in bfloat16, ``bench --size 256 --size 512``), small enough
#: to take a second or two on a CPU.
CALIBRATION_HW = (192, 256)  # generated_pair(256)'s content
#: Steps before timing starts (the first ones allocate), and steps timed.
WARMUP_STEPS = 2
TIMED_STEPS = 6
#: A whole run's seconds over those of its optimisation steps alone: the targets at each
#: size, the palette, resizing between sizes, the previews and the result. With 1.12, on
#: cat.jpg x night.jpg at 512 px (2-core AMX CPU, ``bench --preset fast --preset balanced``)
#: the estimate was 18-19 % over the run in bfloat16 and 10 % under it in float32.
RUN_OVERHEAD = 1.12


def measure_rate(
    device: str = "auto",
    precision: str = "auto",
    weights: VGGWeights | None = None,
    cancel: threading.Event | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> float | None:
    """Seconds per pixel-step of a whole run on ``device`` with ``precision`` ("auto", as runs
    use), from the median of :data:`TIMED_STEPS` timed steps (read from ``clock``, seconds);
    None if ``cancel`` was set first."""
    content, style = generated_pair(CALIBRATION_HW[1])
    params = StyleParams(size=max(CALIBRATION_HW), steps=WARMUP_STEPS + TIMED_STEPS + 1, seed=0, device=device,
                         coarse_to_fine=False, preview_every=0, precision=precision, init="content")
    ends: list[float] = []

    def record(p: Progress) -> None:
        if p.phase == "optimise":
            ends.append(clock())

    result = stylize(content, style, params, weights or load_bundled(), on_progress=record, cancel=cancel)
    intervals = [b - a for a, b in zip(ends[WARMUP_STEPS:], ends[WARMUP_STEPS + 1:], strict=False)]
    if result.cancelled or not intervals:
        return None
    h, w = CALIBRATION_HW
    return statistics.median(intervals) / (h * w) * RUN_OVERHEAD


def generated_pair(size: int) -> tuple[Image.Image, Image.Image]:
    """A generated photo-like content ``size`` x ``size * 3 // 4`` px (sky, a disc) and a noisy
    ``size`` px square painting: what the speed test and ``bench`` run on by default."""
    content = Image.new("RGB", (size, size * 3 // 4), (180, 200, 230))
    d = ImageDraw.Draw(content)
    d.ellipse((size // 4, size // 8, size * 3 // 4, size * 5 // 8), fill=(200, 90, 40))
    style = Image.effect_noise((size, size), 64).convert("RGB")
    return content, style


__all__ = ["measure_rate", "generated_pair", "CALIBRATION_HW", "RUN_OVERHEAD"]
