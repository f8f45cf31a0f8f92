"""The Paint Regions window: the region canvas with its brushes, toolbar and OK / Cancel.

:class:`RegionEditor` puts a :class:`~nst_desktop.ui.region_canvas.RegionCanvas` in a
resizable, non-modal dialog with one brush per painting of the Style list, Keep photo
and Eraser, the brush size, a Fill mode (a click fills the connected area of one label),
Undo (Ctrl+Z), Redo (Ctrl+Shift+Z) and Clear. Cancel (or Esc, or closing it) puts back
the regions it was opened with; OK keeps them.
"""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction, QImage, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from nst_desktop.ui.qimage_convert import pil_to_qimage
from nst_desktop.ui.region_canvas import RegionCanvas
from nst_desktop.ui.region_labels import (
    ERASE,
    KEEP,
    MAX_REGION_STYLES,
    STYLE1,
    region_colour,
    region_name,
    relabel,
    removal_table,
    style_label,
)

#: Style brushes per line of the Paint Regions window.
STYLE_BUTTONS_PER_ROW = 4


class RegionEditor(QDialog):
    """A resizable window to paint regions over the photo: one brush per painting of the Style
    list (Style 1 ... Style N, named after the file), Keep photo and Eraser; brush size, Fill,
    Undo, Redo and Clear; OK keeps the regions, Cancel puts back those it was opened with. It
    is not modal; the window reads the regions (:meth:`RegionCanvas.engine_masks`) when a run
    starts and tells it the paintings (:meth:`set_styles`) and removed rows (:meth:`remove_style`)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Paint Regions")
        self.canvas = RegionCanvas()
        #: Tool buttons by label: the styles' (style_label(i)), KEEP and ERASE.
        self.tool_buttons: dict[int, QPushButton] = {}
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        self._style_names: list[str | None] = [None]
        self._style_grid = QGridLayout()
        self._style_grid.setSpacing(4)
        for c in range(STYLE_BUTTONS_PER_ROW):
            self._style_grid.setColumnStretch(c, 1)
        for k in (KEEP, ERASE):
            self._tool_button(k)
        self.tool_buttons[KEEP].setToolTip("Paint where the photo stays as it is")
        self.tool_buttons[ERASE].setToolTip("Remove paint (unpainted pixels keep the photo once any style region "
                                            "is painted)")
        self._group.idClicked.connect(self.set_tool)
        self.set_styles([None])
        self.brush_spin = QSpinBox()
        self.brush_spin.setRange(1, 400)
        self.brush_spin.setSuffix(" px")
        self.brush_spin.setValue(self.canvas.brush)
        self.brush_spin.setToolTip("Brush diameter, in pixels of the region image")
        self.brush_spin.valueChanged.connect(self._on_brush)
        self.fill_button = QPushButton("&Fill")
        self.fill_button.setCheckable(True)
        self.fill_button.setToolTip("Fill mode: a click fills the area of one colour under the pointer (an area "
                                    "closed by a stroke, or all unpainted) with the current brush")
        self.fill_button.toggled.connect(self._on_fill)
        self.undo_action = QAction("Undo", self)
        self.undo_action.setShortcuts([QKeySequence("Ctrl+Z")])
        self.undo_action.triggered.connect(self.canvas.undo)
        self.redo_action = QAction("Redo", self)
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.redo_action.triggered.connect(self.canvas.redo)
        self.addActions([self.undo_action, self.redo_action])
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Undo the last stroke, fill or clear (Ctrl+Z)")
        self.undo_button.clicked.connect(self.undo_action.trigger)
        self.redo_button = QPushButton("Redo")
        self.redo_button.setToolTip("Redo what was undone (Ctrl+Shift+Z)")
        self.redo_button.clicked.connect(self.redo_action.trigger)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.canvas.clear)
        row = QHBoxLayout()
        brush_label = QLabel("&Brush")
        brush_label.setBuddy(self.brush_spin)
        row.addWidget(brush_label)
        row.addWidget(self.brush_spin)
        row.addWidget(self.fill_button)
        row.addStretch(1)
        row.addWidget(self.undo_button)
        row.addWidget(self.redo_button)
        row.addWidget(self.clear_button)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self._opened_with: tuple[QImage | None, list[QImage], list[QImage]] | None = None
        hint = QLabel("Paint where each style goes. Unpainted pixels keep the photo once any style region is "
                      "painted; with nothing painted the whole photo is stylised. A painting with weight 0 % is "
                      "left out, and so is its region.")
        hint.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addLayout(self._style_grid)
        lay.addWidget(self.canvas, 1)
        lay.addLayout(row)
        lay.addWidget(hint)
        lay.addWidget(self.buttons)
        self.canvas.changed.connect(self._on_canvas_changed)
        self.setSizeGripEnabled(True)
        self.resize(640, 620)
        self._refresh()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        if not event.spontaneous():  # opened (not un-minimised): what Cancel goes back to
            self._opened_with = self.canvas.snapshot()
        super().showEvent(event)

    def reject(self) -> None:
        """Cancel, Esc or closing: the regions go back to what they were when the window opened."""
        if self._opened_with is not None:
            self.canvas.restore(self._opened_with)
            self._opened_with = None
        super().reject()

    def accept(self) -> None:
        """OK: keep the regions as painted."""
        self._opened_with = None
        super().accept()

    @Slot(bool)
    def _on_fill(self, on: bool) -> None:
        self.canvas.fill_mode = on
        self.canvas.setCursor(Qt.CursorShape.PointingHandCursor if on else Qt.CursorShape.CrossCursor)
        self.canvas.update()

    def _tool_button(self, label: int) -> QPushButton:
        b = QPushButton(region_name(label))
        b.setCheckable(True)
        if label != ERASE:
            c = region_colour(label)
            b.setStyleSheet(f"QPushButton:checked {{ border: 2px solid rgb({c.red()},{c.green()},{c.blue()}); }}")
        self._group.addButton(b, label)
        self.tool_buttons[label] = b
        return b

    def set_styles(self, names: Sequence[str | None]) -> None:
        """The rows of the Style list: one brush each, named after the file (None: a row with
        no painting yet, the empty first row). A brush whose row is gone falls back to Style 1."""
        names = list(names) or [None]
        if len(names) > MAX_REGION_STYLES:
            raise ValueError(f"at most {MAX_REGION_STYLES} styles, not {len(names)}")
        for label in [k for k in self.tool_buttons if k not in (KEEP, ERASE) and k > len(names)]:
            b = self.tool_buttons.pop(label)
            self._group.removeButton(b)
            self._style_grid.removeWidget(b)
            b.deleteLater()
        for i, name in enumerate(names):
            label = style_label(i)
            b = self.tool_buttons.get(label) or self._tool_button(label)
            self._place(b, i // STYLE_BUTTONS_PER_ROW, i % STYLE_BUTTONS_PER_ROW)
            shown = name if name is None or len(name) <= 24 else name[:21] + "…"
            b.setText(region_name(label, shown))
            b.setToolTip(f"Paint where Style {label} ({name}) goes" if name is not None
                         else f"Paint where Style {label} goes (load a painting into it to use the region)")
            b.setAccessibleName(f"Brush: Style {label}" + (f", {name}" if name else ""))
        line = -(-len(names) // STYLE_BUTTONS_PER_ROW)  # Keep photo and Eraser on the line below
        self._place(self.tool_buttons[KEEP], line, 0)
        self._place(self.tool_buttons[ERASE], line, 1)
        self._style_names = names
        self.set_tool(self.canvas.tool if self.canvas.tool in self.tool_buttons else STYLE1)

    def _place(self, button: QPushButton, line: int, column: int) -> None:
        index = self._style_grid.indexOf(button)
        if index >= 0:
            if self._style_grid.getItemPosition(index)[:2] == (line, column):
                return
            self._style_grid.removeWidget(button)
        self._style_grid.addWidget(button, line, column)

    def style_names(self) -> list[str | None]:
        """The names :meth:`set_styles` was given last (one per row)."""
        return list(self._style_names)

    def remove_style(self, index: int) -> None:
        """Row ``index`` of the Style list was removed: its region goes, later rows move up
        (see :meth:`RegionCanvas.remove_style`); call :meth:`set_styles` afterwards. What Cancel
        would put back is relabelled too, so Cancel never gives the removed row's region to another."""
        self.canvas.remove_style(index)
        if self._opened_with is not None:
            table = removal_table(index)
            labels, undo, redo = self._opened_with
            self._opened_with = (relabel(labels, table) if labels is not None else None,
                                 [relabel(u, table) for u in undo], [relabel(u, table) for u in redo])
        self.set_tool(self.canvas.tool if self.canvas.tool in self.tool_buttons else STYLE1)
        self._refresh()

    @Slot(int)
    def set_tool(self, tool: int) -> None:
        self.canvas.tool = tool
        self.tool_buttons[tool].setChecked(True)

    @Slot(int)
    def _on_brush(self, value: int) -> None:
        self.canvas.brush = value

    def set_photo(self, photo: Image.Image | None) -> None:
        self.canvas.set_photo(pil_to_qimage(photo) if photo is not None else None)
        self._opened_with = None  # another photo: Cancel has nothing to put back
        self._refresh()

    @Slot()
    def _on_canvas_changed(self) -> None:
        self._refresh()
        self.changed.emit()

    def _refresh(self) -> None:
        self.undo_button.setEnabled(self.canvas.can_undo())
        self.redo_button.setEnabled(self.canvas.can_redo())
        self.clear_button.setEnabled(not self.canvas.is_empty())
