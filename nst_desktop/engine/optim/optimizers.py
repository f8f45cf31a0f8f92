"""The optimisers behind one interface, chosen by name from :data:`OPTIMIZERS`.

Each runs one size of the schedule: ``run(objective, x0, budget_end, tracker, state)``
optimises from ``x0`` until ``tracker.step`` reaches ``budget_end`` (or the run is
cancelled) and returns ``(best image, state)``. Only a ``stateful`` optimiser (the
on-device L-BFGS) takes an L-BFGS state to go on with and returns its own; the others
take None and return None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch

from nst_desktop.engine.net.objective import Objective
from nst_desktop.engine.optim.adam import run_adam
from nst_desktop.engine.optim.device_lbfgs import DeviceLBFGS
from nst_desktop.engine.optim.lbfgs import run_lbfgs
from nst_desktop.engine.optim.wolfe import run_lbfgs_wolfe
from nst_desktop.engine.params import OptimizerName
from nst_desktop.engine.progress import Tracker
from nst_desktop.engine.tiling.objective import TiledObjective

#: Device types on which the L-BFGS curvature pairs are carried from one size of the
#: schedule to the next (:meth:`DeviceLBFGS.resized`). On the CPU it lowered the loss
#: of short schedules (cat x night at 256 px, 60 steps: 1.175 -> 1.130). Not yet measured
#: on GPUs, where the resampling also briefly needs the history of both sizes in memory
#: (beyond the peak that :mod:`memory` estimates).
CARRY_HISTORY = {"cpu"}


class StageRun(Protocol):
    """One size's optimisation (see the module docstring). ``x0``: ``(1, 3, H, W)`` float32 RGB
    on the device, nominally in [0, 1]; the returned image has the same shape."""

    def __call__(
        self, objective: Objective | TiledObjective, x0: torch.Tensor, budget_end: int, tracker: Tracker,
        state: DeviceLBFGS | None = None, history: int = ...,
    ) -> tuple[torch.Tensor, DeviceLBFGS | None]: ...


@dataclass(frozen=True)
class Optimizer:
    """An optimiser as a run uses it: its stage function, and whether it goes on from an
    L-BFGS state (a continue's, or the previous size's) and returns one."""

    run: StageRun
    stateful: bool = False

    def carried(self, state: DeviceLBFGS | None, x: torch.Tensor, history: int | None = None) -> DeviceLBFGS | None:
        """The state the next size starts with, ``x`` being its first iterate: the last size's
        history resampled to it where that pays (:data:`CARRY_HISTORY`), else None (a fresh
        L-BFGS)."""
        if not self.stateful or state is None or x.device.type not in CARRY_HISTORY:
            return None
        return state.resized(x, history)


#: The optimisers by name; the names are :data:`nst_desktop.engine.params.OPTIMIZERS`.
OPTIMIZERS: dict[OptimizerName, Optimizer] = {
    "lbfgs": Optimizer(run_lbfgs, stateful=True),
    "lbfgs-wolfe": Optimizer(run_lbfgs_wolfe),
    "adam": Optimizer(run_adam),
}
