"""The speed model: how long a planned run takes on a device whose speed was measured.

A step at ``p`` pixels takes ``per_step_s + per_pixel_s * p`` seconds (:class:`Speed`: a fixed
part, the optimiser's bookkeeping and dispatching each layer, and a part per pixel; measured by
the speed test, :func:`calibrate.measure_speed`). A run takes, size by size of its plan
(:class:`sizing.RunPlan`), its steps at that size plus the size's setup
(:data:`schedule.SIZE_SETUP_STEPS` steps' worth: targets, resizing) at that cost; a tiled size's
part per pixel is weighted by the tiles' extra work (:meth:`RunPlan.work`), and a CPU run that
does not keep its freed memory pays :func:`sizing.time_factor` on it (:func:`run_seconds`).

The window's estimate (``services/jobs.py``, ``estimate_run``) and the estimate column of
``nst-desktop-cli bench`` both come from :func:`run_seconds`.
"""

from __future__ import annotations

from dataclasses import dataclass

from nst_desktop.engine.plan import schedule, sizing


@dataclass(frozen=True)
class Speed:
    """A device's speed: a step of a run at ``p`` pixels takes ``per_step_s + per_pixel_s * p``
    seconds (the speed test's include :data:`calibrate.RUN_OVERHEAD`)."""

    per_pixel_s: float
    per_step_s: float = 0.0

    def step_seconds(self, pixels: float) -> float:
        """Seconds of one step at ``pixels``."""
        return self.per_step_s + self.per_pixel_s * pixels

    def seconds(self, pixel_steps: float, steps: float) -> float:
        """Seconds of ``steps`` steps that see ``pixel_steps`` pixels in all (each size's setup counted
        in both as :data:`schedule.SIZE_SETUP_STEPS` steps)."""
        return self.per_pixel_s * pixel_steps + self.per_step_s * steps


def run_seconds(run_plan: sizing.RunPlan, speed: Speed, budget: int, device_type: str, half: bool) -> float:
    """Seconds of a run planned as ``run_plan`` (with ``budget`` bytes of memory, on a device of
    ``device_type`` running the network in bfloat16 if ``half``) at ``speed``: steps x (fixed +
    per pixel x pixels) plus each size's setup, tiled sizes weighted by their tiles' extra work
    and the part per pixel by :func:`sizing.time_factor`."""
    factor = sizing.time_factor(run_plan, budget, device_type, half)
    return speed.seconds(run_plan.work() * factor, schedule.fixed_steps(run_plan.stages))


__all__ = ["Speed", "run_seconds"]
