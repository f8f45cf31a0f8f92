"""Each window's crash-recovery file, which no other window writes or deletes.

Every finished (or stopped) result is also written to a recovery file in the cache folder, so a
crash loses nothing; saving or discarding the result removes it. A window claims a *slot* when it
opens: ``recovery.png`` (slot 1), or ``recovery-2.png`` ... when another window holds that one, by
taking the slot's lock (``recovery.lock``, ``recovery-2.lock`` ...) until it closes. The operating
system drops the lock when a window's process dies, so the next window can take the slot and offer
the file left in it; free slots that hold a file are taken first, so such a file is offered again.
"""

from __future__ import annotations

from pathlib import Path

from filelock import FileLock, Timeout

RECOVERY_STEM = "recovery"
#: Most windows with a recovery file of their own at once (more: the last slot is shared).
MAX_SLOTS = 16


def slot_path(folder: Path, slot: int) -> Path:
    """The recovery file of ``slot`` (1: ``recovery.png``, 2: ``recovery-2.png`` ...)."""
    return folder / (f"{RECOVERY_STEM}.png" if slot == 1 else f"{RECOVERY_STEM}-{slot}.png")


class RecoverySlot:
    """The recovery file this window owns in ``folder`` (see the module docstring): :attr:`path`.

    Where no lock can be taken (the folder cannot be made, or every slot is held), :attr:`path` is
    still a usable file and :attr:`locked` is False."""

    def __init__(self, folder: Path) -> None:
        self._lock: FileLock | None = None
        self.path = slot_path(folder, 1)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return
        slots = range(1, MAX_SLOTS + 1)
        with_file = [n for n in slots if slot_path(folder, n).is_file()]
        for n in [*with_file, *(n for n in slots if n not in with_file)]:
            lock = FileLock(slot_path(folder, n).with_suffix(".lock"), timeout=0)
            try:
                lock.acquire()
            except (Timeout, OSError):
                continue
            self._lock, self.path = lock, slot_path(folder, n)
            return
        self.path = slot_path(folder, MAX_SLOTS)

    @property
    def locked(self) -> bool:
        """True while this window holds the slot's lock."""
        return self._lock is not None

    def discard(self) -> None:
        """Remove the recovery file (its result was saved or deliberately discarded)."""
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            pass  # a stale recovery file only offers itself again next time

    def release(self) -> None:
        """Give the slot up (the window closes); its file, if any, is offered to the next window."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None
