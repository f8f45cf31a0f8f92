"""Keep the memory one step frees for the next step on the CPU, instead of handing it back.

glibc's malloc serves every block over 32 MiB (and, before its threshold adapts, over
128 KiB) with a fresh ``mmap`` and returns it to the kernel on ``free``. A VGG19 activation
is larger than that from about 360 x 360 px (64 channels x 4 bytes per pixel), so every step
of a run would fault in all of its activations and gradients again, page by page, each
page zeroed by the kernel. Measured on a 2-core Intel Xeon, float32 forward and backward
(``bench.bare_step_ms``): at 512 x 512 px 2.11 s with glibc's defaults, 1.52 s with the
memory kept (a fresh process each); at 1024 px 7.2 s and 6.7 s, and a third of the time
was spent in the kernel at 1536 px (62 s system time of 133 s, 17.7 million page faults).

:func:`freed_memory_kept` turns ``mmap`` off for the allocations of a run (they come from
the heap, whose freed blocks the next step reuses) and raises the trim threshold, so the
heap is not shrunk between steps; on leaving it, glibc's defaults come back and the heap's
free memory is given back to the system (``malloc_trim``), so a window that has finished a
run does not keep its peak. Elsewhere (macOS, Windows, musl) it does nothing. The heap's
peak is higher (1.24-1.34x, :data:`sizing.KEPT_MEMORY_GROWTH`), so runs keep their memory
only where that fits (:func:`sizing.keeps_freed_memory`): not when tiled to fit, not near the limit.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: mallopt parameters (glibc's malloc.h) and their defaults.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_MMAP_MAX = -1, -3, -4
_DEFAULT_TRIM_THRESHOLD = _DEFAULT_MMAP_THRESHOLD = 128 * 1024
_DEFAULT_MMAP_MAX = 65536
#: The trim threshold during a run: -1 turns trimming off (mallopt(3)), so what is freed stays.
_KEEP_TRIM_THRESHOLD = -1

_lock = threading.Lock()
_holders = [0]  # runs inside freed_memory_kept now (the setting is the process's, not a run's)


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def release_free_memory() -> None:
    """Give the heap's free memory back to the system now (glibc's ``malloc_trim``; elsewhere nothing)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def _set(libc: ctypes.CDLL, keep: bool) -> None:
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    if keep:
        libc.mallopt(_M_MMAP_MAX, 0)
        libc.mallopt(_M_TRIM_THRESHOLD, _KEEP_TRIM_THRESHOLD)
    else:
        libc.mallopt(_M_MMAP_MAX, _DEFAULT_MMAP_MAX)
        libc.mallopt(_M_MMAP_THRESHOLD, _DEFAULT_MMAP_THRESHOLD)
        libc.mallopt(_M_TRIM_THRESHOLD, _DEFAULT_TRIM_THRESHOLD)
        release_free_memory()


@contextmanager
def freed_memory_kept(enabled: bool = True) -> Iterator[bool]:
    """Keep freed memory in the process while inside (see the module); yields True where it
    does (glibc). Runs may nest or overlap in threads: the last one out restores glibc's
    defaults. ``enabled`` False (a run on a GPU): nothing changes."""
    libc = _libc() if enabled else None
    if libc is None:
        yield False
        return
    with _lock:
        _holders[0] += 1
        if _holders[0] == 1:
            _set(libc, keep=True)
    try:
        yield True
    finally:
        with _lock:
            _holders[0] -= 1
            if _holders[0] == 0:
                _set(libc, keep=False)
