"""Which sizes of a run are optimised whole and which in tiles, within the memory budget.

The budget is ``params.memory_limit_mb`` or, by default, :data:`oom.FREE_MEMORY_SHARE` of
the memory the device has free when the run starts. Each size of the coarse-to-fine
schedule gets a :class:`memory.SizePlan`; a run whose sizes cannot all fit, even tiled, is
refused before it starts (:class:`TooLarge`, with the largest size that fits). Seamless
runs work on sides that are multiples of :data:`tiling.ALIGN` px (the wrap-around needs
the pooling cells to tile the image exactly).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from nst_desktop.engine.device.devices import free_memory_bytes
from nst_desktop.engine.errors import TooLarge
from nst_desktop.engine.image.images import scaled_size
from nst_desktop.engine.image.inputs import working_hw
from nst_desktop.engine.net import losses
from nst_desktop.engine.params import StyleParams
from nst_desktop.engine.plan import memory, schedule
from nst_desktop.engine.tiling import grid as tiling

#: Share of the device's free memory a run plans with when no limit is given.
FREE_MEMORY_SHARE = 0.9
#: Time of the Gram pass (a forward pass without gradient) relative to a whole step
#: (forward and backward) of the same pixels; see tiled_objective.py. Fitted to this model's
#: margins on a 2-core AMX CPU (bfloat16, cat.jpg): tiled / untiled step 1.78x at 2048 px with
#: 1024 px tiles and 2.43x at 1024 px with 384 px tiles, against 1.29x and 1.83x of margins;
#: the Gram pass itself took 0.50 of the gradient pass's time in both.
GRAM_PASS_SHARE = 0.35
#: Whether tiled sizes take the style term's D = dL/dG from the previous step's Gram matrices
#: (one pass per step) instead of a Gram pass first (exact, two passes); see tiled_objective.py.
#: Off: L-BFGS's curvature pairs do not survive the lagged gradient. At 1024 px with 384 px
#: tiles (tubingen x starry night, Balanced, seed 1) the result's total loss, evaluated whole,
#: was 6.0x the untiled run's (the exact tiles: 1.01x), in 0.26 of the exact run's time.
LAGGED_GRAM = False
#: The margin every tile is seen with (the receptive field of the deepest layer used).
MARGIN = tiling.context_margin([losses.CONTENT_LAYER, *losses.STYLE_LAYERS])


#: Peak resident memory of a CPU run that keeps the memory its steps free
#: (:mod:`host_memory`) over the planned peak: the heap holds blocks of several sizes that
#: later steps reuse only in part. Measured (cat x night, float32, 4 steps): 1.24x at 1024 px
#: whole (3.48 vs 2.81 GiB; planned 2.79), 1.34x at 1536 px in 448 px tiles (3.52 vs 2.62 GiB).
KEPT_MEMORY_GROWTH = 1.4


def keeps_freed_memory(run_plan: RunPlan, budget: int, device_type: str) -> bool:
    """Whether a CPU run may keep the memory its steps free (faster: 1.57x at 1024 px,
    about 2x at 2048 px; a step in 1024 px tiles at 2048 px 1.4x): only where the plan's
    peak, grown by :data:`KEPT_MEMORY_GROWTH`, still fits ``budget`` (bytes). A run short of
    memory (tiled to fit it, or limited) plans up to its budget, and there the memory
    matters more than the speed; tiles forced with memory to spare keep it."""
    if device_type != "cpu":
        return False
    return max(p.peak_bytes for p in run_plan.plans) * KEPT_MEMORY_GROWTH <= budget


#: A CPU step's time in a run that does not keep its freed memory over its time with the
#: memory kept, which is how the speed test's steps run (small, they keep it): every step
#: faults its activations in again, page by page, each page zeroed by the kernel. Measured
#: in fresh processes, a forward and backward at 1024 x 1024 px with glibc's defaults and with
#: memory kept (``bench.bare_step_ms``, 2-core AMX CPU, 3 pairs): bfloat16 3.64 vs 3.47 s
#: (1.05x), float32 11.35 vs 9.32 s (1.22x; the pairs 1.10-1.38x).
UNKEPT_STEP_COST_HALF = 1.05
UNKEPT_STEP_COST_FP32 = 1.22


def time_factor(run_plan: RunPlan, budget: int, device_type: str, half: bool) -> float:
    """What a run's time is over :meth:`RunPlan.work` times the speed test's rate: 1 where it
    keeps its freed memory (:func:`keeps_freed_memory`) or runs on a GPU, else the cost of
    faulting its memory in at every step (:data:`UNKEPT_STEP_COST_HALF` or ``_FP32``)."""
    if device_type != "cpu" or keeps_freed_memory(run_plan, budget, device_type):
        return 1.0
    return UNKEPT_STEP_COST_HALF if half else UNKEPT_STEP_COST_FP32


def budget_bytes(params: StyleParams, device: torch.device) -> int:
    """The memory a run may use, bytes: the limit, else a share of what is free (8 GiB if unknown)."""
    if params.memory_limit_mb:
        return params.memory_limit_mb * 1_000_000
    free = free_memory_bytes(device)
    return int((free if free else 8 * 2**30) * FREE_MEMORY_SHARE)


def round_to_align(hw: tuple[int, int]) -> tuple[int, int]:
    """Each side to the nearest multiple of :data:`tiling.ALIGN` (at least 4 of them)."""
    a = tiling.ALIGN
    return tuple(max(4 * a, a * round(s / a)) for s in hw)  # type: ignore[return-value]


def output_hw(content_hw: tuple[int, int], size: int, seamless: bool) -> tuple[int, int]:
    """The result's (height, width) for a content of ``content_hw`` at long side ``size``."""
    hw = scaled_size(content_hw, size)
    return round_to_align(hw) if seamless else hw


