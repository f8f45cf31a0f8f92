"""The queue file shared by two windows: locked read-merge-write, so neither loses the other's items
(issue 31, item 4)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from nst_desktop.engine import StyleParams
from nst_desktop.services import queue_store as Q
from nst_desktop.services.batch import BatchItem
from nst_desktop.services.queue_file import QueueFile
from nst_desktop.services.queue_merge import merge


def _one(tmp_path: Path, name: str) -> list[BatchItem]:
    return [BatchItem(tmp_path / f"{name}.png", tmp_path / "s.jpg", StyleParams(size=64, steps=3))]


def _labels(queue: Q.Queue) -> list[str]:
    return [i.photo.stem for i in queue.items]


def test_two_windows_adding_keep_both_items_with_distinct_ids(tmp_path: Path) -> None:
    a, b = QueueFile(), QueueFile()
    qa, qb = a.load().queue, b.load().queue
    qa = a.sync(qa, lambda q: q.add(_one(tmp_path, "a1"), tmp_path)).queue
    qb = b.sync(qb, lambda q: q.add(_one(tmp_path, "b1"), tmp_path)).queue
    qa = a.sync(qa, lambda q: q.add(_one(tmp_path, "a2"), tmp_path)).queue
    on_disk = Q.load_queue().queue
    assert _labels(on_disk) == ["a1", "b1", "a2"] == _labels(qa)
    ids = [i.id for i in on_disk.items] + [g.id for g in on_disk.groups]
    assert len(ids) == len(set(ids))
    assert _labels(b.sync(qb).queue) == ["a1", "b1", "a2"]  # the other window sees them on its next save


def test_changes_on_both_sides_merge_field_by_field(tmp_path: Path) -> None:
    a, b = QueueFile(), QueueFile()
    qa = a.load().queue
    for name in ("p1", "p2", "p3"):
        qa = a.sync(qa, lambda q, n=name: q.add(_one(tmp_path, n), tmp_path)).queue
    qb = b.load().queue
    p1, p2, p3 = (i.id for i in qa.items)
    qa.update(p1, state="done", output=tmp_path / "r1.png")  # window A finishes p1 and removes p3
    qa.remove(p3)
    qa = a.sync(qa).queue
    qb.update(p2, state="failed", message="bad")  # window B, not knowing, fails p2 and moves it first
    qb.move(p2, -1)
    qb = b.sync(qb).queue
    on_disk = Q.load_queue().queue
    assert _labels(on_disk) == ["p2", "p1"] == _labels(qb)
    assert on_disk.get(p1).state == "done" and on_disk.get(p2).state == "failed"
    assert on_disk.get(p3) is None


def test_ids_clashing_after_a_failed_write_are_renumbered(tmp_path: Path) -> None:
    base = Q.Queue()
    ours, theirs = Q.Queue(), Q.Queue()
    ours.add(_one(tmp_path, "ours"), tmp_path)  # both gave ids 1 (group) and 2 (item)
    theirs.add(_one(tmp_path, "theirs"), tmp_path)
    merged = merge(base, ours, theirs)
    assert sorted(_labels(merged)) == ["ours", "theirs"]
    ids = [i.id for i in merged.items] + [g.id for g in merged.groups]
    assert len(ids) == len(set(ids)) == 4
    assert all(merged.group(i.group) is not None for i in merged.items)
    assert merged.next_id > max(ids)


def test_a_failed_write_keeps_the_change_and_the_next_save_writes_it(tmp_path: Path) -> None:
    a = QueueFile()
    qa = a.load().queue
    a.path.parent.mkdir(parents=True, exist_ok=True)
    a.path.mkdir()  # a folder where the file should be: the write fails
    result = a.sync(qa, lambda q: q.add(_one(tmp_path, "kept"), tmp_path))
    assert result.error is not None and _labels(result.queue) == ["kept"]
    a.path.rmdir()
    assert a.sync(result.queue).error is None
    assert _labels(Q.load_queue().queue) == ["kept"]


ADDER = textwrap.dedent("""
    import random, sys, time
    from pathlib import Path
    from nst_desktop.engine import StyleParams
    from nst_desktop.services.batch import BatchItem
    from nst_desktop.ui.queue_runner import QueueRunner

    name, go, n = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    runner = QueueRunner(lambda: False)
    while not go.exists():
        time.sleep(0.01)
    for k in range(n):
        item = BatchItem(Path(f"{name}-{k}.png"), Path("s.jpg"), StyleParams(size=64, steps=3))
        runner.add([item], Path("out"))
        time.sleep(random.random() * 0.01)
    print("added", n, flush=True)
""")


@pytest.mark.slow  # two child processes that import the engine (torch)
def test_two_processes_adding_to_the_queue_never_lose_an_item(tmp_path: Path) -> None:
    """Two real processes, each with the window's QueueRunner, add 25 items each at the same time."""
    go, n = tmp_path / "go", 25
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    procs = [subprocess.Popen([sys.executable, "-c", ADDER, name, str(go), str(n)], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for name in ("a", "b")]
    time.sleep(1.0)
    go.touch()
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0 and "added" in out, err
    loaded = Q.load_queue()
    assert loaded.problem is None
    names = sorted(_labels(loaded.queue))
    assert names == sorted([f"a-{k}" for k in range(n)] + [f"b-{k}" for k in range(n)])
    ids = [i.id for i in loaded.queue.items] + [g.id for g in loaded.queue.groups]
    assert len(ids) == len(set(ids))
    assert [name for name in _labels(loaded.queue) if name.startswith("a")] == [f"a-{k}" for k in range(n)]


def test_a_huge_queue_file_is_moved_aside_unread() -> None:
    path = Q.queue_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.truncate(Q.MAX_FILE_BYTES + 1)  # sparse; one of gigabytes was read whole before
    res = Q.load_queue()
    assert res.queue.items == [] and "too large" in res.problem
    assert not path.exists() and res.backup is not None


def test_an_open_windows_running_item_is_not_restarted_by_another_window(tmp_path: Path) -> None:
    """A window opening restarts the items a dead window left running, never those an open one paints."""
    painter = QueueFile()
    added = painter.sync(painter.load().queue, lambda queue: queue.add(_one(tmp_path, "p"), tmp_path))
    (item,) = added.value
    painter.sync(added.queue, lambda queue: queue.update(item.id, state="running", owner=painter.window))
    assert painter.window >= 1
    other = QueueFile()
    seen = other.load().queue
    assert other.window != painter.window
    assert seen.restart_running(other.painting) == 0 and seen.get(item.id).state == "running"
    painter.close()  # the painting window is gone (as when its process dies: the system drops the lock)
    assert seen.restart_running(other.painting) == 1 and seen.get(item.id).state == "waiting"
    other.close()


def test_the_runner_leaves_an_open_windows_item_running(tmp_path: Path, qapp) -> None:
    from nst_desktop.ui.queue_runner import QueueRunner

    painter = QueueFile()
    added = painter.sync(painter.load().queue, lambda queue: queue.add(_one(tmp_path, "p"), tmp_path))
    (item,) = added.value
    painter.sync(added.queue, lambda queue: queue.update(item.id, state="running", owner=painter.window))
    runner = QueueRunner(lambda: False)
    assert runner.restarted == 0 and runner.queue.get(item.id).state == "running"
    runner.shutdown()
    painter.close()
    later = QueueRunner(lambda: False)
    assert later.restarted == 1 and later.queue.get(item.id).state == "waiting"
    later.shutdown()
