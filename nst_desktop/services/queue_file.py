"""The queue file shared by every window of the user: each save is a locked read-merge-write.

A second window (when handing its files to the first one failed) or a second process works on
the same ``queue.json``. :class:`QueueFile` remembers the queue as it last read or wrote the file;
:meth:`QueueFile.sync` takes the lock (``queue.json.lock`` beside it, held only for the few
milliseconds of the read and write), reads the file again, merges this window's changes into it
(:mod:`nst_desktop.services.queue_merge`) and writes the result atomically, so no window's items
are lost to another's write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from nst_desktop.services.queue_merge import merge
from nst_desktop.services.queue_store import LoadResult, Queue, load_queue, queue_path, save_queue

#: Seconds to wait for another window's save to release the lock (a save takes milliseconds).
LOCK_TIMEOUT_S = 10.0
#: Most windows told apart (the items a window paints carry its number, see :class:`QueueFile`).
MAX_WINDOWS = 64


def _copy(queue: Queue) -> Queue:
    return Queue(list(queue.items), list(queue.groups), queue.next_id)


@dataclass(frozen=True)
class SyncResult:
    """What :meth:`QueueFile.sync` did: the queue to keep (merged with the file where it could be
    read), what ``change`` returned, and the error that kept the file from being written (None: written
    or unchanged)."""

    queue: Queue
    value: Any = None
    error: OSError | None = None


class QueueFile:
    """The queue file at ``path`` (None: the user's, see :func:`queue_path`) and the queue as this
    window last read or wrote it.

    Each window also holds a number while it is open, :attr:`window` (the lock
    ``queue.json.window-<n>.lock``, which the system drops when the window's process dies); an item
    it paints carries that number, so that another window opening does not restart it
    (:meth:`painting`) while a window that died leaves its items to restart."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = queue_path() if path is None else path
        self._base = Queue()
        self.window = 0
        self._window_lock: FileLock | None = None
        for n in range(1, MAX_WINDOWS + 1):
            lock = self._window_file(n)
            try:
                lock.acquire()
            except (Timeout, OSError):  # held by an open window, or no locks here (window 0)
                continue
            self.window, self._window_lock = n, lock
            break

    def _window_file(self, n: int) -> FileLock:
        return FileLock(self.path.with_name(f"{self.path.name}.window-{n}.lock"), timeout=0)

    def painting(self, owner: int) -> bool:
        """True if window ``owner`` (not this one) is open, so its running items are being painted."""
        if owner <= 0 or owner == self.window:
            return False
        lock = self._window_file(owner)
        try:
            lock.acquire()
        except Timeout:
            return True
        except OSError:
            return False
        lock.release()
        return False

    def close(self) -> None:
        """Give up this window's number (the window closes)."""
        if self._window_lock is not None:
            self._window_lock.release()
            self._window_lock = None

    def _lock(self) -> FileLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(self.path.with_name(self.path.name + ".lock"), timeout=LOCK_TIMEOUT_S)

    def load(self) -> LoadResult:
        """Read the file (see :func:`load_queue`); it becomes the base of the next merge."""
        try:
            with self._lock():
                loaded = load_queue(self.path)
        except OSError:  # no lock here (a read-only folder): read it all the same
            loaded = load_queue(self.path)
        self._base = _copy(loaded.queue)
        return loaded

    def sync(self, queue: Queue, change: Callable[[Queue], Any] | None = None) -> SyncResult:
        """Merge ``queue`` (this window's, with its changes since the last read or write) with the file
        and write the result, under the lock; ``change(queue)``, if given, is made on the merged queue
        before it is written (e.g. adding items, so that their ids are new in the file too).

        A file that is missing or cannot be read is taken as unchanged (this window's queue is written
        over it; an unreadable one was copied aside by :func:`load_queue`). Never raises OSError: when the
        lock or the write fails, the result holds the merged (or, without the lock, this window's) queue
        with the change made, and the error; the next sync merges again from what the file held."""
        try:
            lock = self._lock()
            lock.acquire()
        except OSError as exc:  # filelock's Timeout is an OSError too
            value = change(queue) if change is not None else None
            return SyncResult(queue, value, exc)
        try:
            loaded = load_queue(self.path) if self.path.exists() else None
            theirs = loaded.queue if loaded is not None and loaded.problem is None else self._base
            merged = merge(self._base, queue, theirs)
            value = change(merged) if change is not None else None
            try:
                unusable = loaded is None and bool(merged.items) or loaded is not None and loaded.problem is not None
                if unusable or merged.to_json() != theirs.to_json():
                    save_queue(merged, self.path)
            except OSError as exc:
                self._base = _copy(theirs)  # what the file holds: the next merge starts from it
                return SyncResult(merged, value, exc)
            self._base = _copy(merged)
            return SyncResult(merged, value)
        finally:
            lock.release()
