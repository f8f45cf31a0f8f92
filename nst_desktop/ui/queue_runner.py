"""Running the window's Queue: one item after another in the existing worker (:class:`StyleJob`).

:class:`QueueRunner` owns the :class:`~nst_desktop.services.queue_store.Queue` and saves it to
the per-user queue file after every change. When started it paints the first waiting item in a
:class:`~nst_desktop.ui.worker.StyleJob` (its own QThread: the GUI thread never waits on torch),
writes the result into the item's folder with batch's naming and the settings in the metadata
(:func:`~nst_desktop.services.batch_run.write_result`, atomic), then takes the next. An item
whose file already holds its result (the app stopped after writing it) is marked done without
painting. A bad file (unreadable, too large, vanished), a failed run or any other error of one
item fails that item with one line and the queue goes on; a result whose folder cannot take it is
kept beside it or in the per-user data folder, and the line says where. When every item of a
group has finished, its contact sheet (or sweep grid) is saved beside the results.

It never runs while the window paints (``busy()``): it waits, and :meth:`poke` starts it again.
Pause stops the item being painted at once; it goes back to waiting and restarts on Resume (as a
half-done item does after a crash). :meth:`shutdown` (closing the window) stops it the same way.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PIL import Image
from PySide6.QtCore import QObject, Signal, Slot

from nst_desktop.engine import EngineError, ImageError, Progress, load_image
from nst_desktop.services.batch import BatchItem, Planned, assign_outputs
from nst_desktop.services.batch_run import failure_line, keep_result, read_meta, work
from nst_desktop.services.contact_sheet import Cell, grid_for, save_sheet
from nst_desktop.services.queue_file import QueueFile
from nst_desktop.services.queue_store import Queue, QueueItem, unique_path
from nst_desktop.ui.worker import RunOutcome, StyleJob, StyleRequest

#: The stem of a group's sheet file in its folder (``contact-sheet.png``, ``-2`` ... when taken).
SHEET_STEM = "contact-sheet"


class QueueRunner(QObject):
    """The queue and its runs (see the module docstring).

    Signals:
        changed(): the queue's items, their order or states changed (the file is saved).
        item_progress(int, int, int): the running item's id, step and step budget.
        running_changed(bool): the runner started painting (True) or stopped (False).
        result_written(object, object, object, object): a finished item (:class:`QueueItem`),
            its :class:`RunOutcome`, the file written and the photo at the result's size.
        sheet_saved(object): the path of a contact sheet just saved.
        problem(str): a one-line message (a failed item, a sheet or queue file not written).
    """

    changed = Signal()
    item_progress = Signal(int, int, int)
    running_changed = Signal(bool)
    result_written = Signal(object, object, object, object)
    sheet_saved = Signal(object)
    problem = Signal(str)

    def __init__(self, busy: Callable[[], bool], cache_dir: Path | None = None, store_path: Path | None = None,
                 parent: QObject | None = None, keep_paths: Callable[[], bool] = lambda: False) -> None:
        """``busy()``: True while the window paints (the queue then waits); ``store_path``: the queue
        file (None: the user's). The queue is read from it; items left running restart, and the
        queue waits for :meth:`start`. ``keep_paths()``: results store their inputs' absolute
        paths (else file names only; the window's setting, asked when an item starts)."""
        super().__init__(parent)
        self._busy = busy
        self._keep_paths = keep_paths
        self._cache_dir = cache_dir
        self._file = QueueFile(store_path)  # shared with other windows: each save merges
        loaded = self._file.load()
        self.queue: Queue = loaded.queue
        #: Why the queue file could not be used (None: it was fine or absent).
        self.load_problem = loaded.problem
        #: Items that were being painted when the app last stopped (they wait again).
        self.restarted = self.queue.restart_running(self._file.painting)  # not another open window's
        self.save_problem: str | None = None
        self._active = False
        #: Stopped with items left: paused, or items were left from last time (Resume, not Start).
        self.paused = self.queue.next_waiting() is not None
        self._job: StyleJob | None = None
        self._item_id: int | None = None
        self._planned: Planned | None = None
        self._before: Image.Image | None = None
        self._started = 0.0
        #: (step, total) of the running item's latest progress report.
        self.progress: tuple[int, int] = (0, 0)
        self._item_eta: float | None = None
        #: Seconds and :func:`work` of the items painted in this session (for the estimate).
        self._spent = 0.0
        self._worked = 0.0
        if self.restarted:
            self._save()

    # ------------------------------------------------------------------ state
    def is_active(self) -> bool:
        """True from :meth:`start` until paused or out of waiting items."""
        return self._active

    def is_running(self) -> bool:
        """True while an item is being painted."""
        return self._job is not None

    @property
    def current_id(self) -> int | None:
        """The id of the item being painted (None when none)."""
        return self._item_id if self._job is not None else None

    def seconds_left(self) -> float | None:
        """About how long the waiting items and the rest of the running one take: the seconds per
        unit of :func:`work` measured on the items painted in this session (before the first, the
        running item's own estimate only); None without either."""
        waiting = [i for i in self.queue.items if i.state == "waiting"]
        current = self.queue.get(self._item_id) if self._job is not None and self._item_id is not None else None
        if self._worked <= 0:
            return self._item_eta if current is not None and not waiting else None
        rate = self._spent / self._worked
        left = sum(work(i.batch_item()) for i in waiting) * rate
        if current is not None:
            step, total = self.progress
            if self._item_eta is not None and math.isfinite(self._item_eta):
                left += self._item_eta
            else:
                left += work(current.batch_item()) * rate * (1 - step / max(1, total))
        return left

    # ------------------------------------------------------------------ changes
    def add(self, items: Sequence[BatchItem], out_dir: Path) -> list[QueueItem]:
        """Append items as one group whose results go to ``out_dir``; a running queue takes them in turn."""
        added: list[QueueItem] = self._save(lambda queue: queue.add(items, out_dir))  # new ids in the file too
        return added

    def move(self, item_id: int, delta: int) -> bool:
        moved = self.queue.move(item_id, delta)
        if moved:
            self._save()
        return moved

    def remove(self, item_id: int) -> bool:
        """Take an item out; the one being painted is stopped first (its result is not written)."""
        if self.queue.remove(item_id) is None:
            return False
        if self._job is not None and self._item_id == item_id:
            self._job.cancel()
        self._save()
        return True

    def retry(self, item_id: int) -> bool:
        """A failed item waits again."""
        item = self.queue.get(item_id)
        if item is None or item.state != "failed":
            return False
        self.queue.update(item_id, state="waiting", message="")
        self._save()
        self.poke()
        return True

    def clear_finished(self) -> int:
        n = self.queue.clear_finished()
        if n:
            self._save()
        return n

    def _save(self, change: Callable[[Queue], Any] | None = None) -> Any:
        """Merge the queue with the file (another window's changes come in) and write it; ``change`` is
        made on the merged queue first. Returns what ``change`` returned."""
        result = self._file.sync(self.queue, change)
        self.queue = result.queue
        if result.error is None:
            self.save_problem = None
        else:
            exc = result.error
            line = f"The queue could not be saved ({exc.strerror or exc}); it is kept while the app runs."
            if line != self.save_problem:
                self.problem.emit(line)
            self.save_problem = line
        self.changed.emit()
        return result.value

    # ------------------------------------------------------------------ running
    def start(self) -> None:
        """Start (or resume) painting the waiting items in order."""
        self._active, self.paused = True, False
        self.poke()
        self.changed.emit()

    def pause(self) -> None:
        """Stop now: the item being painted is stopped (not written), waits again and restarts on Resume."""
        self._active, self.paused = False, True
        if self._job is not None:
            self._job.cancel()
        self.changed.emit()

    def shutdown(self) -> None:
        """Stop at once and wait for the worker's thread to end (closing the window); the item being
        painted waits again (it restarts next time) and the queue is saved."""
        self._active = False
        if self._job is not None:
            self._job.stop()
            self._job.deleteLater()
            self._job = None
            if self._item_id is not None and self.queue.get(self._item_id) is not None:
                self.queue.update(self._item_id, state="waiting")
            self._item_id = None
        self._save()
        self._file.close()

    @Slot()
    def poke(self) -> None:
        """Start the next waiting item if the queue is active, idle and the window is not painting."""
        if not self._active or self._job is not None or self._busy():
            return
        self._save()  # another window may have started or removed items since
        while True:
            item = self.queue.next_waiting()
            if item is None:
                self._active = False
                self.changed.emit()
                return
            try:
                if self._begin(item):
                    return
            except Exception as exc:  # noqa: BLE001 - one item's error (even a bug) fails it; the queue goes on
                self._fail(item, exc)

    def _fail(self, item: QueueItem, why: BaseException | str) -> None:
        message = why if isinstance(why, str) else failure_line(item.batch_item(), why)
        self.queue.update(item.id, state="failed", message=message)
        self._save()
        self.problem.emit(f"Queue: failed: {message}")
        self._sheet_if_finished(item.group)

    def _begin(self, item: QueueItem) -> bool:
        """Start painting ``item``; False if it was settled at once (done already, or failed)."""
        b = dataclasses.replace(item.batch_item(), keep_paths=self._keep_paths())
        try:
            item.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._fail(item, f"{item.label()}: cannot make the folder '{item.out_dir}': {exc.strerror or exc}")
            return False
        planned = assign_outputs([b], item.out_dir, read_meta)[0]
        if planned.done:  # its result was written before the app stopped
            self.queue.update(item.id, state="done", output=planned.output, message="already painted")
            self._save()
            self._sheet_if_finished(item.group)
            return False
        try:
            content = load_image(item.photo)
            style = load_image(item.style)
        except (ImageError, OSError) as exc:
            self._fail(item, exc)
            return False
        request = StyleRequest(content, style, item.params, self._cache_dir, None, inputs=b.inputs())
        job = StyleJob(request, self)
        job.progressed.connect(self._on_progress)
        job.finished.connect(self._on_finished)
        job.cancelled.connect(self._on_cancelled)
        job.failed.connect(self._on_failed)
        job.ended.connect(self._on_ended)
        self._job, self._item_id, self._planned, self._before = job, item.id, planned, content
        self.progress, self._item_eta = (0, item.params.steps), None
        self._started = time.perf_counter()
        self.queue.update(item.id, state="running", output=planned.output, message="", owner=self._file.window)
        job.start()
        self._save()
        self.running_changed.emit(True)
        return True

    # ------------------------------------------------------------------ the job's signals
    @Slot(object)
    def _on_progress(self, p: Progress) -> None:
        if self._item_id is None:
            return
        self.progress = (p.step, p.total)
        self._item_eta = p.eta_s if p.phase == "optimise" else None
        self.item_progress.emit(self._item_id, p.step, p.total)

    @Slot(object)
    def _on_finished(self, outcome: RunOutcome) -> None:
        item = self.queue.get(self._item_id) if self._item_id is not None else None
        if item is None or self._planned is None:  # removed while it was painted
            return
        seconds = time.perf_counter() - self._started
        try:
            saved = keep_result(self._planned, outcome.result.image, outcome.result.metadata)
        except Exception as exc:  # noqa: BLE001 - the item fails with its message; the queue goes on
            self._fail(item, exc)
            return
        if saved.problem is not None:  # kept beside its folder or in the data folder: the line says where
            self._fail(item, f"{item.label()}: {saved.note(self._planned.output)}")
            return
        path = saved.path
        self._spent += seconds
        self._worked += work(item.batch_item())
        done = self.queue.update(item.id, state="done", output=path, seconds=round(seconds, 2), message="")
        self._save()
        before = None
        if self._before is not None:
            before = self._before.resize(outcome.result.image.size, Image.Resampling.LANCZOS)
        self.result_written.emit(done, outcome, path, before)
        self._sheet_if_finished(item.group)

    @Slot(object)
    def _on_cancelled(self, _outcome: RunOutcome | None) -> None:
        """Paused or removed: the item (if still queued) waits again; nothing is written."""
        if self._item_id is not None and self.queue.get(self._item_id) is not None:
            self.queue.update(self._item_id, state="waiting")
            self._save()

    @Slot(str, object)
    def _on_failed(self, message: str, _fits: int | None) -> None:
        item = self.queue.get(self._item_id) if self._item_id is not None else None
        if item is not None:
            self._fail(item, f"{item.label()}: {message.splitlines()[0] if message else 'failed'}")

    @Slot()
    def _on_ended(self) -> None:
        if self._job is not None:
            self._job.deleteLater()
        self._job, self._item_id, self._planned, self._before = None, None, None, None
        self.poke()
        if self._job is None:
            self.running_changed.emit(False)
            self.changed.emit()

    # ------------------------------------------------------------------ sheets
    def _sheet_if_finished(self, group_id: int) -> None:
        """Save the group's contact sheet when its last item finished (groups of two or more)."""
        group = self.queue.group(group_id)
        items = self.queue.group_items(group_id)
        if group is None or len(items) < 2 or not self.queue.group_finished(group_id):
            return
        entries = [(i.batch_item(), Cell(i.output if i.state == "done" else None,
                                         "" if i.state == "done" else "failed")) for i in items]
        path = group.sheet or unique_path(group.out_dir, SHEET_STEM)
        try:
            save_sheet(grid_for(entries), path)
        except (EngineError, OSError) as exc:
            self.problem.emit(f"Queue: the contact sheet '{path}' could not be saved: {exc}")
            return
        self.queue.set_sheet(group_id, path)
        self._save()
        self.sheet_saved.emit(path)
