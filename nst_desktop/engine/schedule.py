"""Coarse-to-fine schedule: which sizes to optimise at and how many steps each gets.

Sizes grow geometrically by :data:`SIZE_RATIO` from ``start`` to the target long
side. The step budget is split in proportion to ``(target / size) ** STEP_SHARE_POWER``
so that most steps run at the small, cheap sizes, with at least
``max(MIN_STEPS_PER_STAGE, budget // FLOOR_DIVISOR)`` at each size where the budget allows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SIZE_RATIO = math.sqrt(2.0)
#: 0.5 keeps most steps at the cheap sizes while the final size still gets enough to
#: reach the reference quality. Measured on cat.jpg x night.jpg (H100, total loss at
#: the target size relative to 300 single-size L-BFGS steps; start 256 px): at 512 px,
#: 150 steps 0.95x and 300 steps 0.93x; at 1024 px, 1.14x and 0.93x. Power 1.0 with a
#: 128 px start gave 1.62x / 1.02x at 512 px and 1.62x / 1.21x at 1024 px.
STEP_SHARE_POWER = 0.5
MIN_STEPS_PER_STAGE = 5
#: Each size gets at least 1/FLOOR_DIVISOR of the budget (10 steps of Balanced's 300,
#: 5 of Fast's 150): the final size needs a few steps to bring out the fine strokes,
#: but on a CPU every step there costs as much as ~30 at the first size.
FLOOR_DIVISOR = 30
#: First size of the schedule by device type, px. On a CPU a step costs time in
#: proportion to its pixels, so starting smaller buys many cheap steps: on cat.jpg x
#: night.jpg at 512 px (bf16, loss relative to the reference of ``bench --reference``)
#: a 128 px start gave Fast 1.04x / Balanced 0.96x, against 0.94x / 0.92x from 256 px,
#: well inside the targets (1.5x / 1.1x) and about half the CPU time. On a GPU small
#: sizes cost about as much per step as 512 px (the step is launch-bound there), so
#: fewer, larger sizes are faster.
DEFAULT_START = {"cpu": 128}
DEFAULT_START_OTHER = 256
#: Step-share power by device type. On a CPU the split follows the cost (a step costs
#: about its pixel count, ~ size**2), so the final sizes get few steps: see the
#: measurements in :func:`default_power`.
DEFAULT_POWER = {"cpu": 2.0}


def default_power(device_type: str) -> float:
    """Step-share power of the schedule for a device type (see :func:`split_steps`).

    On this project's 2-core CPU (AMX, bf16), cat.jpg x night.jpg at 512 px from 128 px
    (time, total loss relative to ``bench --reference``): power 0.5 took 46 s / 88 s
    (Fast / Balanced) at 1.04x / 0.96x; power 1, 49 s / 83 s at 1.13x / 0.99x; power 2
    with the curvature history carried between sizes, 21 s / 53 s at 1.32x / 1.07x
    (targets: 20 s / 60 s within 1.5x / 1.1x). These CPU timings vary by about 25 %
    from run to run on that machine.
    """
    return DEFAULT_POWER.get(device_type, STEP_SHARE_POWER)


@dataclass(frozen=True)
class Stage:
    """One size of the schedule: long side in px and its number of loss evaluations."""

    long_side: int
    steps: int


def default_start(device_type: str) -> int:
    """First size of the coarse-to-fine schedule (long side, px) for a device type ("cpu", "cuda", "mps")."""
    return DEFAULT_START.get(device_type, DEFAULT_START_OTHER)


def stage_sizes(target: int, start: int = 256, ratio: float = SIZE_RATIO) -> list[int]:
    """Long sides from about ``start`` up to exactly ``target`` (one size if target ≤ start·ratio)."""
    if target <= start * ratio:
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
    target: int, budget: int, start: int = 256, coarse_to_fine: bool = True, power: float = STEP_SHARE_POWER
) -> list[Stage]:
    """The schedule for a run: ends at ``target`` with all of ``budget`` steps used.

    Stages that would get no step are dropped (a tiny budget runs at fewer sizes).
    """
    sizes = stage_sizes(target, start) if coarse_to_fine else [target]
    while len(sizes) > 1 and budget < len(sizes):
        sizes = sizes[1:]
    return [Stage(s, n) for s, n in zip(sizes, split_steps(sizes, budget, power), strict=True)]
