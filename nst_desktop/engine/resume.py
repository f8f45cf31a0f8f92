"""A continue: going on from an earlier result, with its L-BFGS state where there is one.

The state of a finished run is kept on the CPU (``StyleResult.state``). A continue at the
size the state has, with the "lbfgs" optimiser, on the device the state is on, goes on with
that state itself, in place: a copy would cost as much memory as the history (about 180
bytes per pixel). The state is then *consumed*: it has moved on, and after a failed run it
may be part-way. On another device the state is copied there; at another size a new state
is resampled from it (:meth:`DeviceLBFGS.resized`); either way the caller's is left as it was.
:attr:`Resume.consumed` says which happened, so callers need not know this rule.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from PIL import Image

from nst_desktop.engine.image.images import scaled_size
from nst_desktop.engine.image.inputs import working_hw
from nst_desktop.engine.optim.device_lbfgs import DeviceLBFGS
from nst_desktop.engine.plan.memory import LBFGS_HISTORY

#: Largest optimiser state a run keeps for a later continue (host memory, bytes): 512 MiB is an
#: L-BFGS history of about 1.1 megapixels (1024 x 1024). Larger runs continue with a fresh L-BFGS.
KEEP_STATE_MAX_BYTES = 512 * 2**20


def state_bytes(content_hw: tuple[int, int], size: int) -> int:
    """Bytes of the L-BFGS state at the end of a run of a photo of ``content_hw`` (height, width, px) at
    ``size`` (long side, px): its history, gradient and iterates."""
    h, w = working_hw(scaled_size(content_hw, size))
    return DeviceLBFGS.state_bytes(3 * h * w, LBFGS_HISTORY)


def can_keep_state(content_hw: tuple[int, int], size: int) -> bool:
    """Whether a run of this photo at this size may keep its optimiser state for a continue
    (at most :data:`KEEP_STATE_MAX_BYTES`)."""
    return state_bytes(content_hw, size) <= KEEP_STATE_MAX_BYTES


@dataclass(frozen=True, eq=False)
class Resume:
    """Continue from ``image`` (an earlier result, RGB), with ``state`` (that run's
    ``StyleResult.state``, or None for a fresh L-BFGS from the image).

    Pass it as ``stylize(..., options=RunOptions(resume=Resume(result.image, result.state)))``. It crosses
    threads (made in the window's, used in the worker's): its only changing part is
    :attr:`consumed`, an event.
    """

    image: Image.Image
    state: DeviceLBFGS | None = field(default=None, repr=False)
    _consumed: threading.Event = field(default_factory=threading.Event, init=False, repr=False)

    @property
    def consumed(self) -> bool:
        """True once a run went on with :attr:`state` itself (in place): it has changed, and
        if that run failed it may be part-way and should be dropped. False while the state
        is as it was (no run yet, or a run that copied or resampled it, or did not use it)."""
        return self._consumed.is_set()


def on_device(state: DeviceLBFGS, device: torch.device) -> bool:
    """Whether ``state`` is on ``device`` already (``cuda`` and ``cuda:0`` count as one)."""
    here = state.x.device
    return here.type == device.type and (device.index is None or here.index == device.index)


def on_cpu(state: DeviceLBFGS | None) -> DeviceLBFGS | None:
    """``state`` on the CPU (a result's state is kept there between runs); no copy if it is there already."""
    cpu = torch.device("cpu")
    if state is None or on_device(state, cpu):
        return state
    return state.to(cpu)


def starting_point(
    resume: Resume | None,
    stateful: bool,
    hw: tuple[int, int],
    device: torch.device,
    initial: Callable[[], torch.Tensor],
) -> tuple[torch.Tensor, DeviceLBFGS | None]:
    """The first size's first iterate and the L-BFGS state to go on with (None: a fresh one).

    ``stateful``: the optimiser uses a state (else ``resume.state`` is ignored). ``hw``: the
    first size; ``initial()`` makes the first iterate from the start image when the state
    does not provide it. See the module docstring for when the caller's state is consumed.
    """
    state = resume.state if resume is not None and stateful else None
    if state is None:
        return initial(), None
    assert resume is not None
    if tuple(state.shape[-2:]) == hw:
        if on_device(state, device):
            resume._consumed.set()  # goes on in place
        else:
            state = state.to(device)  # a copy there; the caller's stays as it was
        return state.x.detach(), state
    # Another size: a new state on x's device, resampled from the caller's wherever that is
    # (no copy of the old size's history on this device).
    x = initial()
    return x, state.resized(x)
