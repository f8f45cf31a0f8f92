"""A run's progress: loss evaluations counted over all sizes, reports with previews and ETA,
and the cancel flag."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from nst_desktop.engine.image.images import scaled_size, tensor_to_pil
from nst_desktop.engine.params import Phase, Progress
from nst_desktop.engine.plan import schedule

ProgressCallback = Callable[[Progress], None]

class StepCancelled(Exception):
    """Raised between the tiles of a step when the run is cancelled (a step at a print size can
    take minutes): the optimiser stops with the best image so far, as after a whole step."""


#: Least seconds between previews on GPUs (5 a second is smooth; more costs time).
GPU_PREVIEW_INTERVAL_S = 0.2


@dataclass
class Tracker:
    """Counts loss evaluations over the whole run, reports progress, checks cancel.

    The optimisers advance ``step``, ``work_done`` and the latest losses; the run sets
    ``stage_index`` and ``size_hw`` at each size.
    """

    total: int
    stages: list[schedule.Stage]
    on_progress: ProgressCallback | None
    cancel: threading.Event | None
    preview_every: int
    t0: float
    out_hw: tuple[int, int]
    step: int = 0
    work_done: float = 0.0  # pixel-steps done, for the ETA
    stage_index: int = 0
    size_hw: tuple[int, int] = (0, 0)
    content: float = math.nan
    style: float = math.nan
    loss: float = math.nan
    #: Least seconds between two previews (on GPUs steps take milliseconds, and a
    #: preview costs a device-to-host copy and a Pillow conversion).
    min_preview_interval_s: float = 0.0
    last_preview: float = -math.inf
    #: Per size of ``stages``: cost of a pixel-step there relative to an untiled one (tiles'
    #: margins and Gram pass, see tiled_objective.step_cost); empty: 1 everywhere.
    stage_costs: list[float] = field(default_factory=list)

    @property
    def cost(self) -> float:
        """The current size's cost of a pixel-step (the unit of ``work_done``)."""
        return self.stage_costs[self.stage_index] if self.stage_costs else 1.0

    @staticmethod
    def for_run(
        stages: list[schedule.Stage], on_progress: ProgressCallback | None, cancel: threading.Event | None,
        preview_every: int, t0: float, out_hw: tuple[int, int], device_type: str,
    ) -> Tracker:
        """A tracker for a run of ``stages`` on a device of type ``device_type`` (previews are
        spaced in time on GPUs, see :data:`GPU_PREVIEW_INTERVAL_S`)."""
        return Tracker(
            total=sum(s.steps for s in stages),
            stages=stages,
            on_progress=on_progress,
            cancel=cancel,
            preview_every=preview_every,
            t0=t0,
            out_hw=out_hw,
            min_preview_interval_s=0.0 if device_type == "cpu" else GPU_PREVIEW_INTERVAL_S,
        )

    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def eta(self) -> float | None:
        """Seconds left, from the time per pixel-step so far and the pixel-steps to come; each
        size's setup counts as :data:`schedule.SIZE_SETUP_STEPS` steps of its pixels, on both
        sides (the sizes begun have paid theirs, the sizes to come will)."""
        if self.work_done <= 0:
            return None
        elapsed = time.perf_counter() - self.t0
        end = 0
        remaining = 0.0
        done = self.work_done
        for i, st in enumerate(self.stages):
            end += st.steps
            cost = self.stage_costs[i] if self.stage_costs else 1.0
            if i == self.stage_index:
                pixels = self.size_hw[0] * self.size_hw[1]
                remaining += max(0, end - self.step) * pixels * cost
                done += schedule.SIZE_SETUP_STEPS * pixels
            elif i > self.stage_index:
                h, w = scaled_size(self.out_hw, st.long_side)
                remaining += (st.steps * cost + schedule.SIZE_SETUP_STEPS) * h * w
            else:
                h, w = scaled_size(self.out_hw, st.long_side)
                done += schedule.SIZE_SETUP_STEPS * h * w
        return elapsed / done * remaining

    def report_tile(self, done: int, tiles: int) -> None:
        """Within a tiled step: ``done`` of ``tiles`` tiles are done. Raises :class:`StepCancelled`
        if the run was cancelled meanwhile."""
        if self.on_progress is not None:
            self.on_progress(Progress(
                step=self.step, total=self.total, stage=self.stage_index, stages=len(self.stages),
                size_hw=self.size_hw, content_loss=self.content, style_loss=self.style, loss=self.loss,
                elapsed_s=time.perf_counter() - self.t0, eta_s=self.eta(), tile=done, tiles=tiles,
            ))
        if self.cancelled():
            raise StepCancelled

    def report(self, image: Callable[[], torch.Tensor] | None = None, phase: Phase = "optimise") -> None:
        """Report the current step; ``image()`` makes the preview, on preview steps only."""
        if self.on_progress is None:
            return
        preview = None
        if image is not None and self.preview_every and (self.step % self.preview_every == 0):
            now = time.perf_counter()
            if now - self.last_preview >= self.min_preview_interval_s:
                preview = tensor_to_pil(image())
                self.last_preview = now
        self.on_progress(
            Progress(
                step=self.step,
                total=self.total,
                stage=self.stage_index,
                stages=len(self.stages),
                size_hw=self.size_hw,
                content_loss=self.content,
                style_loss=self.style,
                loss=self.loss,
                elapsed_s=time.perf_counter() - self.t0,
                eta_s=self.eta(),
                preview=preview,
                phase=phase,
            )
        )
