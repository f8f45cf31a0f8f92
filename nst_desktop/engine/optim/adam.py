"""Adam in pixel space, one size at a time; the result is the EMA of the iterates."""

from __future__ import annotations

import torch

from nst_desktop.engine.errors import NumericalError
from nst_desktop.engine.net.objective import Objective, read_step
from nst_desktop.engine.optim.device_lbfgs import DeviceLBFGS
from nst_desktop.engine.progress import StepCancelled, Tracker
from nst_desktop.engine.tiling.objective import TiledObjective

#: Adam: learning rate in [0, 1] pixel units, moment decays, and the EMA decay of the output.
ADAM_LR = 0.02
ADAM_BETAS = (0.9, 0.99)
EMA_DECAY = 0.95


def run_adam(
    objective: Objective | TiledObjective, x0: torch.Tensor, budget_end: int, tracker: Tracker,
    state: DeviceLBFGS | None = None, history: int = 0,
) -> tuple[torch.Tensor, None]:
    """Adam until ``tracker.step`` reaches ``budget_end``; returns the EMA of the iterates
    (clamped to [0, 1] after each step). Keeps no state (``state`` and ``history`` are not
    used). A tiled step cancelled between its tiles ends the size there."""
    x = x0.detach().clone().requires_grad_(True)
    ema = x0.detach().clone()
    opt = torch.optim.Adam([x], lr=ADAM_LR, betas=ADAM_BETAS)
    i = 0
    while tracker.step < budget_end and not tracker.cancelled():
        try:
            total, c, s, x.grad = objective.value_and_grad(x)
        except StepCancelled:
            break
        value, c_value, s_value, finite = read_step(total, c, s, x.grad)
        if not finite:
            raise NumericalError("The loss became NaN/Inf during Adam optimisation.")
        opt.step()
        with torch.no_grad():
            x.clamp_(0, 1)
            decay = min(EMA_DECAY, (1 + i) / (10 + i))  # debiased start
            ema.mul_(decay).add_(x.detach(), alpha=1 - decay)
        tracker.step += 1
        tracker.work_done += x.shape[-1] * x.shape[-2] * tracker.cost
        tracker.content, tracker.style, tracker.loss = c_value, s_value, value
        tracker.report(lambda: objective.compose(ema))
        i += 1
    return ema, None