def stage_hw(out_hw: tuple[int, int], long_side: int, seamless: bool) -> tuple[int, int]:
    """The image optimised at a size of the schedule (the output's own at its long side)."""
    if long_side == max(out_hw):
        return working_hw(out_hw) if not seamless else out_hw
    hw = working_hw(scaled_size(out_hw, long_side))
    return round_to_align(hw) if seamless else hw


@dataclass(frozen=True)
class RunPlan:
    """Every size of a run: its stage (long side, steps), image size (px) and plan."""

    stages: list[schedule.Stage]
    sizes: list[tuple[int, int]]
    plans: list[memory.SizePlan]
    wrap: bool = False

    @property
    def tiled(self) -> bool:
        return any(p.tiled for p in self.plans)

    def costs(self) -> list[float]:
        """Each size's cost of a pixel-step relative to an untiled one (:func:`step_cost`)."""
        return [step_cost(hw, p, self.wrap) for hw, p in zip(self.sizes, self.plans, strict=True)]

    def work(self) -> float:
        """Pixel-steps of the run, its steps weighted by :meth:`costs`, each size's setup
        counted as :data:`schedule.SIZE_SETUP_STEPS` untiled steps (the time estimate's unit)."""
        return sum(h * w * (st.steps * c + schedule.SIZE_SETUP_STEPS)
                   for (h, w), st, c in zip(self.sizes, self.stages, self.costs(), strict=True))


def step_cost(hw: tuple[int, int], plan: memory.SizePlan, wrap: bool = False) -> float:
    """A tiled step's work relative to an untiled step of ``hw``: the pixels the network sees
    (inner tiles and margins, averaged over grid offsets) in the gradient pass, plus those of
    the Gram pass (in its own, larger tiles) times :data:`GRAM_PASS_SHARE`; 1 for an untiled size."""
    if not plan.tiled:
        return 1.0
    return _seen_share(hw, plan.tile, wrap) + GRAM_PASS_SHARE * _seen_share(hw, max(plan.tile, plan.gram_tile), wrap)


def _seen_share(hw: tuple[int, int], tile: int, wrap: bool) -> float:
    """Pixels the network sees in tiles of ``tile`` px over the image's, averaged over grid offsets."""
    offsets = range(0, tile, max(tiling.ALIGN, tile // 4 // tiling.ALIGN * tiling.ALIGN))
    seen = []
    for o in offsets:
        grid = tiling.tile_grid(hw, tile, MARGIN, (o, o), wrap)
        seen.append(sum(t.crop_hw[0] * t.crop_hw[1] for t in grid))
    return sum(seen) / len(seen) / (hw[0] * hw[1])


def plan_run(
    params: StyleParams, content_hw: tuple[int, int], device_type: str, half: bool, budget: int,
    graphs: bool = False,
) -> RunPlan:
    """The plan of every size of a run of ``params`` (``steps`` and ``start_size`` resolved)
    on a content of ``content_hw``. Raises :class:`TooLarge` if a size cannot fit ``budget``,
    with the largest output size whose every size fits."""
    plan = _plan(params, content_hw, device_type, half, budget, graphs)
    if plan is not None:
        return plan
    lo, hi = 0, (params.size - 1) // tiling.ALIGN  # bisect over multiples of ALIGN: memory grows with size
    while lo < hi:
        mid = (lo + hi + 1) // 2
        smaller = dataclasses.replace(params, size=mid * tiling.ALIGN)
        if _plan(smaller, content_hw, device_type, half, budget, graphs) is not None:
            lo = mid
        else:
            hi = mid - 1
    fits = lo * tiling.ALIGN or None
    hint = f" About {fits} px (long side) fits." if fits else ""
    raise TooLarge(f"{params.size} px does not fit in {memory.memory_text(budget)} of memory, even in tiles.{hint}",
                   size=params.size, fits=fits)


def _plan(
    params: StyleParams, content_hw: tuple[int, int], device_type: str, half: bool, budget: int, graphs: bool,
) -> RunPlan | None:
    out_hw = output_hw(content_hw, params.size, params.seamless)
    stages = schedule.plan_for(device_type, params.size, params.steps, params.start_size, params.coarse_to_fine,
                               half)
    sizes, plans = [], []
    for st in stages:
        hw = stage_hw(out_hw, st.long_side, params.seamless)
        forced = params.tile if params.tile and params.tile < max(hw) else 0
        plan = memory.plan_size(hw, budget, params.optimizer, half, st.steps, MARGIN, device_type, graphs,
                                forced, params.seamless)
        if plan is None:
            return None
        sizes.append(hw)
        plans.append(plan)
    return RunPlan(stages, sizes, plans, params.seamless)


def tiles_in_step(hw: tuple[int, int], plan: memory.SizePlan, wrap: bool = False) -> int:
    """Tiles of one pass of a step at offset 0 (a step's count varies by one or two with its offset)."""
    return len(tiling.tile_grid(hw, plan.tile, MARGIN, (0, 0), wrap)) if plan.tiled else 0


