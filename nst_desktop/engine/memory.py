"""Peak-memory estimate of a run, and the largest size that fits a device.

The model counts, per input pixel, what autograd keeps for VGG19 up to relu5_1
(every ReLU output in the network's dtype, the max-pool indices in int64), the
transient buffers of the backward pass, and the image-sized buffers of the optimiser
(float32), plus a fixed part per device type. It is calibrated against
``torch.cuda.max_memory_allocated`` on GPUs and the process's peak resident memory on
CPUs (see ``nst-desktop-cli bench``). ``half``: the network runs in bfloat16.
"""

from __future__ import annotations

import math

from nst_desktop.engine.images import scaled_size

_F32 = 4
_BF16 = 2
_I64 = 8
#: Activations kept for backward per input pixel, by block: (channels, taps, stride).
_BLOCKS = ((64, 2, 1), (128, 2, 2), (256, 4, 4), (512, 4, 8), (512, 1, 16))
#: Widest layer's channels (relu1_x, at full resolution).
_WIDEST = 64


def _per_pixel(optimizer: str, half: bool) -> float:
    """Bytes per input pixel: saved activations, transients and the optimiser's buffers."""
    act = _BF16 if half else _F32
    saved = sum(c * n * act / s**2 for c, n, s in _BLOCKS)  # ReLU outputs
    saved += sum(c * _I64 / (2 * s) ** 2 for c, _n, s in _BLOCKS[:4])  # max-pool indices
    saved += 3 * _F32  # the preprocessed input
    # While the backward pass runs: two gradients at the widest layer plus a conv output
    # of the forward pass; with a bfloat16 network also the float32 copy of relu1_1 that
    # its Gram matrix is computed from.
    transient = 3 * _WIDEST * act + (_WIDEST * _F32 if half else 0)
    return saved + transient + optimiser_bytes_per_pixel(optimizer)


#: Fixed part by device type, bytes. GPUs: weights of the conv layers up to relu5_1,
#: cuDNN workspace and allocator slack, calibrated on an H100 (torch 2.11, TF32, after
#: cuDNN autotuning): measured peak vs this estimate was 296/288 MiB at 256x192, 671/672
#: at 512x384, 2121/2209 at 1024x768 and 8051/8356 at 2048x1536. CPUs: the run's copy of
#: the weights and oneDNN's scratch space; measured as the growth of the peak resident
#: memory over a run (2-core AMX CPU, torch 2.14; bfloat16 / float32): 132/190 MiB at
#: 256x192, 468/546 at 512x384, 1592/2137 at 1024x768, against estimates of 162/195,
#: 455/588 and 1627/2158 MiB.
_FIXED_BYTES = 160 * 2**20
_FIXED_BYTES_BY_DEVICE = {"cpu": 64 * 2**20}


def _fixed_bytes(device_type: str) -> int:
    return _FIXED_BYTES_BY_DEVICE.get(device_type, _FIXED_BYTES)


#: Memory a CUDA-graph step holds beyond the eager model, in bytes per square root of
#: the pixel count: fitted on an H100 (torch 2.11, TF32, cuDNN heuristics), where the
#: measured peak exceeded the eager estimate by 165 / 350 / 504 MiB at 512x384 /
#: 1024x768 / 2048x1536 (``nst-desktop-cli bench``). Empirical, not derived.
_GRAPH_BYTES_PER_SQRT_PIXEL = 0.37 * 2**20
#: L-BFGS history pairs kept (see optim_lbfgs.py).
LBFGS_HISTORY = 20


def optimiser_bytes_per_pixel(optimizer: str) -> float:
    """Image-sized float32 RGB buffers the optimiser holds, in bytes per pixel."""
    if optimizer == "lbfgs":
        # engine/lbfgs.py: s/y history and the gradient row, the iterate, best iterate,
        # previous gradient and step, and the update's temporaries.
        buffers = 2 * LBFGS_HISTORY + 11
    elif optimizer == "lbfgs-wolfe":
        buffers = 2 * LBFGS_HISTORY + 6  # torch.optim.LBFGS: s/y history, params, grad, direction ...
    else:
        buffers = 6  # params, grad, two moments, EMA, best
    return buffers * 3 * _F32


def estimate_peak_bytes(
    height: int, width: int, optimizer: str = "lbfgs", graphs: bool = False, device_type: str = "cuda",
    half: bool = False,
) -> int:
    """Estimated peak memory of one run at ``height`` x ``width`` px on a device type, in bytes.

    ``graphs``: the step runs as a CUDA graph (L-BFGS on CUDA), which holds its own
    memory pool beside the eager warm-up steps' (see :data:`_GRAPH_BYTES_PER_SQRT_PIXEL`).
    ``half``: the network runs in bfloat16 (see ``precision.Precision``).
    """
    pixels = height * width
    extra = _GRAPH_BYTES_PER_SQRT_PIXEL * math.sqrt(pixels) if graphs and optimizer == "lbfgs" else 0
    return int(_fixed_bytes(device_type) + _per_pixel(optimizer, half) * pixels + extra)


def estimate_for_long_side(
    long_side: int, aspect_hw: tuple[int, int], optimizer: str = "lbfgs", graphs: bool = False,
    device_type: str = "cuda", half: bool = False,
) -> int:
    """:func:`estimate_peak_bytes` for an output of long side ``long_side`` with the given aspect."""
    h, w = scaled_size(aspect_hw, long_side)
    return estimate_peak_bytes(h, w, optimizer, graphs, device_type, half)


def largest_fitting_long_side(
    budget_bytes: int, aspect_hw: tuple[int, int], optimizer: str = "lbfgs", multiple: int = 16,
    graphs: bool = False, device_type: str = "cuda", half: bool = False,
) -> int | None:
    """Largest long side (a multiple of ``multiple`` px) whose estimate fits ``budget_bytes``.

    Returns ``None`` if not even ``multiple`` px fits.
    """
    h, w = aspect_hw
    avail = budget_bytes - _fixed_bytes(device_type)
    if avail <= 0:
        return None
    max_pixels = avail / _per_pixel(optimizer, half)
    long_side = math.sqrt(max_pixels * max(h, w) / min(h, w))
    lo = int(long_side // multiple) * multiple

    def estimate(side: int) -> int:
        return estimate_for_long_side(side, aspect_hw, optimizer, graphs, device_type, half)

    # The continuous answer is close; rounding of the short side can move it either way.
    while lo >= multiple and estimate(lo) > budget_bytes:
        lo -= multiple
    while estimate(lo + multiple) <= budget_bytes:
        lo += multiple
    return lo if lo >= multiple else None
