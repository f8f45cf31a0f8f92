"""Cycles are collected in the GUI thread only (a worker-thread collection of Qt objects crashes)."""

from __future__ import annotations

import gc
import threading
import weakref

from nst_desktop.ui import gc_guard


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_automatic_collection_is_off_and_the_gui_thread_collects(qapp) -> None:
    guard = gc_guard.install(qapp)
    assert gc_guard.install(qapp) is guard  # installed once
    assert not gc.isenabled()
    node = _Node()
    ref = weakref.ref(node)
    del node
    # A worker thread allocating a lot triggers no collection: the cycle survives it.
    worker = threading.Thread(target=lambda: [[] for _ in range(50_000)])
    worker.start()
    worker.join()
    assert ref() is not None
    keep = [[] for _ in range(gc.get_threshold()[0] + 1)]  # live tracked objects: generation 0 is due
    guard.check()
    assert ref() is None
    del keep
