"""The memory a run frees stays in the process during the run (glibc), and goes back after it."""

from __future__ import annotations

import ctypes
import dataclasses
import threading
from pathlib import Path

import pytest

from nst_desktop.engine.device import host_memory

pytestmark = pytest.mark.skipif(host_memory._libc() is None, reason="not glibc")

BLOCK = 96 * 2**20  # larger than glibc's largest mmap threshold (32 MiB): mmap'd by default


def _heap() -> tuple[int, int]:
    for line in Path("/proc/self/maps").read_text().splitlines():
        if line.endswith("[heap]"):
            start, end = (int(v, 16) for v in line.split()[0].split("-"))
            return start, end
    return 0, 0


def _from_heap(libc: ctypes.CDLL) -> bool:
    """Whether a fresh large block comes from the heap (True) or from its own mapping."""
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    address = libc.malloc(BLOCK)
    assert address
    try:
        start, end = _heap()
        return start <= address < end
    finally:
        libc.free(address)


def test_large_blocks_come_from_the_heap_only_inside_and_are_given_back_after() -> None:
    libc = host_memory._libc()
    assert libc is not None
    assert not _from_heap(libc)
    with host_memory.freed_memory_kept() as kept:
        assert kept and _from_heap(libc)
        grown = _heap()[1] - _heap()[0]
        assert grown >= BLOCK  # freed, and kept: the next step's block is already resident
    assert not _from_heap(libc)
    assert _heap()[1] - _heap()[0] < grown  # trimmed on the way out


def test_runs_that_overlap_keep_the_setting_until_the_last_one_leaves() -> None:
    libc = host_memory._libc()
    assert libc is not None
    first_in, second_out = threading.Event(), threading.Event()
    seen: list[bool] = []

    def other_run() -> None:
        with host_memory.freed_memory_kept():
            first_in.set()
            second_out.wait(10)
        seen.append(_from_heap(libc))

    thread = threading.Thread(target=other_run)
    with host_memory.freed_memory_kept():
        thread.start()
        assert first_in.wait(10)
    assert _from_heap(libc)  # the other run is still inside
    second_out.set()
    thread.join(10)
    assert seen == [False]


def test_a_gpu_run_changes_nothing() -> None:
    libc = host_memory._libc()
    assert libc is not None
    with host_memory.freed_memory_kept(enabled=False) as kept:
        assert not kept and not _from_heap(libc)


def test_only_runs_with_memory_to_spare_keep_what_they_free() -> None:
    from nst_desktop.engine.params import StyleParams
    from nst_desktop.engine.plan import sizing

    params = StyleParams(device="cpu", size=1024, steps=22, start_size=256)
    whole = sizing.plan_run(params, (768, 1024), "cpu", False, 40 * 2**30)
    peak = max(p.peak_bytes for p in whole.plans)
    assert not whole.tiled
    assert sizing.keeps_freed_memory(whole, 40 * 2**30, "cpu")
    assert not sizing.keeps_freed_memory(whole, 40 * 2**30, "cuda")  # the GPU's allocator caches already
    # Planned whole, but the heap's growth would not fit beside it.
    assert not sizing.keeps_freed_memory(whole, int(peak * 1.1), "cpu")
    # Tiled to fit a budget: the plan fills it, so no room for the heap's growth.
    tiled = sizing.plan_run(params, (768, 1024), "cpu", False, int(peak * 0.6))
    assert tiled.tiled and not sizing.keeps_freed_memory(tiled, int(peak * 0.6), "cpu")
    # Tiles forced, with memory to spare: kept.
    forced = sizing.plan_run(dataclasses.replace(params, tile=384), (768, 1024), "cpu", False, 40 * 2**30)
    assert forced.tiled and sizing.keeps_freed_memory(forced, 40 * 2**30, "cpu")


def test_runs_that_do_not_keep_their_memory_are_estimated_slower() -> None:
    from nst_desktop.engine.params import StyleParams
    from nst_desktop.engine.plan import schedule, sizing
    from nst_desktop.services.jobs import estimate_run, runs_half

    half = runs_half("cpu")  # as the window's estimate plans
    params = StyleParams(device="cpu", size=1024, steps=22, start_size=schedule.default_start("cpu"))
    whole = sizing.plan_run(params, (768, 1024), "cpu", half, 40 * 2**30)
    tight = int(max(p.peak_bytes for p in whole.plans) * 1.1)  # whole, without room for the heap's growth
    assert sizing.time_factor(whole, 40 * 2**30, "cpu", half) == 1.0
    assert sizing.time_factor(whole, 40 * 2**30, "cuda", half) == 1.0
    assert sizing.time_factor(whole, tight, "cpu", False) == sizing.UNKEPT_STEP_COST_FP32 > 1
    assert sizing.time_factor(whole, tight, "cpu", True) == sizing.UNKEPT_STEP_COST_HALF > 1
    # Each size's setup counts as SIZE_SETUP_STEPS steps of its pixels.
    steps_only = sum(h * w * st.steps for (h, w), st in zip(whole.sizes, whole.stages, strict=True))
    setups = sum(h * w for h, w in whole.sizes) * schedule.SIZE_SETUP_STEPS
    assert whole.work() == pytest.approx(steps_only + setups)
    # The window's estimate of the same run with ample memory and under the tight limit.
    rate = {"cpu": 1e-6}
    ample = estimate_run(1024, (768, 1024), 22, "cpu", 2, tested_rates=rate, memory_limit_mb=40_000)
    limited = estimate_run(1024, (768, 1024), 22, "cpu", 2, tested_rates=rate, memory_limit_mb=tight // 10**6 + 1)
    assert ample.tile == limited.tile == 0
    assert ample.seconds == pytest.approx(whole.work() * 1e-6)
    assert limited.seconds == pytest.approx(ample.seconds * sizing.time_factor(whole, tight, "cpu", half))
