"""The bfloat16 speed-up measured once per machine and kept, so that every process on it decides alike.

Precision "auto" runs the network in bfloat16 on a CPU only where :func:`bf16_speed.bf16_speedup`
measures it faster. A timing taken while the machine is busy can fall on either side of the
threshold, and two processes that decided differently paint different pictures from the same
settings: a batch's Ray workers against the same item painted in the window or by the command
line (19 of 255 apart at 32 px, float32 against bfloat16). So the first process measures and
writes the result into the per-user cache folder (:data:`FILE_NAME`, beside downloaded weights);
the others wait for it (a lock) and read it. It is measured again when what decides it changes
(:func:`machine_key`: the CPU's model, the instructions torch sees, torch's version, the ISA
limits set in the environment) or when the file is unreadable or not what this module writes.
Where the folder cannot be written, each process measures for itself, as before.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import torch

from nst_desktop.app_info import APP_NAME
from nst_desktop.engine.device.devices import cpu_capabilities

#: The record, in the per-user cache folder; and its lock file beside it.
FILE_NAME = "cpu-bfloat16.json"
LOCK_NAME = "cpu-bfloat16.lock"
#: A record is this small (about 300 bytes); a larger file is not one and is not read.
MAX_RECORD_BYTES = 4096
#: Speed-ups outside this range are not measurements (float32 time over bfloat16 time).
SPEEDUP_RANGE = (0.01, 100.0)
#: Environment variables that limit the instructions oneDNN and ATen use (and so the speed-up).
ISA_VARIABLES = ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY")
#: How much of /proc/cpuinfo is read for the model's name (it comes first).
CPUINFO_BYTES = 8192


def default_folder() -> Path:
    """The per-user cache folder (e.g. ``~/.cache/NST Desktop``; ``XDG_CACHE_HOME`` is followed)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir(APP_NAME, appauthor=False))


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", "rb") as f:
            head = f.read(CPUINFO_BYTES).decode("utf-8", "replace")
    except OSError:
        return platform.processor() or platform.machine()
    for line in head.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "model name":
            return value.strip()
    return platform.processor() or platform.machine()


def machine_key() -> dict[str, object]:
    """What decides the speed-up: the CPU's model, the instructions torch sees on it, torch's
    version and the ISA limits in the environment (:data:`ISA_VARIABLES`)."""
    caps = cpu_capabilities()
    return {
        "cpu": _cpu_model(),
        "instructions": sorted(str(k) for k, v in caps.items() if v is True),
        "torch": torch.__version__,
        "environment": {v: os.environ[v] for v in ISA_VARIABLES if v in os.environ},
    }


def read(path: Path, key: dict[str, object]) -> float | None:
    """The speed-up recorded in ``path`` for ``key``; None if there is none, the file is not a
    record (too large, not JSON, fields missing or of the wrong type, out of range) or it is for
    another machine key."""
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_RECORD_BYTES + 1)
    except OSError:
        return None
    if len(raw) > MAX_RECORD_BYTES:
        return None
    try:
        record = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(record, dict) or record.get("key") != key:
        return None
    speedup = record.get("speedup")
    if isinstance(speedup, bool) or not isinstance(speedup, (int, float)):
        return None
    speedup = float(speedup)
    low, high = SPEEDUP_RANGE
    return speedup if math.isfinite(speedup) and low <= speedup <= high else None


def write(path: Path, key: dict[str, object], speedup: float) -> None:
    """Record ``speedup`` for ``key`` in ``path``, whole or not at all (a temporary file beside it,
    renamed over it). Raises OSError if the folder cannot be written."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"key": key, "speedup": speedup}, f, indent=1)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold the record's lock (an exclusive ``flock`` on :data:`LOCK_NAME`) where the system has
    one: a second process waits while the first measures, then reads its record."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; the record is still written whole
        yield
        return
    with open(folder / LOCK_NAME, "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def speedup(measure: Callable[[], float], folder: Path | None = None) -> float:
    """This machine's bfloat16 speed-up: the one recorded in ``folder`` (default:
    :func:`default_folder`) for this machine, else ``measure()``'s, recorded there. Where the
    folder cannot be made or written, ``measure()``'s, not recorded."""
    folder = default_folder() if folder is None else folder
    path = folder / FILE_NAME
    key = machine_key()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with _locked(folder):
            known = read(path, key)
            if known is not None:
                return known
            measured = measure()
            with contextlib.suppress(OSError):
                write(path, key, measured)
            return measured
    except OSError:  # no folder, or no lock file in it
        return measure()
