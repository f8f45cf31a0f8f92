"""The window's inputs: opening, pasting and remembering the content photo and the paintings,
the painted regions, and what a run takes from them.

:class:`InputsController` listens to the Content pane, the Style list and the region painter,
keeps the recent files and the last folder in the settings, and emits ``changed`` whenever
what a run would use has changed (the window then updates its state).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel, QPushButton, QWidget

from nst_desktop.engine.provenance import stored_path
from nst_desktop.services.settings import Settings, remember_recent
from nst_desktop.ui.controls import ControlsPanel
from nst_desktop.ui.image_pane import ImagePane, LoadedImage
from nst_desktop.ui.mask_editor import RegionEditor
from nst_desktop.ui.prompts import Prompts
from nst_desktop.ui.style_list import StyleList
from nst_desktop.ui.style_row import WEIGHT_MAX, StyleRow

LIST_FULL_OPEN = "The Style list is full: remove a painting first"


class InputsController(QObject):
    """The inputs of a window (``parent``): its Content pane, Style list and region painter. Owns the
    Paint Regions button and the regions label.

    ``controls``: told the photo's aspect; ``settings``: the recent files and the last folder (kept
    there, written by the window); ``prompts``: the file dialogs; ``show_status(text, ms)``: a
    line in the status bar for ``ms`` milliseconds."""

    changed = Signal()

    def __init__(self, *, content_pane: ImagePane, style_list: StyleList, region_editor: RegionEditor,
                 controls: ControlsPanel, settings: Settings, prompts: Prompts,
                 show_status: Callable[[str, int], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.content_pane = content_pane
        self.style_list = style_list
        self.region_editor = region_editor
        self.controls = controls
        self.settings = settings
        self.prompts = prompts
        self.show_status = show_status
        self.regions_button = QPushButton("Paint Regions…")
        self.regions_button.setToolTip("Paint where each style goes and where the photo stays as it is")
        self.regions_button.clicked.connect(self.edit_regions)
        self.regions_label = QLabel()
        self.regions_label.setWordWrap(True)
        self.region_editor.changed.connect(self.update_regions_label)
        self.content_pane.imageChanged.connect(self._on_input_changed)
        self.content_pane.problem.connect(self._on_problem)
        self.content_pane.openRequested.connect(self._on_open_requested)
        self.style_list.changed.connect(self._on_styles_changed)
        self.style_list.paintingLoaded.connect(self._on_painting_loaded)
        self.style_list.rowRemoved.connect(self._on_style_removed)
        self.style_list.problem.connect(self._on_problem)
        self.style_list.openRequested.connect(self._on_style_open_requested)
        self.style_list.addRequested.connect(self.add_paintings)

    # ------------------------------------------------------------------ opening and pasting
    def load_inputs(self, content: str | None, style: str | None) -> None:
        """Load images given on the command line (problems show in the panes); a style given
        there replaces the paintings remembered from last time."""
        if content:
            self.content_pane.load_path(content)
        if style:
            self.style_list.set_rows([])
            self.style_list.rows[0].load_path(style)

    def ask_open_path(self, title: str) -> str:
        """File dialog for an input image, starting in the last folder; "" if cancelled."""
        return self.prompts.open_path(title, self.settings.last_open_dir)

    def _open_into(self, pane: ImagePane) -> None:
        path = self.ask_open_path(f"Open {pane.role} Image")
        if path:
            pane.load_path(path)

    @Slot()
    def open_content(self) -> None:
        self._open_into(self.content_pane)

    @Slot()
    def open_style(self) -> None:
        """Open a painting into the empty first row of the Style list, or as a new row."""
        if not self.style_list.can_add():
            self.show_status(LIST_FULL_OPEN + ".", 10000)
            return
        path = self.ask_open_path("Open Style Image")
        if path:
            self.open_style_path(path)

    def open_style_path(self, path: str | Path) -> bool:
        """Put the painting at ``path`` into the empty first row or a new row. True if added."""
        return self.style_list.add_paths([path]) == 1

    @Slot()
    def add_paintings(self) -> None:
        """"Add painting…": ask for one or more files and add them to the Style list."""
        if not self.style_list.can_add():
            self.show_status(LIST_FULL_OPEN + ".", 10000)
            return
        chosen = self.prompts.open_paths("Add Paintings", self.settings.last_open_dir)
        if chosen:
            self.style_list.add_paths(chosen)

    @Slot()
    def _on_open_requested(self) -> None:
        pane = self.sender()
        if isinstance(pane, ImagePane):
            self._open_into(pane)

    @Slot(object)
    def _on_style_open_requested(self, row: StyleRow) -> None:
        self._open_into(row)

    @Slot()
    def paste(self) -> None:
        """Paste into the pane (or painting of the Style list) that has the keyboard focus, else
        into Content."""
        focus = QGuiApplication.focusObject()
        target: ImagePane = self.content_pane
        if isinstance(focus, QWidget):
            for row in self.style_list.rows:
                if focus is row or row.isAncestorOf(focus):
                    target = row
        target.paste()

    @Slot()
    def paste_style(self) -> None:
        """Paste the clipboard's image into the empty first row of the Style list, or as a new row."""
        self.style_list.paste_new()

    # ------------------------------------------------------------------ changes
    def _remember_input(self, pane: ImagePane) -> None:
        loaded = pane.loaded
        if loaded is None:
            return
        s = self.settings
        if loaded.path is not None:
            path = str(loaded.path.resolve())
            s.last_open_dir = str(loaded.path.resolve().parent)
            if pane is self.content_pane:
                s.recent_content = remember_recent(s.recent_content, path)
            else:
                s.recent_style = remember_recent(s.recent_style, path)
        self.show_status(f"{pane.role}: {loaded.name}", 5000)

    @Slot()
    def _on_input_changed(self) -> None:
        pane = self.sender()
        if isinstance(pane, ImagePane):
            self._remember_input(pane)
        if pane is self.content_pane:
            self.region_editor.set_photo(pane.loaded.image if pane.loaded is not None else None)
            self.update_regions_label()
        content = self.content_pane.loaded
        self.controls.set_content_aspect((content.image.height, content.image.width) if content else None)
        self.changed.emit()

    @Slot(object)
    def _on_painting_loaded(self, row: StyleRow) -> None:
        self._remember_input(row)

    @Slot(int)
    def _on_style_removed(self, index: int) -> None:
        """A painting left the Style list: its region goes, the later rows' regions move up."""
        self.region_editor.remove_style(index)

    @Slot()
    def _on_styles_changed(self) -> None:
        self.region_editor.set_styles(self.style_list.names())
        self.update_regions_label()
        self.changed.emit()

    @Slot(str)
    def _on_problem(self, message: str) -> None:
        self.show_status(message, 15000)

    # ------------------------------------------------------------------ regions
    @Slot()
    def edit_regions(self) -> None:
        """Show the region painter (not modal)."""
        editor = self.region_editor
        editor.show()
        editor.raise_()
        editor.activateWindow()

    @Slot()
    def update_regions_label(self) -> None:
        self.regions_button.setEnabled(self.content_pane.loaded is not None)
        canvas = self.region_editor.canvas
        rows = [r.index for r in self.style_list.included()]
        masks, keep = canvas.engine_masks(len(rows), rows=rows)
        left_out = canvas.painted_styles() - set(rows)
        if masks is None and keep is None and not left_out:
            text = "Regions: none (the whole photo is stylised)"
        elif masks is None:
            text = "Regions: part of the photo is kept"
        else:
            text = "Regions: painted (unpainted pixels keep the photo)"
        if left_out:
            names = ", ".join(f"Style {i + 1}" for i in sorted(left_out))
            text += f"; not used: {names} (weight 0 % or no painting), its pixels keep the photo"
        self.regions_label.setText(f"<small>{text}</small>")

    # ------------------------------------------------------------------ what a run takes
    def style_inputs(self) -> tuple[list[Image.Image], list[float] | None]:
        """The paintings of a run and their weights: the Style list's rows with a painting and a
        weight above 0, in order. Weights are the sliders' fractions (relative: the engine divides
        by their sum); None for a single painting."""
        rows = self.style_list.included()
        images = [r.loaded.image for r in rows if r.loaded is not None]
        if len(images) <= 1:
            return images, None
        return images, [r.weight / WEIGHT_MAX for r in rows]

    def input_paths(self) -> dict[str, object]:
        """Where the inputs came from, for the result's metadata: file names, or absolute paths with the
        setting File > Keep Full Input Paths in Results (None for pasted/dropped data).

        ``styles`` lists the paintings the run uses (the Style list's rows with weight above 0),
        one per entry of the result's ``style_weights`` and in the same order."""
        keep = self.settings.keep_input_paths

        def where(loaded: LoadedImage | None) -> str | None:
            return stored_path(loaded.path, keep) if loaded is not None and loaded.path is not None else None

        styles = [where(r.loaded) for r in self.style_list.included()]
        return {"content": where(self.content_pane.loaded), "styles": styles}
