"""The default optimiser: L-BFGS on the device (:class:`DeviceLBFGS`), one size at a time.

On CUDA the step is captured as a CUDA graph after a few eager steps and the losses are
read back in batches; elsewhere every step runs eagerly and is read at once.
"""

from __future__ import annotations

import contextlib
import math

import torch

from nst_desktop.engine.errors import NumericalError
from nst_desktop.engine.net.objective import Objective
from nst_desktop.engine.optim.device_lbfgs import DeviceLBFGS
from nst_desktop.engine.plan import memory
from nst_desktop.engine.plan.oom import is_out_of_memory
from nst_desktop.engine.progress import StepCancelled, Tracker
from nst_desktop.engine.tiling.objective import TiledObjective

#: L-BFGS: curvature pairs kept (memory: see memory.py).
LBFGS_HISTORY = memory.LBFGS_HISTORY
#: Steps run eagerly at each size before the step is captured as a CUDA graph (cuDNN
#: autotuning and the allocator settle during these; they are real steps).
GRAPH_WARMUP_STEPS = 3
#: On CUDA the host reads the losses back every this many steps (unless previews come
#: more often); in between, steps are queued without waiting for the GPU.
SYNC_EVERY = 10


class LbfgsStage:
    """One size's optimisation with :class:`DeviceLBFGS`: the step as a function of device
    tensors only, run eagerly or replayed as a CUDA graph, with losses recorded on the
    device and read back in batches."""

    def __init__(self, objective: Objective, opt: DeviceLBFGS, steps: int) -> None:
        self.objective, self.opt = objective, opt
        dev = opt.x.device
        #: Per step: total loss, content loss, style loss, 1 if finite.
        self.stats = torch.zeros(max(1, steps), 4, device=dev)
        self.index = torch.zeros(1, dtype=torch.long, device=dev)
        self.graph: torch.cuda.CUDAGraph | None = None

    def body(self) -> None:
        total, c, s, grad = self.objective.value_and_grad(self.opt.x)
        with torch.no_grad():
            ok = self.opt.update(total, grad)
            row = torch.stack([total.detach().float(), c.detach().float(), s.detach().float(), ok])
            self.stats.index_copy_(0, self.index, row.view(1, 4))
            self.index.add_(1)

    def capture(self) -> bool:
        """Capture :meth:`body` as a CUDA graph; False (and eager from then on) if capture fails.

        Captured on a stream of the state's own device (torch's default capture stream
        belongs to whichever device was current when it was first made). Running out of
        memory during capture is raised as such (the caller retries at a smaller size);
        any other failure leaves the steps eager. Either way the thread's current stream
        is restored: a capture that fails inside ``torch.cuda.graph`` can leave it set to
        the capture stream.
        """
        device = self.opt.x.device
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()  # the graph's private pool can take over the eager steps' cached blocks
        graph = torch.cuda.CUDAGraph()
        previous = torch.cuda.current_stream(device)
        try:
            with torch.cuda.graph(graph, stream=torch.cuda.Stream(device)):
                self.body()
        except Exception as exc:  # noqa: BLE001 - any capture failure: fall back to eager steps
            torch.cuda.set_stream(previous)
            torch.cuda.synchronize(device)
            if is_out_of_memory(exc):
                raise
            return False
        self.graph = graph
        return True

    def step(self) -> None:
        if self.graph is not None:
            self.graph.replay()
        else:
            self.body()


def run_lbfgs(
    objective: Objective | TiledObjective, x0: torch.Tensor, budget_end: int, tracker: Tracker,
    state: DeviceLBFGS | None = None, history: int = LBFGS_HISTORY,
) -> tuple[torch.Tensor, DeviceLBFGS]:
    """L-BFGS on the device (:class:`DeviceLBFGS`) until ``tracker.step`` reaches ``budget_end``.

    Returns the best iterate (lowest loss seen) and the optimiser (to continue later).
    ``state``: an optimiser of the same size to go on with (its history is kept; it is
    advanced in place). On CUDA (``precision.cuda_graphs``) the step is captured as a
    graph after :data:`GRAPH_WARMUP_STEPS` eager steps, and losses are read back every
    :data:`SYNC_EVERY` steps; elsewhere every step is read at once. ``history``: curvature
    pairs kept by a fresh optimiser (fewer at print sizes, see :func:`memory.plan_size`).
    A tiled step cancelled between its tiles (:class:`StepCancelled`) ends the size there.
    """
    device = x0.device
    if state is not None and state.shape == x0.shape:
        opt = state
        opt.best_loss.fill_(math.inf)  # judged afresh: the objective may have changed since
        opt.best_x.copy_(opt.x.detach())
    else:
        opt = DeviceLBFGS(x0, history)
    steps = budget_end - tracker.step
    stage = LbfgsStage(objective, opt, steps)
    cuda = device.type == "cuda"
    use_graph = cuda and objective.precision.cuda_graphs and not objective.tiled
    every = min(tracker.preview_every or SYNC_EVERY, SYNC_EVERY) if cuda else 1
    side = torch.cuda.Stream(device) if use_graph else None
    if side is not None:
        side.wait_stream(torch.cuda.current_stream(device))
    queued = read = 0
    hw = x0.shape[-1] * x0.shape[-2]
    # On the state's own device: graph capture and stream waits otherwise use the current one.
    with torch.cuda.device(device) if cuda else contextlib.nullcontext():
        try:
            while queued < steps and not tracker.cancelled():
                if use_graph and queued == GRAPH_WARMUP_STEPS and stage.graph is None:
                    torch.cuda.current_stream(device).wait_stream(side)
                    side = None
                    use_graph = stage.capture()
                try:
                    if side is not None:
                        with torch.cuda.stream(side):
                            stage.step()
                    else:
                        stage.step()
                except StepCancelled:
                    break
                queued += 1
                latest = tracker.step + queued - read  # the number of the step just queued
                if read_back_due(latest, every, tracker.preview_every) or queued == steps:
                    if side is not None:  # the warm-up steps' losses and image are written on the side stream
                        torch.cuda.current_stream(device).wait_stream(side)
                    read = _read_back(stage, read, queued, tracker, hw)
        finally:
            if side is not None:
                torch.cuda.current_stream(device).wait_stream(side)
    if read < queued:
        _read_back(stage, read, queued, tracker, hw)
    if not math.isfinite(float(opt.best_loss)) and tracker.step > 0 and not tracker.cancelled():
        raise NumericalError("The optimisation produced NaN/Inf from the start.")
    return opt.best_x.clone(), opt


def read_back_due(step: int, every: int, preview_every: int) -> bool:
    """Whether the losses are read back after step number ``step`` is queued: every ``every``
    steps, and at every preview step (a preview is made only when its step is read back)."""
    return step % every == 0 or (preview_every > 0 and step % preview_every == 0)


def _read_back(stage: LbfgsStage, read: int, queued: int, tracker: Tracker, hw: int) -> int:
    """Report steps ``read..queued`` from the device's loss record (one device-to-host copy)."""
    rows = stage.stats[read:queued].tolist()
    opt = stage.opt
    for i, (total, c, s, ok) in enumerate(rows):
        tracker.step += 1
        tracker.work_done += hw * tracker.cost
        if ok == 1.0:
            tracker.content, tracker.style, tracker.loss = c, s, total
        last = i == len(rows) - 1
        tracker.report((lambda: stage.objective.compose(opt.best_x)) if last else None)
    return queued
