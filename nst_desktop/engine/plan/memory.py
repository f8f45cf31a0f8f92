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
from dataclasses import dataclass

from nst_desktop.engine.image.images import scaled_size

_F32 = 4
_BF16 = 2
_I64 = 8
#: Activations kept for backward per input pixel, by block: (channels, taps, stride).
_BLOCKS = ((64, 2, 1), (128, 2, 2), (256, 4, 4), (512, 4, 8), (512, 1, 16))
#: Widest layer's channels (relu1_x, at full resolution).
_WIDEST = 64


def memory_text(n: int) -> str:
    """'850 MB', '3.2 GB' (decimal units): how the engine and the window write an amount of memory."""
    return f"{max(1, round(n / 1e6))} MB" if n < 1e9 else f"{n / 1e9:.1f} GB"


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
        # engine/optim/device_lbfgs.py: s/y history and the gradient row, the iterate, best iterate,
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


# ---------------------------------------------------------------------------------- tiled sizes
#: Largest inner tile side chosen automatically, px: the margins' extra work at 1024 px tiles
#: is about (1024 + 2 x 80)² / 1024² = 1.34x inside the image (less at its edges), and larger
#: tiles would buy little time for much memory.
TILE_MAX = 1024
#: Smallest inner tile side chosen automatically with L-BFGS (below it the margins cost more
#: than the tile), and with any optimiser.
TILE_MIN_LBFGS = 384
TILE_MIN = 128
#: What a tiled size optimised with L-BFGS holds beyond the buffers counted above, as a factor
#: (not found yet: the update's temporaries or the allocator's free but unreturned memory).
#: Fitted on the process's peak resident memory of Fast runs of cat.jpg x night.jpg on a 2-core
#: AMX CPU, whose tiled last sizes were estimated at 2.5 GB (2048 px, 544 px tiles, 6 pairs)
#: and 6.0 GB (4096 px, 448 px tiles, 5 pairs) and grew the peak by 3.2 and 8.0 GB. With Adam
#: the count held: an 8192 px step planned at 12 GB peaked at 11.1 GB.
TILED_LBFGS_SLACK = 1.33
#: L-BFGS history lengths tried at tiled sizes, longest first (after the size's own steps).
TILED_HISTORIES = (10, 5)


def network_bytes_per_pixel(half: bool) -> float:
    """Bytes per input pixel of the network's forward and backward alone (no optimiser)."""
    return _per_pixel("none", half) - optimiser_bytes_per_pixel("none")


def whole_image_bytes_per_pixel(optimizer: str, half: bool, history: int = LBFGS_HISTORY) -> float:
    """Bytes per pixel of a tiled size's whole-image buffers: the iterate and its gradient, the
    content's relu4_2 activations (512 channels at 1/64 of the pixels, network dtype), the
    keep-the-photo mask and photo, and the optimiser's buffers (L-BFGS with ``history`` pairs)."""
    act = _BF16 if half else _F32
    if optimizer == "lbfgs":
        opt = (2 * history + 11) * 3 * _F32
    else:
        opt = optimiser_bytes_per_pixel(optimizer)
    return 2 * 3 * _F32 + 8 * act + 4 * _F32 + opt


def forward_bytes_per_pixel(half: bool) -> float:
    """Bytes per input pixel of a forward pass without gradient (a Gram pass or a target): the
    input and its preprocessed copy (float32), three activations at the widest layer (a
    layer's input and output, and relu1_1 kept as a tap) and the float32 positions a Gram
    matrix is computed from. Nothing is kept for a backward pass."""
    act = _BF16 if half else _F32
    return 2 * 3 * _F32 + 3 * _WIDEST * act + _WIDEST * _F32


def _crop_side(side: int, tile: int, margin: int) -> int:
    """The longest crop a tile of ``tile`` px can have along an axis of ``side`` px (a short
    piece at an edge may join it: up to 1.25x)."""
    return min(side + 2 * margin, int(tile * 1.25) + 2 * margin)


def tiled_peak_bytes(
    hw: tuple[int, int], tile: int, margin: int, optimizer: str, half: bool, history: int = LBFGS_HISTORY,
    device_type: str = "cpu", forward_only: bool = False,
) -> int:
    """Estimated peak memory of a size optimised in tiles of ``tile`` px with ``margin``; with
    ``forward_only``, of its passes without gradient (:func:`forward_bytes_per_pixel` per crop pixel)."""
    h, w = hw
    crop = _crop_side(h, tile, margin) * _crop_side(w, tile, margin)
    net = forward_bytes_per_pixel(half) if forward_only else network_bytes_per_pixel(half)
    counted = whole_image_bytes_per_pixel(optimizer, half, history) * h * w + net * crop
    return int(_fixed_bytes(device_type) + (TILED_LBFGS_SLACK if optimizer == "lbfgs" else 1.0) * counted)


