"""Predictions and names around one stylisation job (no Qt).

- :func:`estimate_run`: memory (from the engine's model in :mod:`engine.memory`) and
  time (the engine's speed model, :mod:`engine.measure.speed`: each step a fixed part plus
  a part per pixel) of a run before it starts. The time is a rough estimate: the rate is a
  built-in guess per device kind until the speed test or a finished run on that device measured it.
- :func:`measured_rate`: that rate, from a finished run.
- :func:`suggested_output_name`: "photo-in-style-of-painting.png".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from nst_desktop.engine.image import scaled_size
from nst_desktop.engine.params import StyleParams
from nst_desktop.engine.plan import memory, schedule

# sizing and precision (and with them torch) are imported by the functions that use them:
# the window is built and shown before torch is loaded.

#: Built-in seconds per (pixel x loss evaluation) when nothing was measured yet, per
#: physical core on CPUs. Measured with the CPU schedule and budgets on a 2-core AMX CPU
#: (cat.jpg x night.jpg, 512 px): float32 network, Fast 43 s and Balanced 77 s, 1.8e-5 and
#: 1.4e-5 core-seconds per pixel-step; bfloat16 network (AMX), 15 s and 24 s, 6.1e-6 and
#: 4.5e-6. GPUs: from published step times of consumer cards (roughly 20-60 ms per step
#: at 512 px).
CPU_CORE_SECONDS_PER_PIXEL_STEP = 1.5e-5
CPU_AMX_CORE_SECONDS_PER_PIXEL_STEP = 5e-6
GPU_SECONDS_PER_PIXEL_STEP = 1.2e-7
MPS_SECONDS_PER_PIXEL_STEP = 4e-7
#: Runs with fewer pixel-steps than this are dominated by fixed costs: not used to calibrate.
MIN_CALIBRATION_PIXEL_STEPS = 2_000_000


@dataclass(frozen=True)
class RunEstimate:
    """Memory and time a run is expected to take.

    height/width: output size, px. memory_bytes: peak device memory (engine model).
    seconds: wall time of the optimisation. basis: where its rate comes from: "runs"
    (finished runs on this device), "test" (this session's speed test on this device,
    :mod:`engine.calibrate`) or "guess" (the built-in rate of another machine).
    """

    height: int
    width: int
    memory_bytes: int
    seconds: float
    basis: str
    #: The final size's tile side, px (0: optimised whole); ``fits``: set when the run cannot fit
    #: the memory even in tiles, to the largest long side that does (None: it fits).
    tile: int = 0
    too_large: bool = False
    fits: int | None = None

    @property
    def measured(self) -> bool:
        """True if the rate was measured on this device (by runs or the speed test)."""
        return self.basis != "guess"


def device_type(device_id: str) -> str:
    """"cuda" for "cuda"/"cuda:N", else the id itself ("cpu", "mps")."""
    return "cuda" if device_id.startswith("cuda") else device_id


def runs_half(device_id: str) -> bool:
    """True if the engine's "auto" precision runs the network in bfloat16 on ``device_id`` (native CPUs)."""
    from nst_desktop.engine.net import cpu_auto_bf16

    return device_type(device_id) == "cpu" and cpu_auto_bf16()


def network_format(device_id: str) -> str:
    """How the engine's "auto" precision runs the network on ``device_id`` and why, e.g.
    "bfloat16 (the CPU has AMX)" (:meth:`Precision.describe`)."""
    import torch

    from nst_desktop.engine.net import Precision

    return Precision.choose("auto", torch.device(device_id)).describe()


def pixel_steps(
    long_side: int, aspect_hw: tuple[int, int], steps: int, start_size: int = 0, device_id: str = "cpu"
) -> int:
    """:func:`schedule.pixel_steps` for ``device_id``'s type and the number format "auto" runs
    its network in; ``start_size`` 0: the device's default."""
    return schedule.pixel_steps(device_type(device_id), long_side, aspect_hw, steps, start_size,
                                runs_half(device_id))


def default_rate(device_id: str, cpu_cores: int) -> float:
    """Built-in seconds per pixel-step for a device id ("cpu", "cuda:N", "mps")."""
    if device_id.startswith("cuda"):
        return GPU_SECONDS_PER_PIXEL_STEP
    if device_id == "mps":
        return MPS_SECONDS_PER_PIXEL_STEP
    from nst_desktop.engine.net import cpu_auto_bf16

    per_core = CPU_AMX_CORE_SECONDS_PER_PIXEL_STEP if cpu_auto_bf16() else CPU_CORE_SECONDS_PER_PIXEL_STEP
    return per_core / max(1, cpu_cores)


