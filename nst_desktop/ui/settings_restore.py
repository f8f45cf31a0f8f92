"""Applying what :mod:`nst_desktop.services.restore` read from a result: File > Open Settings
from Image (settings, inputs found, regions) and a History entry's Use These Settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QObject, Signal, Slot

from nst_desktop.engine import ImageError
from nst_desktop.services.restore import RestorePlan, load_offered, printable, read_plan, settings_plan
from nst_desktop.ui.controls import ControlsPanel
from nst_desktop.ui.history_strip import HistoryEntry, HistoryStrip
from nst_desktop.ui.image_pane import ImagePane, LoadedImage
from nst_desktop.ui.inputs import InputsController
from nst_desktop.ui.mask_editor import RegionEditor
from nst_desktop.ui.prompts import Prompts
from nst_desktop.ui.saved_result import show_saved_result
from nst_desktop.ui.style_list import StyleList


class SettingsRestorer(QObject):
    """Puts a :class:`RestorePlan` into the ``controls``, the Content pane, the Style list and the
    region painter (``region_editor``).

    ``inputs``: its file dialog for a result; ``history`` and ``show_entry(entry)``: a restored
    result goes into the History and is shown; ``prompts``: the questions; ``show_status(text, ms)``:
    a line in the status bar for ``ms`` milliseconds; ``is_running()``: a run is going (a History
    entry's settings wait). Emits ``restored`` after a plan was applied (the window then updates
    its state).
    """

    restored = Signal()

    def __init__(self, *, inputs: InputsController, content_pane: ImagePane, style_list: StyleList,
                 region_editor: RegionEditor, controls: ControlsPanel, history: HistoryStrip,
                 show_entry: Callable[[HistoryEntry], None], prompts: Prompts,
                 show_status: Callable[[str, int], None], is_running: Callable[[], bool],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.inputs = inputs
        self.content_pane = content_pane
        self.style_list = style_list
        self.region_editor = region_editor
        self.controls = controls
        self.history = history
        self.show_entry = show_entry
        self.prompts = prompts
        self.show_status = show_status
        self.is_running = is_running

    @Slot()
    def open_settings_from_image(self) -> bool:
        """Ask for a saved result and restore its settings, and its input files where they still exist."""
        path = self.inputs.ask_open_path("Open Settings from Image")
        return self.restore_settings_from(path) if path else False

    def restore_settings_from(self, path: str | Path) -> bool:
        """Restore the controls and the painted regions from the metadata of ``path``, and the inputs it
        names (the content photo, the paintings with their weights) where they exist, are images, and
        the user agrees to open them (a question lists their paths). True if settings were found.

        The Style list is replaced by the run's paintings that are opened (it is kept if none is);
        files not offered are named in the status bar, and so are regions that cannot be restored.
        A run without regions clears the painted regions (Undo brings them back)."""
        try:
            plan = read_plan(path)
        except ImageError as exc:
            self.show_status(str(exc), 10000)
            return False
        skipped = self._apply_settings(plan)
        name = printable(Path(path).name)
        if skipped is None:
            self.prompts.inform("No settings found", f"'{name}' holds no NST Desktop settings.")
            return False
        notes = []
        found: list[int] | None = None  # for each restored painting, its index in the run's styles
        if plan.offered and self._agreed(name, plan):
            content, styles, problems = load_offered(plan.offered)
            if content is not None:
                self.content_pane.load_path(content)
            if styles:
                self.style_list.set_rows([(LoadedImage(s.image, s.path.name, s.path), s.percent) for s in styles])
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
        # the file is a result: in the History, and shown
        show_saved_result(path, history=self.history, content_pane=self.content_pane, show_entry=self.show_entry)
        self.show_status(f"Settings restored from {name}" + (f" ({'; '.join(notes)})" if notes else "."), 15000)
        self.restored.emit()
        return True

    def _agreed(self, name: str, plan: RestorePlan) -> bool:
        """Ask whether to open the input files ``plan`` offers (listed with their paths)."""
        listing = "\n".join(item.describe() for item in plan.offered)
        return self.prompts.ask(
            "Open the Inputs Too?",
            f"'{name}' names these files as the inputs that made it:\n\n{listing}\n\n"
            "Open them as well? (No: only the settings are restored.)")

    @Slot(object)
    def use_history_settings(self, entry: HistoryEntry) -> bool:
        """Set the controls to the settings that made ``entry`` (the inputs are kept). True if done."""
        if self.is_running():
            return False
        skipped = self._apply_settings(settings_plan(entry.result.metadata))
        if skipped is None:
            self.show_status(f"Result #{entry.number} holds no settings.", 10000)
            return False
        note = f" (not restored: {', '.join(skipped)})" if skipped else "."
        self.show_status(f"Settings of result #{entry.number} restored{note}", 15000)
        self.restored.emit()
        return True

    def _restore_regions(self, plan: RestorePlan, found: list[int] | None) -> str | None:
        """Paint the plan's regions into the region editor; ``found[j]``: the run's style whose
        mask becomes row j's region (None: the masks go to the rows in order). Returns a note
        for the user, or None."""
        canvas = self.region_editor.canvas
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
            order = found if found is not None else list(range(min(len(masks), len(self.style_list.rows))))
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
            self.style_list.set_included_weights(list(plan.weights))
        return self.controls.apply_run_params(dict(plan.params))
