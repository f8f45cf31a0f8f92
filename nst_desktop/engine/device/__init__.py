"""Compute devices: choosing and listing them (devices), whether bfloat16 pays on this CPU (bf16_speed), and keeping
freed host memory for the next step (host_memory).

Its public names are loaded on first use (see :mod:`nst_desktop.engine._lazy`)."""

from nst_desktop.engine._lazy import lazy_exports

_WHERE = {
    "DeviceInfo": "devices",
    "available_devices": "devices",
    "cpu_device": "devices",
    "physical_cores": "devices",
    "resolve_device": "devices",
}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
