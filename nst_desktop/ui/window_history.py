"""The window's results: the History strip's entries and what saving a result changes. A part of
:class:`~nst_desktop.ui.main_window.MainWindow` (a mixin: it reads the parts the window made)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from PySide6.QtCore import Slot

from nst_desktop.engine import StyleResult
from nst_desktop.ui.history_strip import HistoryEntry, dropped_message, entry_caption
from nst_desktop.ui.qimage_convert import pil_to_qimage
from nst_desktop.ui.worker import RunOutcome


class WindowHistory:
    """Results kept, shown, saved and removed."""

    # ------------------------------------------------------------------ saving and export
    def note_saved(self, res: StyleResult, path: Path) -> None:
        """``res`` (the shown result or a History entry's) was saved to ``path``."""
        entry = self.history.entry_for(res)
        shown = res is self._result
        if shown:
            self._result_saved = True
        self.settings.last_save_dir = str(path.resolve().parent)
        if entry is None or entry is self.history.newest():
            self.export.recovery.discard()  # the recovery file holds the newest run's result
        if shown:
            w, h = res.image.size
            self.result_view.set_caption(f"Result · {w} × {h} px · saved as {path.name}")
        if entry is not None:
            self.history.mark_saved(entry, path)
            if shown:
                self.result_view.set_caption(entry_caption(entry))
        self._update_state()

    # ------------------------------------------------------------------ history
    def _add_to_history(self, outcome: RunOutcome, stopped: bool) -> None:
        """Keep a run's result (just shown by :meth:`show_result`) in the History."""
        if outcome.result is not self._result:
            return
        before = None
        if self.last_request is not None:  # the photo at the result's size, for the before/after slider
            before = self.last_request.content.resize(outcome.result.image.size, Image.Resampling.LANCZOS)
        entry, dropped = self.history.add(outcome, stopped, before)
        self.result_view.set_caption(entry_caption(entry))
        if dropped:
            self.statusBar().showMessage(dropped_message(dropped, self.history.limit), 20000)
        self._update_state()

    @Slot()
    def toggle_keep_input_paths(self) -> None:
        """File > Keep Full Input Paths in Results: the setting follows the action's check mark."""
        self.settings.keep_input_paths = self.keep_paths_action.isChecked()

    @Slot()
    def update_history_visibility(self) -> None:
        self.history.setVisible(self.history_action.isChecked() and self.history.count() > 0)

    def unsaved_results(self) -> int:
        """How many results are not saved: History entries, and the shown result if it is not one."""
        shown = self.has_unsaved_result() and self.history.entry_for(self._result) is None
        return self.history.unsaved_count() + int(shown)

    @Slot(object)
    def show_history_entry(self, entry: HistoryEntry) -> None:
        """Make a History entry the current result (Save, Copy, drag-out and Continue act on it)
        and show its settings in the caption. Nothing while painting."""
        if self.is_running():
            return
        self.history.select(entry)
        if entry.result is self._result:
            return
        self.show_result(entry.outcome, stopped=entry.stopped)
        self._result_saved = entry.saved
        if entry.before is not None:
            self.result_view.set_before(pil_to_qimage(entry.before))
        self.result_view.set_caption(entry_caption(entry))
        self._update_state()

    @Slot(object)
    def save_history_entry(self, entry: HistoryEntry) -> bool:
        """Show ``entry`` and ask where to save it. True if saved."""
        self.show_history_entry(entry)
        return entry.result is self._result and self.export.save_result()

    @Slot(object)
    def remove_history_entry(self, entry: HistoryEntry) -> bool:
        """Remove ``entry`` from the History (asks first if it is not saved). True if removed."""
        if not entry.saved and not self.prompts.ask(
                "Remove from History?", f"Result #{entry.number} has not been saved. Remove it from the History?"):
            return False
        self.history.remove(entry)
        self._update_state()
        return True
