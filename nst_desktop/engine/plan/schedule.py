"""Coarse-to-fine schedule: which sizes to optimise at and how many steps each gets.

Sizes grow geometrically by a ratio from about ``start`` to the target long side. The
step budget is split in proportion to ``(target / size) ** power``, with at least
``max(MIN_STEPS_PER_STAGE, budget // FLOOR_DIVISOR)`` steps at each size where the
budget allows. Start, ratio and power depend on the device (:data:`SHAPES`), as do the
quality presets' budgets (:mod:`params`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nst_desktop.engine.image.images import scaled_size

SIZE_RATIO = math.sqrt(2.0)
#: 0.5 keeps most steps at the cheap sizes while the final size still gets enough to
#: reach the reference quality. Measured on cat.jpg x night.jpg (H100, total loss at
#: the target size relative to 300 single-size L-BFGS steps; start 256 px): at 512 px,
#: 150 steps 0.95x and 300 steps 0.93x; at 1024 px, 1.14x and 0.93x. Power 1.0 with a
#: 128 px start gave 1.62x / 1.02x at 512 px and 1.62x / 1.21x at 1024 px.
STEP_SHARE_POWER = 0.5
MIN_STEPS_PER_STAGE = 5
#: Each size gets at least 1/FLOOR_DIVISOR of the budget where that is more than
#: MIN_STEPS_PER_STAGE (7 steps of the GPU's Balanced 210).
FLOOR_DIVISOR = 30
#: What each size costs besides its steps, in steps of its own pixels: its targets (the
#: photo's and the paintings' features at that size), the palette's recolouring, resizing
#: the last size's result and the first step's allocations. Measured from a run's progress
#: reports timed in-process (cat.jpg x night.jpg, Fast, 2-core AMX CPU; the time from a
#: size's targets to its first step, less that step): bfloat16 1.3-1.6 steps at 512 px and
#: 1.7 at 1024 px, 1.15 untiled steps at 2048 px in tiles; float32 1.2 at 512 px. With 5
#: steps at each of a print run's large sizes, that is a fifth of its time.
SIZE_SETUP_STEPS = 1.5


@dataclass(frozen=True)
class Shape:
    """How a device's schedule grows: first long side (px), ratio between sizes, step-share power."""

    start: int
    ratio: float
    power: float


#: GPUs (and MPS): small sizes cost about as much per step as 512 px there (the step is
#: launch-bound), so the budgets are large and spread over sizes sqrt(2) apart.
GPU_SHAPE = Shape(start=256, ratio=SIZE_RATIO, power=STEP_SHARE_POWER)
#: CPUs: a step costs time in proportion to its pixels, and what the final size needs is
#: a few steps there after a coarse pass at half the size; steps at smaller sizes were
#: wasted. On cat.jpg x night.jpg at 512 px (2-core AMX CPU, bfloat16; loss relative to
#: ``bench --reference``; cost in 512 px step equivalents), as plans of (size x steps):
#: 128x69, 181x37, 256x21, 362x13, 512x9 (the previous CPU schedule, Fast): 1.30-1.32x at
#: 29.7; 256x20, 512x12: 1.30x at 17.0; 256x16, 512x16: 1.21x at 20.0; 256x12, 362x12,
#: 512x12: 1.20x at 21.0; 256x30, 512x30: 1.03x at 37.5; 256x24, 512x24: 1.07x at 30.0.
#: Adding a 128 px stage (128x40, 256x20, 512x12) gave 1.34x; cutting the final size
#: to 4-5 steps, 1.63-1.92x whatever the smaller sizes got.
CPU_SHAPE = Shape(start=256, ratio=2.0, power=STEP_SHARE_POWER)
#: CPUs whose network runs in float32 (most laptops: no native bfloat16), where the budgets
#: are smallest (``params.CPU_FP32_QUALITY_PRESETS``): more of them at the first size, where a
#: step costs about 0.28 of one at 512 px. Judge's measures on the reference pairs (512 px,
#: seed 1, float32), tubingen x starry night (the closest pair; targets: Fast style <= 1.08,
#: colour <= 3.34; Balanced style <= 0.94, colour <= 2.57), as (256 px steps, 512 px steps):
#: Fast 13+9 (power 0.5) 1.05 / 3.28, 15+7 1.07 / 3.22, 14+8 (power 1.5) 0.88 / 3.09;
#: Balanced 36+26 (power 0.5) 0.55 / 2.46, 44+18 (power 1.5) 0.58 / 2.53. The other
#: pairs kept their targets with room in each. Time in 512 px steps (a 256 px one counted as a
#: quarter): Fast 12.25 -> 11.5, Balanced 35 -> 29 (plus the fixed cost of a run).
CPU_FP32_SHAPE = Shape(start=256, ratio=2.0, power=1.5)
SHAPES: dict[str, Shape] = {"cpu": CPU_SHAPE}
FP32_SHAPES: dict[str, Shape] = {"cpu": CPU_FP32_SHAPE}


