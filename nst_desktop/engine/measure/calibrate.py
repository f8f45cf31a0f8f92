"""A short measured run, so that the first estimate on a machine is this machine's.

Machines differ by several times in the engine's speed (bfloat16 with AMX or AVX-512 BF16,
float32 on AVX2 laptops, the number of cores), so no built-in table of one machine
predicts the first run well. :func:`measure_speed` times a few real optimisation steps of
the engine (the same network, precision and optimiser as a run) on a generated image
pair at two sizes, :data:`SMALL_HW` and :data:`CALIBRATION_HW`, and turns them into the
:class:`~nst_desktop.engine.measure.speed.Speed` that the estimate of a run's time is made from
(:func:`speed.run_seconds`).

Two sizes, because a step costs a fixed part (the optimiser's bookkeeping, dispatching
each layer) besides a part per pixel, and the fixed part weighs more the smaller the
image: in bfloat16 on a 2-core AMX CPU a 256 x 192 px step cost 4.1-4.5 us per pixel and
a 512 x 384 one 3.5 (the one-size speed test timed at each size, 2026-12-03), so one
small measured size put the estimate of a 512 px run 25-30 % over the run.

The fixed part is kept apart (:class:`Speed`) rather than folded into a rate at one size:
folded in at 512 x 384 px, it was 12 times too small for a 128 px run, which took 2x its
estimate (on the shared 2-core AMD VM under load, a float32 step cost 3.6-4.5 s at 128 x 96 px
and 8.0-8.6 s at 256 x 192: the fixed part was most of a small step; 2026-12-07).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable

from PIL import Image, ImageDraw

from nst_desktop.engine.measure.speed import Speed
from nst_desktop.engine.net.weights import VGGWeights, load_bundled
from nst_desktop.engine.params import Progress, StyleInputs, StyleParams
from nst_desktop.engine.stylize import stylize

#: Size of the larger measured run, (height, width) px: large enough that most of a step is
#: its pixels' cost (on a 2-core AMX CPU a 256 x 192 step cost per pixel within 2 % of a
#: 512 x 384 one in float32, 15-30 % more in bfloat16), small enough to take a second or two
#: on a CPU.
CALIBRATION_HW = (192, 256)  # generated_pair(256)'s content
#: The smaller size, (height, width) px: a quarter of the pixels, so the two steps' times
#: separate the fixed part of a step from the part per pixel.
SMALL_HW = (96, 128)  # generated_pair(128)'s content
#: Steps before timing starts (the first ones allocate), and steps timed.
WARMUP_STEPS = 2
TIMED_STEPS = 6
#: A whole run's seconds over those of its steps and its sizes' setups
#: (:data:`schedule.SIZE_SETUP_STEPS`): loading, the palette, the previews and the result.
#: Measured from a run's progress reports timed in-process (cat.jpg x night.jpg, 512 px Fast,
#: 2-core AMX CPU): 1.06 in bfloat16 (18.2 s against 17.2 s), 1.02 in float32 (32.9 s
#: against 32.4 s).
RUN_OVERHEAD = 1.04


def measure_speed(
    device: str = "auto",
    precision: str = "auto",
    weights: VGGWeights | None = None,
    cancel: threading.Event | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> Speed | None:
    """The :class:`Speed` of ``device`` with ``precision`` ("auto", as runs use), from the median
    of :data:`TIMED_STEPS` timed steps (read from ``clock``, seconds) at each of :data:`SMALL_HW`
    and :data:`CALIBRATION_HW` (see :func:`speed_from_steps`); None if ``cancel`` was set first."""
    measured = _measured_steps(device, precision, weights, cancel, clock)
    return None if measured is None else speed_from_steps(*measured)


#: Where the smaller measured step took as long as the larger one (noise, or a machine so loaded
#: that a step is mostly waiting), the share of the larger step taken as fixed: the line cannot
#: say, and all-per-pixel put a loaded machine's 128 px run at half its time (2026-12-07).
FLAT_FIXED_SHARE = 0.5


def speed_from_steps(small: tuple[int, float], large: tuple[int, float]) -> Speed:
    """The line through two measured steps given as (pixels, seconds), times :data:`RUN_OVERHEAD`.
    Where noise makes the line fall (the smaller step took longer): :data:`FLAT_FIXED_SHARE` of
    the larger step fixed, the rest per pixel; where it makes the fixed part negative: the larger
    step's own cost per pixel and no fixed part."""
    (p1, t1), (p2, t2) = small, large
    per_pixel = (t2 - t1) / (p2 - p1)
    fixed = t1 - per_pixel * p1
    if per_pixel <= 0:
        return Speed((1 - FLAT_FIXED_SHARE) * t2 / p2 * RUN_OVERHEAD, FLAT_FIXED_SHARE * t2 * RUN_OVERHEAD)
    if fixed < 0:
        return Speed(t2 / p2 * RUN_OVERHEAD, 0.0)
    return Speed(per_pixel * RUN_OVERHEAD, fixed * RUN_OVERHEAD)


def _measured_steps(device: str, precision: str, weights: VGGWeights | None, cancel: threading.Event | None,
                    clock: Callable[[], float]) -> tuple[tuple[int, float], tuple[int, float]] | None:
    """``(pixels, median seconds)`` of a step at :data:`SMALL_HW` and at :data:`CALIBRATION_HW`; None if
    cancelled."""
    weights = weights or load_bundled()
    measured = []
    for hw in (SMALL_HW, CALIBRATION_HW):
        seconds = _median_step(hw, device, precision, weights, cancel, clock)
        if seconds is None:
            return None
        measured.append((hw[0] * hw[1], seconds))
    return measured[0], measured[1]


def _median_step(hw: tuple[int, int], device: str, precision: str, weights: VGGWeights,
                 cancel: threading.Event | None, clock: Callable[[], float]) -> float | None:
    """Median seconds of a timed step of a real run at ``hw`` (height, width); None if cancelled."""
    content, style = generated_pair(hw[1])
    params = StyleParams(size=max(hw), steps=WARMUP_STEPS + TIMED_STEPS + 1, seed=0, device=device,
                         coarse_to_fine=False, preview_every=0, precision=precision, init="content")
    ends: list[float] = []

    def record(p: Progress) -> None:
        if p.phase == "optimise":
            ends.append(clock())

    result = stylize(StyleInputs(content, style), params, weights, on_progress=record, cancel=cancel)
    intervals = [b - a for a, b in zip(ends[WARMUP_STEPS:], ends[WARMUP_STEPS + 1:], strict=False)]
    if result.cancelled or not intervals:
        return None
    return statistics.median(intervals)


def generated_pair(size: int) -> tuple[Image.Image, Image.Image]:
    """A generated photo-like content ``size`` x ``size * 3 // 4`` px (sky, a disc) and a noisy
    ``size`` px square painting: what the speed test and ``bench`` run on by default."""
    content = Image.new("RGB", (size, size * 3 // 4), (180, 200, 230))
    d = ImageDraw.Draw(content)
    d.ellipse((size // 4, size // 8, size * 3 // 4, size * 5 // 8), fill=(200, 90, 40))
    style = Image.effect_noise((size, size), 64).convert("RGB")
    return content, style


__all__ = ["Speed", "measure_speed", "speed_from_steps", "generated_pair", "CALIBRATION_HW", "SMALL_HW",
           "RUN_OVERHEAD"]
