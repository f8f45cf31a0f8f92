"""Compute devices: choosing one, listing them, CPU thread count.

torch is imported by the functions that need it, not with this module: the window lists the
CPU (:func:`cpu_device`) before torch is loaded, and the GPUs after (:func:`available_devices`).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class DeviceInfo:
    """A device the engine can run on. ``id`` is what :func:`resolve_device` accepts."""

    id: str
    label: str
    memory_bytes: int | None


def physical_cores() -> int:
    """Number of physical CPU cores (hyper-threads not counted), at least 1."""
    cpus = Path("/sys/devices/system/cpu")
    cores: set[tuple[str, str]] = set()
    try:
        for topo in cpus.glob("cpu[0-9]*/topology"):
            pkg = (topo / "physical_package_id").read_text().strip()
            core = (topo / "core_id").read_text().strip()
            cores.add((pkg, core))
    except OSError:
        cores = set()
    if cores:
        return len(cores)
    return max(1, os.cpu_count() or 1)


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


@functools.cache
def mkldnn_bf16_supported() -> bool:
    """True if oneDNN (PyTorch's CPU kernels) runs bfloat16 natively on this CPU (AVX-512 BF16 or AMX)."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def cpu_capabilities() -> dict[str, object]:
    """The CPU's instructions as torch sees them (e.g. ``{"avx2": True, "amx_bf16": False, ...}``);
    empty where this torch cannot tell."""
    import torch

    try:
        return dict(torch._C._cpu._get_cpu_capability())
    except (AttributeError, RuntimeError):
        return {}


def cpu_device() -> DeviceInfo:
    """The CPU as :func:`available_devices` lists it (without loading torch)."""
    return DeviceInfo("cpu", f"CPU ({physical_cores()} cores)", _total_ram())


def available_devices() -> list[DeviceInfo]:
    """CPU, then every CUDA GPU, then Apple MPS if present."""
    import torch

    total_ram = _total_ram()
    out = [cpu_device()]
    if cuda_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            out.append(DeviceInfo(f"cuda:{i}", f"GPU {i}: {props.name}", int(props.total_memory)))
    if mps_available():
        out.append(DeviceInfo("mps", "Apple GPU (MPS)", total_ram))
    return out


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"`` → first CUDA GPU, else Apple MPS, else CPU. Otherwise a validated device.

    Raises ``ValueError`` with a readable message for a device that is not present.
    """
    import torch

    name = (name or "auto").lower()
    if name == "auto":
        if cuda_available():
            return torch.device("cuda", 0)
        if mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not cuda_available():
            raise ValueError("device 'cuda' was asked for, but no CUDA GPU is available")
        dev = torch.device(name)
        index = dev.index or 0
        if index >= torch.cuda.device_count():
            raise ValueError(f"device '{name}' does not exist ({torch.cuda.device_count()} GPU(s) found)")
        return torch.device("cuda", index)
    if name == "mps":
        if not mps_available():
            raise ValueError("device 'mps' was asked for, but Apple MPS is not available")
        return torch.device("mps")
    raise ValueError(f"unknown device {name!r}: use auto, cpu, cuda, cuda:N or mps")


def configure_threads(device: torch.device) -> None:
    """On CPU, use one thread per physical core (more only adds contention).

    An explicit ``OMP_NUM_THREADS`` (or ``NST_NUM_THREADS``) wins: on a busy machine
    fewer threads can be much faster than spin-waiting ones.
    """
    import torch

    if device.type != "cpu":
        return
    explicit = os.environ.get("NST_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
    if explicit:
        try:
            n = max(1, int(explicit))
        except ValueError:
            n = physical_cores()
    else:
        n = physical_cores()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


def free_memory_bytes(device: torch.device) -> int | None:
    """Memory the engine may use on ``device`` now, in bytes (None if unknown)."""
    import torch

    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    return _available_ram()


def _total_ram() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _available_ram() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return _total_ram()
