"""The Presets menu: save the current settings under a name, apply one, export, import, delete.

Storage and checks are :mod:`nst_desktop.services.presets`; this module reads the window's
ControlsPanel and Style list into a preset and puts a preset back into them. The menu lists the
stored presets (read when it opens) below its four actions; choosing one applies it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QMenu, QWidget

from nst_desktop.engine import ImageError, load_image
from nst_desktop.services.jobs import device_type
from nst_desktop.services.presets import (
    Preset,
    PresetError,
    load_presets,
    preset_from_values,
    read_preset_file,
    save_presets,
    unused_name,
    with_preset,
    write_preset_file,
)
from nst_desktop.services.settings import Settings
from nst_desktop.ui.control_choices import strength_to_position
from nst_desktop.ui.controls import ControlsPanel
from nst_desktop.ui.image_pane import LoadedImage
from nst_desktop.ui.prompts import Prompts
from nst_desktop.ui.style_list import StyleList
from nst_desktop.ui.style_row import WEIGHT_MAX

PRESET_FILTER = "NST Desktop presets (*.json)"
NO_PRESETS = "No presets yet: save one with Presets > Save Settings as Preset…"
DEVICE_NAMES = {"cpu": "the CPU", "cuda": "an NVIDIA GPU", "mps": "an Apple GPU"}


def _select(combo: QComboBox, data: object) -> bool:
    index = combo.findData(data)
    if index >= 0:
        combo.setCurrentIndex(index)
    return index >= 0


class PresetsMenu(QObject):
    """The window's Presets menu and what its entries do: a preset is read from and put into the
    ``controls`` and the ``style_list``.

    ``prompts``: the questions and file dialogs; ``show_status(text, ms)``: a line in the status bar
    for ``ms`` milliseconds; ``is_running()``: a run is going (no preset is applied then);
    ``parent``: the window, which owns the four actions."""

    def __init__(self, *, controls: ControlsPanel, style_list: StyleList, prompts: Prompts,
                 show_status: Callable[[str, int], None], is_running: Callable[[], bool], parent: QWidget) -> None:
        super().__init__(parent)
        self.controls = controls
        self.style_list = style_list
        self.prompts = prompts
        self.show_status = show_status
        self.is_running = is_running
        self._owner = parent
        self.save_action = self._make("&Save Settings as Preset…", self.save_current,
                                      "Keep every painting setting, the paintings and their weights under a name")
        self.export_action = self._make("&Export Preset…", self.export_preset,
                                        "Write a preset to a file (to use it on another computer)")
        self.import_action = self._make("&Import Preset…", self.import_preset, "Add a preset from a file")
        self.delete_action = self._make("&Delete Preset…", self.delete_preset, "Remove a saved preset")
        self.menu: QMenu | None = None
        #: The menu entries of the stored presets (made when the menu opens).
        self.entries: list[QAction] = []

    def _make(self, text: str, slot: Any, tip: str) -> QAction:
        act = QAction(text, self._owner)
        act.setStatusTip(tip)
        act.setToolTip(tip)
        act.triggered.connect(slot)
        self._owner.addAction(act)
        return act

    def build(self, menu: QMenu) -> None:
        """Put the actions into ``menu``; the presets are listed below them when it opens."""
        self.menu = menu
        for act in (self.save_action, self.export_action, self.import_action, self.delete_action):
            menu.addAction(act)
        menu.addSeparator()
        menu.aboutToShow.connect(self.fill)

    # ------------------------------------------------------------------ the store
    def presets(self) -> tuple[Preset, ...]:
        """The stored presets; a damaged store is named in the status bar."""
        loaded = load_presets()
        if loaded.problem:
            self._say(loaded.problem)
        return loaded.presets

    def _store(self, presets: tuple[Preset, ...]) -> bool:
        try:
            save_presets(presets)
        except OSError as exc:
            self._say(f"The presets could not be saved: {exc.strerror or exc}.")
            return False
        return True

    def _say(self, text: str) -> None:
        self.show_status(text, 15000)

    @Slot()
    def fill(self) -> None:
        """List the stored presets at the bottom of the menu, each applying itself when chosen."""
        if self.menu is None:
            return
        for act in self.entries:
            self.menu.removeAction(act)
            act.deleteLater()
        self.entries = []
        presets = self.presets()
        if not presets:
            act = QAction("(no presets yet)", self.menu)
            act.setEnabled(False)
            self.entries.append(act)
        for preset in presets:
            act = QAction(preset.name.replace("&", "&&"), self.menu)
            act.setData(preset.name)
            act.setStatusTip(f"Apply the preset '{preset.name}'")
            act.triggered.connect(self._on_entry)
            self.entries.append(act)
        self.menu.addActions(self.entries)
        for act in (self.export_action, self.delete_action):
            act.setEnabled(bool(presets))

    @Slot()
    def _on_entry(self) -> None:
        act = self.sender()
        if isinstance(act, QAction):
            self.apply_named(str(act.data()))

    # ------------------------------------------------------------------ the window's values
    def current(self, name: str) -> tuple[Preset, list[str]]:
        """The window's settings as a preset called ``name``, and notes on what it leaves out
        (a pasted painting has no file). Raises PresetError if a value cannot be kept."""
        s = Settings()
        self.controls.store_settings(s)
        styles, notes = [], []
        for i, row in enumerate(self.style_list.rows, 1):
            if row.loaded is None:
                continue
            if row.loaded.path is None:
                notes.append(f"the painting in row {i} has no file (pasted) and is left out")
                continue
            styles.append({"path": str(row.loaded.path.resolve()), "weight": row.weight / WEIGHT_MAX})
        values = {"size": s.size, "style_strength": s.style_strength, "style_scale": s.style_scale,
                  "preserve_colors": s.preserve_colors, "quality": s.quality, "init": s.init, "seed": s.seed,
                  "seamless": s.seamless, "device": device_type(self.controls.device_id()), "weights": s.weights,
                  "styles": styles, "leave_out_objects": s.leave_out_objects, "layer_weights": s.layer_weights}
        return preset_from_values(name, values), notes

    def apply(self, preset: Preset) -> list[str]:
        """Set the controls and the Style list to ``preset``; returns notes on what could not be
        (paintings not found, another kind of device). The Style list is kept if none is found."""
        c = self.controls
        c.size_spin.setValue(preset.size)
        c.strength_slider.setValue(strength_to_position(preset.style_strength))
        c.scale_spin.setValue(preset.style_scale)
        c.seed_spin.setValue(preset.seed)
        c.seamless_check.setChecked(preset.seamless)
        c.objects_check.setChecked(preset.leave_out_objects)
        c.show_layer_weights(preset.layer_weights)
        for combo, value in ((c.quality_combo, preset.quality), (c.init_combo, preset.init),
                             (c.preserve_combo, preset.preserve_colors)):
            _select(combo, value)
        c.select_weights(preset.weights)
        notes = []
        if device_type(c.device_id()) != preset.device:
            ids = [c.device_combo.itemData(i) for i in range(c.device_combo.count())]
            match = next((d for d in ids if d != "auto" and device_type(d) == preset.device), None)
            if match is None or not _select(c.device_combo, match):
                notes.append(f"it was made on {DEVICE_NAMES[preset.device]}, which this computer does not have, "
                             "so the result will differ")
        items, missing = [], []
        for style in preset.styles:
            p = Path(style.path)
            try:
                if not p.is_file():  # never a device, pipe or folder named in a file
                    raise ImageError(f"{p.name} is not a file")
                items.append((LoadedImage(load_image(p), p.name, p), round(WEIGHT_MAX * style.weight)))
            except (ImageError, OSError):
                missing.append(p.name)
        if items:
            self.style_list.set_rows(items)
        if missing:
            notes.append("paintings not found: " + ", ".join(missing))
        return notes

    # ------------------------------------------------------------------ the actions
    @Slot()
    def save_current(self) -> bool:
        """Presets > Save Settings as Preset…: ask a name (asking before replacing one)."""
        name = self.prompts.ask_text("Save Settings as Preset", "Name of the preset:")
        if name is None:
            return False
        try:
            preset, notes = self.current(name)
        except PresetError as exc:
            self._say(str(exc))
            return False
        presets = self.presets()
        if any(q.name == preset.name for q in presets) and not self.prompts.ask(
                "Replace preset?", f"A preset called '{preset.name}' exists. Replace it?"):
            return False
        try:
            presets = with_preset(presets, preset)
        except PresetError as exc:
            self._say(f"The preset was not saved: {exc}.")
            return False
        if not self._store(presets):
            return False
        note = f" ({'; '.join(notes)})" if notes else "."
        self._say(f"Preset '{preset.name}' saved{note}")
        return True

    def apply_named(self, name: str) -> bool:
        """Apply the stored preset called ``name``. False if it is gone or a run is going."""
        if self.is_running():
            self._say("A preset cannot be applied while painting.")
            return False
        preset = next((q for q in self.presets() if q.name == name), None)
        if preset is None:
            self._say(f"The preset '{name}' no longer exists.")
            return False
        notes = self.apply(preset)
        self._say(f"Preset '{name}' applied" + (f" ({'; '.join(notes)})" if notes else "."))
        return True

    def _choose(self, title: str) -> Preset | None:
        presets = self.presets()
        if not presets:
            self._say(NO_PRESETS)
            return None
        name = self.prompts.choose(title, "Preset:", [q.name for q in presets])
        return next((q for q in presets if q.name == name), None)

    @Slot()
    def export_preset(self) -> bool:
        """Presets > Export Preset…: a stored preset to a JSON file."""
        preset = self._choose("Export Preset")
        if preset is None:
            return False
        suggested = re.sub(r"[^\w.-]+", "-", preset.name).strip("-") or "preset"
        path = self.prompts.save_file("Export Preset", f"{suggested}.json", PRESET_FILTER)
        if not path:
            return False
        try:
            write_preset_file(preset, path)
        except OSError as exc:
            self._say(f"The preset could not be written to '{Path(path).name}': {exc.strerror or exc}.")
            return False
        self._say(f"Preset '{preset.name}' exported to {Path(path).name}.")
        return True

    @Slot()
    def import_preset(self) -> bool:
        """Presets > Import Preset…: add the preset of a file (renamed "name (2)" if the name is taken)."""
        path = self.prompts.open_file("Import Preset", PRESET_FILTER)
        if not path:
            return False
        try:
            preset = read_preset_file(path)
        except PresetError as exc:
            self._say(str(exc))
            return False
        presets = self.presets()
        preset = dataclasses.replace(preset, name=unused_name(presets, preset.name))
        try:
            presets = with_preset(presets, preset)
        except PresetError as exc:
            self._say(f"The preset was not imported: {exc}.")
            return False
        if not self._store(presets):
            return False
        self._say(f"Preset '{preset.name}' imported: apply it from the Presets menu.")
        return True

    @Slot()
    def delete_preset(self) -> bool:
        """Presets > Delete Preset…: remove a stored preset (asks first)."""
        preset = self._choose("Delete Preset")
        if preset is None or not self.prompts.ask("Delete preset?", f"Delete the preset '{preset.name}'?"):
            return False
        if not self._store(tuple(q for q in self.presets() if q.name != preset.name)):
            return False
        self._say(f"Preset '{preset.name}' deleted.")
        return True