def estimate_run(
    long_side: int,
    aspect_hw: tuple[int, int],
    steps: int,
    device_id: str,
    cpu_cores: int,
    measured_rates: dict[str, float] | None = None,
    optimizer: str = "lbfgs",
    tested_rates: dict[str, float] | None = None,
    memory_limit_mb: int = 0,
    tile: int = 0,
    seamless: bool = False,
    device_memory_bytes: int | None = None,
    step_seconds: dict[str, float] | None = None,
) -> RunEstimate:
    """Estimate a run of ``steps`` loss evaluations ending at ``long_side`` px on ``device_id``.

    ``aspect_hw`` is the content's (height, width) (any scale). ``measured_rates`` maps
    device ids to seconds per pixel-step measured by :func:`measured_rate` from finished
    runs; ``tested_rates``, to those of the speed test (used where no run measured one).
    Sizes that do not fit the memory (``memory_limit_mb``, else what the device has free) are
    planned in tiles as the engine plans them (:func:`sizing.plan_run`), and their time weighted
    by the tiles' extra work; a run that cannot fit even tiled is ``too_large``.
    ``device_memory_bytes``: the device's memory (default: the CPU's free memory, and no
    limit on other devices, whose memory the caller knows). ``step_seconds``: device id -> the
    fixed part of a step's seconds (the speed test's), added for each step and each size's setup;
    the rates are then the part per pixel. The time is the engine's model
    (:func:`engine.measure.speed.run_seconds`) of the run as the engine plans it.
    """
    import torch

    from nst_desktop.engine.errors import TooLarge
    from nst_desktop.engine.measure.speed import Speed, run_seconds
    from nst_desktop.engine.plan import sizing

    h, w = scaled_size(aspect_hw, long_side)
    rate, basis = (measured_rates or {}).get(device_id), "runs"
    if rate is None:
        rate, basis = (tested_rates or {}).get(device_id), "test"
    per_step = (step_seconds or {}).get(device_id, 0.0)
    if rate is None:
        rate, basis, per_step = default_rate(device_id, cpu_cores), "guess", 0.0
    speed = Speed(rate, per_step)
    kind, half = device_type(device_id), runs_half(device_id)
    params = StyleParams(size=long_side, steps=steps, optimizer=optimizer, memory_limit_mb=memory_limit_mb,  # type: ignore[arg-type]
                         tile=tile, seamless=seamless, device=device_id)
    if memory_limit_mb or kind == "cpu" and device_memory_bytes is None:
        budget = sizing.budget_bytes(params, torch.device("cpu"))
    elif device_memory_bytes:
        budget = int(device_memory_bytes * sizing.FREE_MEMORY_SHARE)
    else:
        budget = 1 << 62  # unknown: planned whole
    try:
        plan = sizing.plan_run(params, aspect_hw, kind, half, budget, graphs=kind == "cuda")
    except TooLarge as exc:
        mem = memory.estimate_for_long_side(long_side, aspect_hw, optimizer, kind == "cuda", kind, half)
        seconds = speed.seconds(pixel_steps(long_side, aspect_hw, steps, device_id=device_id),
                                fixed_steps(long_side, steps, 0, device_id))
        return RunEstimate(h, w, mem, seconds, basis, too_large=True, fits=exc.fits)
    h, w = plan.sizes[-1]
    mem = max(p.peak_bytes for p in plan.plans)
    return RunEstimate(h, w, mem, run_seconds(plan, speed, budget, kind, half), basis, tile=plan.plans[-1].tile)


def largest_fitting_long_side(
    budget_bytes: int, aspect_hw: tuple[int, int], device_id: str, optimizer: str = "lbfgs"
) -> int | None:
    """:func:`memory.largest_fitting_long_side` for a run on ``device_id`` as :func:`estimate_run` models it."""
    kind = device_type(device_id)
    return memory.largest_fitting_long_side(budget_bytes, aspect_hw, optimizer, graphs=kind == "cuda",
                                            device_type=kind, half=runs_half(device_id))


def fixed_steps(long_side: int, steps: int, start_size: int = 0, device_id: str = "cpu") -> float:
    """Steps of a run plus :data:`schedule.SIZE_SETUP_STEPS` per size: how often it pays a
    step's fixed part (:class:`engine.measure.speed.Speed`)."""
    stages = schedule.plan_for(device_type(device_id), long_side, steps, start_size, half=runs_half(device_id))
    return schedule.fixed_steps(stages)


def measured_rate(
    long_side: int, aspect_hw: tuple[int, int], steps_done: int, elapsed_s: float, device_id: str = "cpu",
    per_step_s: float = 0.0,
) -> float | None:
    """Seconds per pixel-step of a finished run on ``device_id`` beyond ``per_step_s``, the fixed
    part of each step (see :func:`estimate_run`), or None if it was too small to tell."""
    work = pixel_steps(long_side, aspect_hw, max(1, steps_done), device_id=device_id)
    if steps_done <= 0 or elapsed_s <= 0 or work < MIN_CALIBRATION_PIXEL_STEPS:
        return None
    left = elapsed_s - per_step_s * fixed_steps(long_side, max(1, steps_done), 0, device_id)
    return left / work if left > 0 else None


def format_duration(seconds: float) -> str:
    """A duration as people say it, the one wording of every time the app shows: '40 s',
    '1 min 20 s' (to the second below :data:`SECONDS_SHOWN_BELOW`), '12 min', '1 h 20 min'."""
    if not math.isfinite(seconds):
        return "a long time"
    total = max(1, round(seconds))
    if total < 60:
        return f"{total} s"
    if total < SECONDS_SHOWN_BELOW:
        minutes, secs = divmod(total, 60)
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min" if minutes % 60 else f"{minutes // 60} h"


#: Durations from this many seconds on are said to the minute ("12 min", not "12 min 7 s").
SECONDS_SHOWN_BELOW = 600


def format_bytes(n: int) -> str:
    """'850 MB', '3.2 GB' (decimal units): the engine's own wording (:func:`memory.memory_text`)."""
    return memory.memory_text(n)


def _stem(name: str) -> str:
    stem = Path(name).stem if name else ""
    stem = re.sub(r"[^\w.-]+", "-", stem, flags=re.UNICODE).strip("-.")
    return stem or "image"


def suggested_output_name(content_name: str, style_name: str, extension: str = ".png") -> str:
    """File name for a result: ``<content stem>-in-style-of-<style stem><extension>``.

    Names are file names or paths; characters unsafe in file names become '-'.
    """
    return f"{_stem(content_name)}-in-style-of-{_stem(style_name)}{extension}"
