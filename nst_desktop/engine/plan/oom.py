"""Out of memory: recognising it among torch's errors, letting go of the failed run, and the
:class:`~nst_desktop.engine.errors.OutOfMemory` error with the largest size that should fit."""

from __future__ import annotations

import traceback

import torch

from nst_desktop.engine.device.devices import free_memory_bytes
from nst_desktop.engine.errors import OutOfMemory
from nst_desktop.engine.net.precision import Precision
from nst_desktop.engine.params import StyleParams
from nst_desktop.engine.plan import memory

#: Lower-case fragments of the messages of errors that mean "out of memory": PyTorch's own
#: (CUDA, MPS), and cuBLAS/cuDNN failing to allocate their workspace.
OOM_MESSAGES = ("out of memory", "cublas_status_alloc_failed", "cudnn_status_alloc_failed")
#: Share of the measured free memory the size hint plans with (the rest: fragmentation, other programs).
FREE_MEMORY_SHARE = 0.9


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the errors it was raised from or while handling, each once."""
    seen: set[int] = set()
    out: list[BaseException] = []
    error: BaseException | None = exc
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        out.append(error)
        error = error.__cause__ or error.__context__
    return out


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc``, or an error it was raised from or while handling, reports that the
    device ran out of memory (a failed CUDA graph capture can raise its own error while the
    out-of-memory error that broke it is only its context)."""
    for error in _chain(exc):
        if isinstance(error, torch.OutOfMemoryError):
            return True
        if isinstance(error, RuntimeError) and any(m in str(error).lower() for m in OOM_MESSAGES):
            return True
    return False


def let_go(exc: BaseException) -> None:
    """Drop what ``exc`` holds of the failed run: the locals of the frames in its tracebacks
    (and those of the errors it came from), which hold the failed step's activations,
    gradients and optimiser state.

    By reference counting, not by ``gc.collect()``: this runs in the worker thread, where
    a collection could destroy Qt objects outside the GUI thread (see ``ui/gc_guard.py``).
    Frames still executing (the caller's) are left alone.
    """
    for error in _chain(exc):
        if error.__traceback__ is not None:
            traceback.clear_frames(error.__traceback__)
            error.__traceback__ = None


def empty_cache(device: torch.device) -> None:
    """Give the allocator's cached, unused blocks back to the device (CUDA), so that free memory
    is what another run could allocate."""
    if device.type == "cuda":
        torch.cuda.empty_cache()


def out_of_memory_error(
    device: torch.device, params: StyleParams, out_hw: tuple[int, int], precision: Precision
) -> OutOfMemory:
    """The error for a run at ``params.size`` that ran out of memory, with the largest long side
    estimated to fit in the memory free now (call it once the failed run has let go)."""
    free = free_memory_bytes(device)
    fits = (
        memory.largest_fitting_long_side(int(free * FREE_MEMORY_SHARE), out_hw, params.optimizer,
                                         graphs=precision.cuda_graphs, device_type=device.type,
                                         half=precision.compute_dtype is not None)
        if free else None
    )
    hint = f" About {fits} px (long side) should fit." if fits else ""
    return OutOfMemory(
        f"The {device.type.upper()} ran out of memory at {params.size} px.{hint}",
        size=params.size,
        fits=fits,
    )
