"""The Queue's results in the window: each written result goes into the History as saved, the
latest contact sheet is shown under the queue, and a clicked cell (or a finished row) shows that
result in the window with its settings on the line under the sheet.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from PIL import Image
from PySide6.QtWidgets import QLabel

from nst_desktop.engine import ImageError, StyleResult, load_image, read_metadata
from nst_desktop.services.queue_store import QueueItem
from nst_desktop.ui.history_strip import HistoryEntry, HistoryStrip, dropped_message, settings_summary
from nst_desktop.ui.qimage_convert import pil_to_qimage
from nst_desktop.ui.sheet_view import SheetView
from nst_desktop.ui.worker import RunOutcome


class ShownEntry(Protocol):
    """The result a window shows, and how it makes a History entry the shown one."""

    @property
    def result(self) -> StyleResult | None: ...

    def show_history_entry(self, entry: HistoryEntry) -> None: ...


class QueueResults:
    """Shows the queue's results in a window: in its ``history``, through ``shown`` (a result
    from the queue is shown when asked for) and ``show_status(text, ms)`` (a line in the status
    bar for ``ms`` milliseconds); the contact sheet in ``sheet`` and a result's settings in
    ``cell_label``; ``added()`` is called after a result went into the History."""

    def __init__(self, *, shown: ShownEntry, history: HistoryStrip, show_status: Callable[[str, int], None],
                 sheet: SheetView, cell_label: QLabel, added: Callable[[], None]) -> None:
        self.shown = shown
        self.history = history
        self.show_status = show_status
        self.sheet = sheet
        self.cell_label = cell_label
        self._added = added

    def result_written(self, item: QueueItem, outcome: RunOutcome, path: Path, before: Image.Image | None) -> None:
        """A queue result: into the History, as saved to its file."""
        self._add_to_history(outcome, path, before)
        self.show_status(f"Queue: wrote {path} ({item.label()})", 10000)

    def _add_to_history(self, outcome: RunOutcome, path: Path, before: Image.Image | None) -> HistoryEntry:
        history = self.history
        entry, dropped = history.add(outcome, False, before)
        history.mark_saved(entry, path)
        # The highlight stays on the result the window shows (it shows a queue result when asked).
        history.select(history.entry_for(self.shown.result))
        if dropped:
            self.show_status(dropped_message(dropped, history.limit), 20000)
        self._added()
        return entry

    def sheet_saved(self, path: Path) -> None:
        """Show the contact sheet saved at ``path`` (or why it cannot be shown)."""
        problem = self.sheet.load(path)
        self.cell_label.setText(problem or f"{path} — click a cell to show that result and its settings.")

    def show_cell(self, cell: dict[str, Any]) -> None:
        """A sheet cell was clicked: show its result and its settings."""
        output = cell.get("output")
        if not output:
            self.cell_label.setText(f"No result in this cell ({cell.get('note') or 'not painted'}).")
            return
        self.show_result_file(Path(output))

    def show_result_file(self, path: Path) -> bool:
        """Show the result saved at ``path`` in the window (from the History, else read into it)
        and its settings under the sheet. False (the line says why) if it cannot be read."""
        entry = next((e for e in self.history.entries()
                      if e.saved_as is not None and Path(e.saved_as).resolve() == path.resolve()), None)
        if entry is None:
            try:
                image = load_image(path)
                meta = read_metadata(path) or {}
            except ImageError as exc:
                self.cell_label.setText(str(exc))
                return False
            steps, elapsed = meta.get("steps_done", 0), meta.get("elapsed_s", 0.0)
            res = StyleResult(image, False, steps if isinstance(steps, int) else 0, math.nan, math.nan,
                              float(elapsed) if isinstance(elapsed, (int, float)) else 0.0, meta)
            entry = self._add_to_history(RunOutcome(res, pil_to_qimage(image), ""), path, None)
        self.shown.show_history_entry(entry)
        summary = settings_summary(entry.result.metadata)
        sweep = entry.result.metadata.get("sweep")
        swept = ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in sweep.items()) \
            if isinstance(sweep, dict) else ""
        self.cell_label.setText(f"{path.name}: {summary}" + (f" (swept: {swept})" if swept else ""))
        return True
