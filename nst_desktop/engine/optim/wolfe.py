"""The reference optimiser: ``torch.optim.LBFGS`` with strong-Wolfe line search, one size at a time."""

from __future__ import annotations

import math

import torch

from nst_desktop.engine.errors import NumericalError
from nst_desktop.engine.net.objective import Objective, read_step
from nst_desktop.engine.optim.device_lbfgs import DeviceLBFGS
from nst_desktop.engine.optim.lbfgs import LBFGS_HISTORY
from nst_desktop.engine.progress import StepCancelled, Tracker
from nst_desktop.engine.tiling.objective import TiledObjective

#: Restarts (from the best iterate, with an empty history) after NaN/Inf or an early stop.
MAX_RESTARTS = 3


class _Stop(Exception):
    """Raised inside the loss closure to leave the optimiser's loop."""


class _NonFinite(Exception):
    """Raised inside the loss closure when the loss is NaN or Inf."""


class _Best:
    """The lowest-loss iterate seen so far (a detached copy)."""

    def __init__(self, x0: torch.Tensor) -> None:
        self.x = x0.detach().clone()
        self.loss = math.inf

    def offer(self, x: torch.Tensor, loss: float) -> None:
        if loss < self.loss:
            self.loss = loss
            self.x = x.detach().clone()


class _LbfgsClosure:
    """Loss-and-gradient closure for ``torch.optim.LBFGS`` that also counts, reports and cancels."""

    def __init__(
        self,
        objective: Objective | TiledObjective,
        x: torch.Tensor,
        opt: torch.optim.Optimizer,
        tracker: Tracker,
        budget_end: int,
        best: _Best,
    ) -> None:
        self.objective, self.x, self.opt = objective, x, opt
        self.tracker, self.budget_end, self.best = tracker, budget_end, best

    def __call__(self) -> torch.Tensor:
        tracker, x = self.tracker, self.x
        if tracker.cancelled() or tracker.step >= self.budget_end:
            raise _Stop
        try:
            total, c, s, grad = self.objective.value_and_grad(x)
        except StepCancelled:
            raise _Stop from None
        # In x's layout (contiguous NCHW): the gradient comes back in the network's layout
        # (channels-last, see Precision.features), and torch's LBFGS flattens p.grad with
        # .view(-1), which backward() would have made safe but a direct assignment does not.
        x.grad = grad.contiguous()
        value, c_value, s_value, finite = read_step(total, c, s, x.grad)
        if not finite:
            raise _NonFinite
        tracker.step += 1
        tracker.work_done += x.shape[-1] * x.shape[-2] * tracker.cost
        tracker.content, tracker.style, tracker.loss = c_value, s_value, value
        self.best.offer(x, value)
        tracker.report(lambda: self.objective.compose(x.detach()))
        return total


def run_lbfgs_wolfe(
    objective: Objective | TiledObjective, x0: torch.Tensor, budget_end: int, tracker: Tracker,
    state: DeviceLBFGS | None = None, history: int = 0,
) -> tuple[torch.Tensor, None]:
    """``torch.optim.LBFGS`` with strong-Wolfe line search until ``tracker.step`` reaches ``budget_end``.

    The reference optimiser of ``nst-desktop-cli bench --reference`` (optimizer
    "lbfgs-wolfe"); it reads values back to the host several times per step. It keeps
    no state between sizes or runs (``state`` and ``history`` are not used; None is returned
    for the state).

    Returns the best iterate (lowest loss) seen. If the loss becomes NaN/Inf, or the
    optimiser stops on its own before the budget is spent, it restarts from the best
    iterate with an empty history; after :data:`MAX_RESTARTS` restarts the stage ends.
    """
    best = _Best(x0)
    restarts = 0
    while tracker.step < budget_end and not tracker.cancelled() and restarts <= MAX_RESTARTS:
        x = best.x.clone().requires_grad_(True)
        opt = torch.optim.LBFGS(
            [x],
            lr=1.0,
            max_iter=2 * (budget_end - tracker.step),
            max_eval=budget_end - tracker.step,
            tolerance_grad=0.0,
            tolerance_change=0.0,
            history_size=LBFGS_HISTORY,
            line_search_fn="strong_wolfe",
        )
        before = tracker.step
        try:
            opt.step(_LbfgsClosure(objective, x, opt, tracker, budget_end, best))
        except _Stop:
            break
        except _NonFinite:
            pass
        if tracker.step == before:
            break  # no progress possible at this size
        restarts += 1
    if not math.isfinite(best.loss) and tracker.step > 0 and not tracker.cancelled():
        raise NumericalError("The optimisation produced NaN/Inf from the start.")
    return best.x, None