@dataclass(frozen=True)
class SizePlan:
    """How one size of a run is optimised: ``tile`` (inner side, px; 0: the whole image at
    once), the optimiser and its L-BFGS history there, and the estimated peak memory."""

    tile: int
    optimizer: str
    history: int
    peak_bytes: int
    #: Inner tile side of the passes without gradient (see tiled_objective.Tiles.gram_size).
    gram_tile: int = 0

    @property
    def tiled(self) -> bool:
        return self.tile > 0


def plan_size(
    hw: tuple[int, int], budget_bytes: int, optimizer: str, half: bool, steps: int, margin: int,
    device_type: str = "cpu", graphs: bool = False, tile: int = 0, wrap: bool = False, align: int = 16,
) -> SizePlan | None:
    """The plan for optimising an image of ``hw`` px within ``budget_bytes``, or None if it
    cannot fit even in tiles.

    Whole, if its estimate fits (and no ``tile`` is forced, and it does not ``wrap``). Else in
    tiles: ``tile`` if given, else the largest multiple of ``align`` up to :data:`TILE_MAX` that
    fits, with the longest L-BFGS history that fits a tile of at least :data:`TILE_MIN_LBFGS`
    (the size's own ``steps`` first: a fresh L-BFGS stores at most one pair per step; then, where
    it fits with the same tiles, the whole size's :data:`LBFGS_HISTORY`, which the pairs carried
    from the last size fill: at 1024 px with 384 px tiles forced, Fast, tubingen x starry night,
    the histories of 10 and 8 pairs ended at 1.18x the untiled run's loss, 20 at 1.003x), and if
    none does, Adam (6 image-sized buffers instead of 2m + 11) with
    tiles of at least :data:`TILE_MIN`. Seamless (``wrap``) images are always tiled: one tile
    wrapped around the whole image where that fits. The passes without gradient of a tiled size
    take the largest tiles that fit the budget (:func:`_gram_tile`).
    """
    h, w = hw
    if not tile and not wrap:
        whole = estimate_peak_bytes(h, w, optimizer, graphs, device_type, half)
        if whole <= budget_bytes:
            return SizePlan(0, optimizer, LBFGS_HISTORY, whole)
    if optimizer == "lbfgs":
        own = max(1, min(LBFGS_HISTORY, steps))
        options = [("lbfgs", m, TILE_MIN_LBFGS) for m in dict.fromkeys([own, *(m for m in TILED_HISTORIES if m < own)])]
    else:
        options = [(optimizer, LBFGS_HISTORY, TILE_MIN)]
    if ("adam", LBFGS_HISTORY, TILE_MIN) not in options:
        options.append(("adam", LBFGS_HISTORY, TILE_MIN))
    whole_side = math.ceil(max(h, w) / align) * align
    for opt, history, smallest in options:
        def peak(t: int, opt: str = opt, history: int = history) -> int:
            return tiled_peak_bytes(hw, t, margin, opt, half, history, device_type)

        def planned(t: int, opt: str = opt, history: int = history) -> SizePlan:
            if opt == "lbfgs" and history < LBFGS_HISTORY and peak(t, history=LBFGS_HISTORY) <= budget_bytes:
                # The pairs carried from the last size fill a history beyond this size's own
                # steps (as at a whole size): the whole size's, where it fits with the same tiles.
                history = LBFGS_HISTORY
            gram = _gram_tile(hw, t, margin, opt, half, history, device_type, budget_bytes, whole_side, align)
            gram_peak = tiled_peak_bytes(hw, gram, margin, opt, half, history, device_type, forward_only=True)
            return SizePlan(t, opt, history, max(peak(t, history=history), gram_peak), gram)

        if tile:
            if peak(tile) <= budget_bytes:
                return planned(tile)
            continue
        if wrap and peak(whole_side) <= budget_bytes:
            return planned(whole_side)
        t = min(TILE_MAX, whole_side)
        t -= t % align
        while t >= smallest and peak(t) > budget_bytes:
            t -= align
        if t >= smallest:
            return planned(t)
    return None


def _gram_tile(
    hw: tuple[int, int], tile: int, margin: int, optimizer: str, half: bool, history: int, device_type: str,
    budget_bytes: int, whole_side: int, align: int,
) -> int:
    """The largest inner tile side (a multiple of ``align``, from ``tile`` up to the whole
    image) whose forward pass without gradient fits ``budget_bytes`` beside the size's
    whole-image buffers: the fewer tiles, the fewer margins the Gram pass computes."""
    t = max(tile, whole_side)
    while t > tile and tiled_peak_bytes(hw, t, margin, optimizer, half, history, device_type, True) > budget_bytes:
        t -= align
    return t
