"""Applying what :mod:`nst_desktop.services.restore` read from a result: File > Open Settings
from Image (settings, inputs found, regions) and a History entry's Use These Settings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image
from PySide6.QtCore import QObject, Signal, Slot

from nst_desktop.engine import ImageError
from nst_desktop.services.restore import RestorePlan, load_offered, printable, read_plan, settings_plan
from nst_desktop.ui.history_strip import HistoryEntry
from nst_desktop.ui.image_pane import LoadedImage
from nst_desktop.ui.saved_result import show_saved_result

if TYPE_CHECKING:
    from nst_desktop.ui.main_window import MainWindow


class SettingsRestorer(QObject):
    """Puts a :class:`RestorePlan` into ``window``'s controls, panes and region painter.

    Emits ``restored`` after a plan was applied (the window then updates its state).
    """

    restored = Signal()

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window

    @Slot()
    def open_settings_from_image(self) -> bool:
        """Ask for a saved result and restore its settings, and its input files where they still exist."""
        path = self.window.inputs.ask_open_path("Open Settings from Image")
        return self.restore_settings_from(path) if path else False

    def restore_settings_from(self, path: str | Path) -> bool:
        """Restore the controls and the painted regions from the metadata of ``path``, and the inputs it
        names (the content photo, the paintings with their weights) where they exist, are images, and
        the user agrees to open them (a question lists their paths). True if settings were found.

        The Style list is replaced by the run's paintings that are opened (it is kept if none is);
        files not offered are named in the status bar, and so are regions that cannot be restored.
        A run without regions clears the painted regions (Undo brings them back)."""
        w = self.window
        try:
            plan = read_plan(path)
        except ImageError as exc:
            w.statusBar().showMessage(str(exc), 10000)
            return False
        skipped = self._apply_settings(plan)
        name = printable(Path(path).name)
        if skipped is None:
            w.prompts.inform("No settings found", f"'{name}' holds no NST Desktop settings.")
            return False
        notes = []
        found: list[int] | None = None  # for each restored painting, its index in the run's styles
        if plan.offered and self._agreed(name, plan):
            content, styles, problems = load_offered(plan.offered)
            if content is not None:
                w.content_pane.load_path(content)
            if styles:
                w.style_list.set_rows([(LoadedImage(s.image, s.path.name, s.path), s.percent) for s in styles])
                found = [s.index for s in styles]
            notes += problems
        elif plan.offered:
            notes.append("input files not opened")
        if skipped:
            notes.append("not restored: " + ", ".join(skipped))
        if plan.missing:
            notes.append("input files not opened: " + ", ".join(plan.missing))
        regions_note = self._restore_regions(plan, found)
        if regions_note:
            notes.append(regions_note)
        show_saved_result(w, path)  # the file is a result: in the History, and shown
        w.statusBar().showMessage(
            f"Settings restored from {name}" + (f" ({'; '.join(notes)})" if notes else "."), 15000)
        self.restored.emit()
        return True

    def _agreed(self, name: str, plan: RestorePlan) -> bool:
        """Ask whether to open the input files ``plan`` offers (listed with their paths)."""
        listing = "\n".join(item.describe() for item in plan.offered)
        return self.window.prompts.ask(
            "Open the Inputs Too?",
            f"'{name}' names these files as the inputs that made it:\n\n{listing}\n\n"
            "Open them as well? (No: only the settings are restored.)")

    @Slot(object)
    def use_history_settings(self, entry: HistoryEntry) -> bool:
        """Set the controls to the settings that made ``entry`` (the inputs are kept). True if done."""
        w = self.window
        if w.is_running():
            return False
        skipped = self._apply_settings(settings_plan(entry.result.metadata))
        if skipped is None:
            w.statusBar().showMessage(f"Result #{entry.number} holds no settings.", 10000)
            return False
        note = f" (not restored: {', '.join(skipped)})" if skipped else "."
        w.statusBar().showMessage(f"Settings of result #{entry.number} restored{note}", 15000)
        self.restored.emit()
        return True

    def _restore_regions(self, plan: RestorePlan, found: list[int] | None) -> str | None:
        """Paint the plan's regions into the region editor; ``found[j]``: the run's style whose
        mask becomes row j's region (None: the masks go to the rows in order). Returns a note
        for the user, or None."""
        canvas = self.window.region_editor.canvas
        if plan.regions_error is not None:
            return f"regions not restored: {plan.regions_error}"
        masks, keep = plan.masks, plan.keep
        if masks is None and keep is None:
            canvas.clear()  # the run painted everywhere
            return None
        if canvas.labels is None:
            return "regions not restored: no content photo is loaded"
        rows: list[Image.Image | None] = []
        if masks is not None:
            order = found if found is not None else list(range(min(len(masks), len(self.window.style_list.rows))))
            rows = [masks[i] if i < len(masks) else None for i in order]
        canvas.set_engine_masks(rows, keep)
        return None

    def _apply_settings(self, plan: RestorePlan) -> list[str] | None:
        """Set the controls from ``plan``; returns the names not restored, or None if it holds no
        settings. The run's style weights go to the Style list's paintings in use when their
        number matches (the paintings themselves are not changed here)."""
        if plan.params is None:
            return None
        if plan.weights is not None:
            self.window.style_list.set_included_weights(list(plan.weights))
        return self.window.controls.apply_run_params(dict(plan.params))