def shape_for(device_type: str, half: bool = True) -> Shape:
    """The schedule's shape for a device type ("cpu", "cuda", "mps"); on CPUs ``half`` says
    whether the network runs in bfloat16 there (see :meth:`precision.Precision.choose`)."""
    if not half and device_type in FP32_SHAPES:
        return FP32_SHAPES[device_type]
    return SHAPES.get(device_type, GPU_SHAPE)


def default_start(device_type: str) -> int:
    """First size of the coarse-to-fine schedule (long side, px) for a device type (either number format)."""
    return shape_for(device_type).start


@dataclass(frozen=True)
class Stage:
    """One size of the schedule: long side in px and its number of loss evaluations."""

    long_side: int
    steps: int


def stage_sizes(target: int, start: int = 256, ratio: float = SIZE_RATIO) -> list[int]:
    """Long sides ``target / ratio**k`` from the first at or below ``start`` up to exactly ``target``.

    One size if ``target <= start``.
    """
    if target <= start:
        return [target]
    n = math.ceil(math.log(target / start) / math.log(ratio) - 1e-9)
    return [round(target / ratio**k) for k in range(n, 0, -1)] + [target]


def split_steps(sizes: list[int], budget: int, power: float = STEP_SHARE_POWER) -> list[int]:
    """Split ``budget`` steps over ``sizes`` (see module docstring); sums to ``budget``."""
    n = len(sizes)
    if n == 1:
        return [budget]
    floor = min(max(MIN_STEPS_PER_STAGE, budget // FLOOR_DIVISOR), budget // n)
    rest = budget - floor * n
    shares = [(sizes[-1] / s) ** power for s in sizes]
    total = sum(shares)
    steps = [floor + int(rest * sh / total) for sh in shares]
    steps[0] += budget - sum(steps)
    return steps


def plan(
    target: int, budget: int, start: int = 256, coarse_to_fine: bool = True, power: float = STEP_SHARE_POWER,
    ratio: float = SIZE_RATIO,
) -> list[Stage]:
    """The schedule for a run: ends at ``target`` with all of ``budget`` steps used.

    Stages that would get no step are dropped (a tiny budget runs at fewer sizes).
    """
    sizes = stage_sizes(target, start, ratio) if coarse_to_fine else [target]
    while len(sizes) > 1 and budget < len(sizes):
        sizes = sizes[1:]
    return [Stage(s, n) for s, n in zip(sizes, split_steps(sizes, budget, power), strict=True)]


def plan_for(
    device_type: str, target: int, budget: int, start: int = 0, coarse_to_fine: bool = True, half: bool = True,
) -> list[Stage]:
    """:func:`plan` with the device's shape (``half``: see :func:`shape_for`); ``start`` 0 means
    the device's first size."""
    shape = shape_for(device_type, half)
    return plan(target, budget, start or shape.start, coarse_to_fine, shape.power, shape.ratio)


def fixed_steps(stages: list[Stage]) -> float:
    """The steps of a run's ``stages`` plus :data:`SIZE_SETUP_STEPS` per size: how often it pays
    a step's fixed part (see :mod:`nst_desktop.engine.measure.speed`)."""
    return sum(st.steps + SIZE_SETUP_STEPS for st in stages)


def pixel_steps(
    device_type: str, long_side: int, aspect_hw: tuple[int, int], steps: int, start: int = 0, half: bool = True,
) -> int:
    """Sum over the sizes of :func:`plan_for`'s schedule of (pixels at that size x its loss
    evaluations plus :data:`SIZE_SETUP_STEPS`): the work of a run, in the unit of the time
    estimate's rate (seconds per pixel-step). ``aspect_hw``: the content's (height, width) at
    any scale; ``half``: see :func:`shape_for`."""
    total = 0.0
    for st in plan_for(device_type, long_side, steps, start, half=half):
        h, w = scaled_size(aspect_hw, st.long_side)
        total += h * w * (st.steps + SIZE_SETUP_STEPS)
    return round(total)

