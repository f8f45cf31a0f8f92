"""How the network runs on a device: memory format, compute dtype (bfloat16 where it pays), CUDA graphs."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import torch

from nst_desktop.engine.device import bf16_record
from nst_desktop.engine.device.bf16_speed import bf16_speedup
from nst_desktop.engine.device.devices import cpu_capabilities, mkldnn_bf16_supported
from nst_desktop.engine.net.vgg import Tap, VGGFeatures
from nst_desktop.engine.params import PrecisionName

#: Run the network in bfloat16 on CPUs where it pays under precision "auto" (see
#: :meth:`Precision.choose`).
CPU_BF16_AUTO = True
#: bfloat16 runs under "auto" only where :func:`bf16_speed.bf16_speedup` measures it at least
#: this much faster than float32: a margin for the measurement's noise (the CPUs seen are far
#: from it on either side: about 2x and more with AMX or on AMD Zen 4, 0.6-0.7x on an Intel
#: Xeon without AMX), and for the conversions to and from bfloat16 a step adds.
BF16_MIN_SPEEDUP = 1.15


@dataclass(frozen=True)
class CpuBf16:
    """This CPU's bfloat16: whether oneDNN runs it natively (``native``), how much faster than
    float32 it measured (``speedup``, float32 time over bfloat16 time; None: not measured),
    and why "auto" uses it or not, as a clause (``reason``, e.g. "the CPU has AMX; measured
    3.1x as fast as float32", "the CPU has no AMX or AVX-512 BF16")."""

    native: bool
    reason: str
    speedup: float | None = None

    @property
    def pays(self) -> bool:
        """True if precision "auto" runs the network in bfloat16 on this CPU."""
        return self.native and (self.speedup is None or self.speedup >= BF16_MIN_SPEEDUP)


@functools.cache
def _bf16_instructions() -> tuple[bool, str]:
    """Whether oneDNN runs bfloat16 natively on this CPU, as torch sees it, and what it has or
    lacks, as a clause ("the CPU has AMX", "the CPU has no AMX or AVX-512 BF16")."""
    caps = cpu_capabilities()
    if not mkldnn_bf16_supported():
        return False, "oneDNN has no bfloat16 on this CPU"
    if caps.get("amx_bf16"):
        return True, "the CPU has AMX"
    if caps.get("avx512_bf16"):
        return True, "the CPU has AVX-512 BF16"
    return False, "the CPU has no AMX or AVX-512 BF16"


@functools.cache
def cpu_bf16() -> CpuBf16:
    """This CPU's bfloat16, as torch sees it and as measured. Native with AMX bfloat16 tiles
    (Intel Sapphire Rapids and newer) or AVX-512 BF16 instructions (e.g. AMD Zen 4, Intel
    Cooper Lake); emulated (and slower than float32) elsewhere, e.g. on AVX2-only laptops.
    Where native, :func:`bf16_speed.bf16_speedup` measures whether it is faster here (about
    1 s, once per machine: :mod:`bf16_record` keeps it, so that every process decides alike):
    with AVX-512 BF16 alone it can be slower than float32."""
    native, has = _bf16_instructions()
    if not native:
        return CpuBf16(False, has)
    speedup = bf16_record.speedup(bf16_speedup)
    if speedup >= BF16_MIN_SPEEDUP:
        return CpuBf16(True, f"{has}; measured {speedup:.1f}x as fast as float32", speedup)
    return CpuBf16(True, f"{has}, but bfloat16 measured {speedup:.2f}x as fast here", speedup)


def cpu_native_bf16() -> bool:
    """True if oneDNN runs bfloat16 natively on this CPU, fast or not (read from torch's
    view of the CPU; nothing is measured)."""
    return _bf16_instructions()[0]


def cpu_auto_bf16() -> bool:
    """True if precision "auto" runs the network in bfloat16 on this CPU: native and measured
    faster (see :attr:`CpuBf16.pays`)."""
    return CPU_BF16_AUTO and cpu_bf16().pays


def bf16_supported(device: torch.device) -> bool:
    """True where a bfloat16 network is fast: CUDA GPUs of compute capability 8.0 (Ampere) and
    newer, and CPUs with native bfloat16 (AMX or AVX-512 BF16)."""
    if device.type == "cpu":
        return cpu_native_bf16()
    if device.type != "cuda":
        return False
    major, _minor = torch.cuda.get_device_capability(device)
    return major >= 8


def _reason(precision: PrecisionName, device: torch.device, bf16: bool) -> str:
    """Why :meth:`Precision.choose` chose bfloat16 or not, in words."""
    if device.type != "cpu":
        return "as asked" if precision != "auto" else ""
    if precision == "auto":
        return cpu_bf16().reason
    if precision == "bf16" and not bf16:
        return f"bfloat16 asked, but {_bf16_instructions()[1]}"
    return "as asked"


@dataclass(frozen=True)
class Precision:
    """How the network runs on a device: memory format, compute dtype, CUDA graphs.

    The network runs channels-last (faster on CUDA and with oneDNN on CPUs), with
    TF32 convolutions on CUDA, optionally in bfloat16 (``compute_dtype``: the weights
    are converted once, which computes what bfloat16 autocast would, see
    :meth:`VGGFeatures.to_compute_dtype`). Gram matrices, losses and the optimiser's
    inner products are always float32 (matmul TF32 is switched off; see :mod:`losses`). The optimised image stays
    float32, contiguous NCHW (the optimiser flattens it); it is converted on the way
    into the network. ``cuda_graphs``: capture each size's optimisation step as a CUDA
    graph (see :mod:`nst_desktop.engine.optim.lbfgs`).
    """

    device: torch.device
    compute_dtype: torch.dtype | None
    channels_last: bool
    cuda_graphs: bool = False
    #: Why this number format, in words ("the CPU has AMX", "as asked"); see :meth:`describe`.
    reason: str = ""

    @staticmethod
    def choose(precision: PrecisionName, device: torch.device) -> Precision:
        """``precision`` is "auto", "fp32", "tf32" or "bf16".

        "auto": TF32 convolutions on CUDA; a bfloat16 network on CPUs with native
        bfloat16 (AMX or AVX-512 BF16) where it measured faster (:func:`cpu_auto_bf16`:
        with AMX or on AMD Zen 4 it is two to several times faster than float32 and keeps
        the quality targets); float32 elsewhere. "bf16" runs bfloat16 wherever it is
        native, fast or not, and falls back to float32 where it is not supported.
        """
        cuda = device.type == "cuda"
        if cuda:
            # cuDNN's heuristics, not autotuning: on an H100 autotuning made steps at most 2 %
            # faster (512-2048 px) but cost about 4.5 s at every new image size (each size
            # of the schedule, each new aspect ratio). NST_CUDNN_BENCHMARK=1 turns it on.
            torch.backends.cudnn.benchmark = os.environ.get("NST_CUDNN_BENCHMARK", "0") == "1"
            torch.backends.cudnn.allow_tf32 = precision in ("auto", "tf32", "bf16")
            torch.backends.cuda.matmul.allow_tf32 = False  # Gram matrices and L-BFGS stay float32
        if precision == "bf16":
            bf16 = bf16_supported(device)
        else:
            bf16 = precision == "auto" and device.type == "cpu" and cpu_auto_bf16()
        graphs = cuda and os.environ.get("NST_CUDA_GRAPHS", "1") != "0"
        return Precision(device, torch.bfloat16 if bf16 else None, channels_last=device.type in ("cuda", "cpu"),
                         cuda_graphs=graphs, reason=_reason(precision, device, bf16))

    def describe(self) -> str:
        """The network's number format and why, for the status bar, the CLI and ``info``:
        e.g. "bfloat16 (the CPU has AMX)", "float32 (the CPU has no AMX or AVX-512 BF16)"."""
        name = "bfloat16" if self.compute_dtype == torch.bfloat16 else "float32"
        if self.device.type == "cuda" and name == "float32" and torch.backends.cudnn.allow_tf32:
            name = "TF32 convolutions"
        return f"{name} ({self.reason})" if self.reason else name

    def prepare(self, net: VGGFeatures) -> VGGFeatures:
        net = net.to(self.device).to_compute_dtype(self.compute_dtype)
        return net.to(memory_format=torch.channels_last) if self.channels_last else net

    def features(
        self, net: VGGFeatures, x: torch.Tensor, tap: Tap | None = None, last: str | None = None
    ) -> dict[str, torch.Tensor]:
        """The network's activations of ``x`` (RGB in [0, 1], float32, NCHW); in ``compute_dtype``.

        ``tap``, ``last``: see :meth:`VGGFeatures.forward`.
        """
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return net(x, tap, last)
