"""How much faster bfloat16 convolutions are than float32 ones on this CPU, measured.

A CPU's flags do not tell: oneDNN runs bfloat16 natively with AMX and with AVX-512 BF16,
but only the first is always fast. Measured with torch 2.13 on 2-core machines, a 3 x 3
convolution's forward and backward to its input (channels-last):

- Intel with AMX: bfloat16 several times as fast as float32;
- AMD Zen 4 (AVX-512 BF16, no AMX): about twice as fast (12.2 vs 23.9 ms, 64 -> 64 at 256 px);
- an Intel Xeon whose AMX the virtual machine hides (AVX-512 BF16 and FP16 flags, no AMX
  ones): 0.58-0.67x as fast, and whole steps of the engine 0.69x (2.2 vs 1.53 s at 512 x 384).

So :func:`bf16_speedup` times the work the engine does, on VGG19-like layers, in both
formats; :mod:`precision` runs the network in bfloat16 under "auto" only where it pays.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F  # noqa: N812 - the usual name

#: Layers timed, (channels in and out, side in px): the shallow, wide layers where a step
#: spends its time and a deep, narrow one. About 0.16 s for both formats on a 2-core CPU
#: (0.7 s the first time in a process: oneDNN makes its kernels, which a run would do anyway).
PROBE_LAYERS = ((64, 96), (256, 24))
#: Timed repetitions per format, after one untimed; the fastest counts (a load on the machine
#: only ever adds time). The formats take turns so that a load meanwhile weighs on both. The
#: result is kept for the machine (:mod:`bf16_record`), so it is measured with care.
PROBE_REPEATS = 5


def _layers(dtype: torch.dtype) -> list[tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(0)
    out = []
    for channels, side in PROBE_LAYERS:
        w = torch.randn(channels, channels, 3, 3, generator=gen) * (2 / (9 * channels)) ** 0.5
        x = torch.rand(1, channels, side, side, generator=gen)
        out.append((w.to(dtype).contiguous(memory_format=torch.channels_last),
                    x.to(dtype).contiguous(memory_format=torch.channels_last).requires_grad_(True)))
    return out


def _seconds(layers: list[tuple[torch.Tensor, torch.Tensor]]) -> float:
    t0 = time.perf_counter()
    for w, x in layers:
        y = F.conv2d(x, w, padding=1)
        torch.autograd.grad(y, x, torch.ones_like(y))
    return time.perf_counter() - t0


def bf16_speedup() -> float:
    """float32 time over bfloat16 time of a forward and backward (to the input) through
    :data:`PROBE_LAYERS` on the CPU: above 1 where bfloat16 is faster. Call it only where
    oneDNN has bfloat16 (elsewhere it is emulated, slowly)."""
    fp32, bf16 = _layers(torch.float32), _layers(torch.bfloat16)
    best = {torch.float32: float("inf"), torch.bfloat16: float("inf")}
    with torch.enable_grad():
        for i in range(PROBE_REPEATS + 1):
            for dtype, layers in ((torch.float32, fp32), (torch.bfloat16, bf16)):
                seconds = _seconds(layers)
                if i > 0:
                    best[dtype] = min(best[dtype], seconds)
    return best[torch.float32] / best[torch.bfloat16]
