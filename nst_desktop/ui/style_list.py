"""The Style area: a list of paintings, each with a weight, that are blended into one style.

Each row (:class:`~nst_desktop.ui.style_row.StyleRow`) is an :class:`~nst_desktop.ui.image_pane.ImagePane` laid
out as a line: a thumbnail that takes drops, clicks (the file dialog) and pastes, the
file name and pixel size, Open…/Paste/remove buttons, and a weight slider (0-100 %).
Something dropped or pasted that is not an image leaves the row's painting in place
and shows the reason (naming the file) in the row, as the Content pane does.

Rules of the list (:class:`StyleList`):

* There is always at least one row. The first row may be empty ("no style yet"); every
  other row holds a painting (rows are only made for an image that loaded). Removing the
  only row's painting empties it instead of removing the row.
* At most :data:`~nst_desktop.services.settings.MAX_STYLES` rows; the list scrolls when
  they do not fit.
* "Add painting…", and anything dropped on the list outside a row (the empty area or the
  add line at the bottom), puts the painting into the empty first row or a new row;
  several files dropped at once add several paintings (on a row, the first replaces the
  row's painting and the others are added).
* Weights are relative: the engine divides by their sum. A row at 0 % is left out of the
  run (with its painted region); when every painting is at 0 % nothing can be painted
  (:meth:`StyleList.all_weights_zero`, the window disables Stylize and says why).
* A new row's weight is 100 %, unless the settings file remembered a weight for that
  position whose painting could not be reopened (:meth:`StyleList.set_rows`).

The list owns no dialogs: it asks the window with ``openRequested(row)`` and
``addRequested()`` (the window owns dialogs and remembered folders).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, Signal, Slot
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from nst_desktop.engine import ImageError, load_image
from nst_desktop.services.settings import MAX_STYLES
from nst_desktop.ui.image_pane import LoadedImage, image_from_mime, mime_has_image
from nst_desktop.ui.style_row import WEIGHT_MAX, StyleRow, local_files

LIST_FULL = f"The list is full: at most {MAX_STYLES} paintings. Remove one to add another."
ALL_ZERO = "Every painting's weight is 0 %: raise a weight slider to paint"
#: Dashed frame while something is dragged over the add line.
ADD_HIGHLIGHT_STYLE = 'QFrame#addPaintingRow[dragActive="true"] { border: 2px dashed palette(highlight); }'


class _AddRow(QFrame):
    """The last line of the list: "Add painting…" and a drop target that adds paintings."""

    def __init__(self, owner: StyleList) -> None:
        super().__init__()
        self._owner = owner
        self.setObjectName("addPaintingRow")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAcceptDrops(True)
        self.setProperty("dragActive", False)
        self.setStyleSheet(ADD_HIGHLIGHT_STYLE)
        self.button = QPushButton("Add painting…")
        self.hint = QLabel("or drop paintings here")
        self.hint.setEnabled(False)  # placeholder look
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.button)
        lay.addWidget(self.hint, 1)

    def _highlight(self, on: bool) -> None:
        self.setProperty("dragActive", on)
        self.style().unpolish(self)
        self.style().polish(self)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        if self._owner.can_add() and mime_has_image(event.mimeData()):
            event.acceptProposedAction()
            self._highlight(True)
        else:
            event.ignore()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:  # noqa: N802 - Qt API
        self._highlight(False)
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        self._highlight(False)
        event.acceptProposedAction()
        self._owner.add_mime(event.mimeData())


class StyleList(QWidget):
    """The Style area: a scrolling list of :class:`StyleRow` with "Add painting…".

    Signals: ``changed`` after any change of paintings, weights or rows;
    ``paintingLoaded(StyleRow)`` when the user put a painting into a row (not for
    :meth:`set_rows`); ``rowRemoved(int)`` with the index a removed row had (before
    ``changed``); ``problem(str)`` with the reason something was refused;
    ``openRequested(StyleRow)`` for a row's file dialog; ``addRequested`` for "Add painting…".
    """

    changed = Signal()
    paintingLoaded = Signal(object)  # the StyleRow
    rowRemoved = Signal(int)
    problem = Signal(str)
    openRequested = Signal(object)
    addRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("styleList")
        self.setAcceptDrops(True)
        self.rows: list[StyleRow] = []
        self._presets: list[int | None] = []
        self._running = False

        title = QLabel("<b>Style</b>")
        self.count_label = QLabel()
        self.count_label.setEnabled(False)
        head = QHBoxLayout()
        head.setContentsMargins(6, 6, 6, 0)
        head.addWidget(title)
        head.addWidget(self.count_label)
        head.addStretch(1)

        self._rows_box = QVBoxLayout()
        self._rows_box.setContentsMargins(0, 0, 0, 0)
        self._rows_box.setSpacing(4)
        self.add_row = _AddRow(self)
        self.add_button = self.add_row.button
        self.add_button.clicked.connect(self.addRequested)
        inner = QWidget()
        inner_lay = QVBoxLayout(inner)
        inner_lay.setContentsMargins(0, 0, 0, 0)
        inner_lay.setSpacing(4)
        inner_lay.addLayout(self._rows_box)
        inner_lay.addWidget(self.add_row)
        inner_lay.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidget(inner)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.message = QLabel()
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        self.message.setObjectName("styleListMessage")
        self.message.setStyleSheet("color: #c0392b; margin-left: 6px;")
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.message.hide()

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addLayout(head)
        lay.addWidget(self.message)
        lay.addWidget(self.scroll, 1)
        self._append_row(None)
        self._refresh()

    # --- queries -------------------------------------------------------------------
    def loaded_rows(self) -> list[StyleRow]:
        """Rows that hold a painting."""
        return [r for r in self.rows if r.loaded is not None]

    def has_painting(self) -> bool:
        """True if at least one row holds a painting."""
        return any(r.loaded is not None for r in self.rows)

    def all_weights_zero(self) -> bool:
        """True if there are paintings but every one has weight 0 % (nothing to paint with)."""
        return self.has_painting() and not any(r.included() for r in self.rows)

    def included(self) -> list[StyleRow]:
        """Rows that go into a run (a painting with weight above 0), in order."""
        return [r for r in self.rows if r.included()]

    def weights(self) -> list[int]:
        """Every row's weight in percent, in order."""
        return [r.weight for r in self.rows]

    def can_add(self) -> bool:
        """True if a painting can be added (the first row is empty or the list is not full)."""
        return not self._running and (self.rows[0].loaded is None or len(self.rows) < MAX_STYLES)

    def names(self) -> list[str | None]:
        """Each row's painting name (None for the empty first row)."""
        return [r.loaded.name if r.loaded is not None else None for r in self.rows]

    # --- changes ---------------------------------------------------------------------
    def _append_row(self, loaded: LoadedImage | None, weight: int | None = None) -> StyleRow:
        index = len(self.rows)
        if weight is None:
            preset = self._presets[index] if index < len(self._presets) else None
            weight = WEIGHT_MAX if preset is None else preset
            if preset is not None:
                self._presets[index] = None  # a remembered weight is used once
        row = StyleRow(index, weight)
        row.imageChanged.connect(self._on_row_image)
        row.problem.connect(self._on_row_problem)
        row.openRequested.connect(self._on_row_open)
        row.weightChanged.connect(self._on_weight)
        row.removeRequested.connect(self._on_remove_requested)
        row.filesDropped.connect(self._on_files_dropped)
        self.rows.append(row)
        self._rows_box.addWidget(row)
        if loaded is not None:
            row.blockSignals(True)  # no paintingLoaded for rows made by set_rows / add_loaded
            row.set_loaded(loaded)
            row.blockSignals(False)
            row._refresh()
        return row

    def _target_row(self) -> StyleRow | None:
        """Where a new painting goes: the empty first row, else a new row (None if full)."""
        if self.rows[0].loaded is None:
            return self.rows[0]
        if len(self.rows) >= MAX_STYLES:
            return None
        return self._append_row(None)

    def add_loaded(self, loaded: LoadedImage) -> StyleRow | None:
        """Put an already loaded painting into the empty first row or a new row; None if full."""
        if self.rows[0].loaded is None:
            row = self.rows[0]
            row.set_loaded(loaded)  # through imageChanged: paintingLoaded and changed
            return row
        if len(self.rows) >= MAX_STYLES:
            self._refuse(LIST_FULL)
            return None
        row = self._append_row(loaded)
        self.show_message("")
        self.paintingLoaded.emit(row)
        self._after_change()
        row.setFocus(Qt.FocusReason.OtherFocusReason)
        self.scroll.ensureWidgetVisible(row)
        return row

    def add_paths(self, paths: Sequence[str | Path]) -> int:
        """Add image files (into the empty first row, then new rows); returns how many were added.

        Files that are not images are named in the list's message (and ``problem``); the
        paintings already there stay. Files beyond the maximum are named too."""
        added, problems = 0, []
        for n, path in enumerate(paths):
            if not self.can_add():
                rest = ", ".join(f"'{Path(p).name}'" for p in paths[n:])
                problems.append(f"{LIST_FULL} Not added: {rest}.")
                break
            p = Path(path)
            try:
                loaded = LoadedImage(load_image(p), p.name, p)
            except ImageError as exc:
                problems.append(str(exc))
                continue
            if self.add_loaded(loaded) is not None:
                added += 1
        if problems:
            self._refuse(" ".join(problems))
        return added

    def add_mime(self, mime: QMimeData, how: str = "dropped") -> int:
        """Add the paintings carried by drag or clipboard data: each local file, or the one image."""
        files = local_files(mime)
        if files:
            return self.add_paths(files)
        if not self.can_add():
            self._refuse(LIST_FULL)
            return 0
        try:
            loaded = image_from_mime(mime, how)
        except (ImageError, ValueError) as exc:
            self._refuse(str(exc))
            return 0
        return 1 if self.add_loaded(loaded) is not None else 0

    @Slot()
    def paste_new(self) -> bool:
        """Paste the clipboard's image as a new painting (into the empty first row or a new row)."""
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None or not mime.formats():
            self._refuse("The clipboard is empty.")
            return False
        return self.add_mime(mime, "pasted") > 0

    def remove_row(self, index: int) -> None:
        """Remove row ``index`` (0-based); the only row is emptied instead of removed.

        Emits ``rowRemoved(index)`` (so the regions can follow) and then ``changed``."""
        row = self.rows[index]
        if len(self.rows) == 1:
            if row.loaded is not None:
                row.blockSignals(True)
                row.clear()
                row.blockSignals(False)
                row._refresh()
                self.rowRemoved.emit(index)
                self._after_change()
            return
        del self.rows[index]
        self._rows_box.removeWidget(row)
        row.hide()
        row.deleteLater()
        for i, r in enumerate(self.rows):
            r.set_index(i)
        self.rowRemoved.emit(index)
        self._after_change()
        target = self.rows[min(index, len(self.rows) - 1)]
        target.setFocus(Qt.FocusReason.OtherFocusReason)

    def set_rows(self, items: Sequence[tuple[LoadedImage, int]], presets: Sequence[int | None] = ()) -> None:
        """Replace every row: ``items`` are (painting, weight %) in order (none: one empty row).

        ``presets[i]`` is a remembered weight (%) for a row at position ``i`` that will be
        made later, or None (the settings file's rows whose paintings could not be reopened).
        Emits ``changed`` (not ``paintingLoaded``) once."""
        for row in self.rows:
            self._rows_box.removeWidget(row)
            row.hide()
            row.deleteLater()
        self.rows = []
        self._presets = list(presets)[:MAX_STYLES]
        for loaded, weight in list(items)[:MAX_STYLES]:
            self._append_row(loaded, weight)
        if not self.rows:
            self._append_row(None)
        self.show_message("")
        self._after_change()

    def set_included_weights(self, percents: Sequence[int]) -> bool:
        """Set the weights of the rows a run uses (:meth:`included`), in order; False (nothing
        changed) if their number differs."""
        rows = self.included()
        if len(rows) != len(percents):
            return False
        for row, pct in zip(rows, percents, strict=True):
            row.blockSignals(True)
            row.set_weight(pct)
            row.blockSignals(False)
            row._show_weight()
        self._after_change()
        return True

    def set_running(self, running: bool) -> None:
        """Lock the list while a run is going (with a tooltip saying why)."""
        self._running = running
        self._refresh()

    def show_message(self, text: str) -> None:
        """Show (or with "" hide) a problem message under the list."""
        self.message.setText(text)
        self.message.setVisible(bool(text))

    # --- internals -------------------------------------------------------------------
    def _refuse(self, text: str) -> None:
        self.show_message(text)
        self.problem.emit(text)

    def _after_change(self) -> None:
        self._refresh()
        self.changed.emit()

    def _refresh(self) -> None:
        n = len(self.loaded_rows())
        self.count_label.setText(f"{n} of {MAX_STYLES}" if n > 1 else "")
        for row in self.rows:
            row.set_removable(len(self.rows) > 1)
            row.setEnabled(not self._running)
            row.setToolTip("Inputs cannot change while painting" if self._running else "")
        full = self.rows[0].loaded is not None and len(self.rows) >= MAX_STYLES
        self.add_row.setEnabled(not self._running and not full)
        self.add_button.setToolTip(
            "Inputs cannot change while painting" if self._running else LIST_FULL if full
            else "Add a painting to blend with the others (Ctrl+Shift+O)"
        )
        self.add_row.hint.setText("the list is full" if full else "or drop paintings here")
        zero = self.all_weights_zero()
        if zero:
            self.show_message(ALL_ZERO + ".")
        elif self.message.text() == ALL_ZERO + ".":
            self.show_message("")

    def _row_of(self, obj: object) -> StyleRow | None:
        return obj if isinstance(obj, StyleRow) and obj in self.rows else None

    @Slot()
    def _on_row_image(self) -> None:
        row = self._row_of(self.sender())
        if row is None:
            return
        if row.loaded is not None:
            if self.message.text() and self.message.text() != ALL_ZERO + ".":
                self.show_message("")
            self.paintingLoaded.emit(row)
        self._after_change()

    @Slot(str)
    def _on_row_problem(self, text: str) -> None:
        self.problem.emit(text)

    @Slot()
    def _on_row_open(self) -> None:
        row = self._row_of(self.sender())
        if row is not None:
            self.openRequested.emit(row)

    @Slot()
    def _on_weight(self) -> None:
        self._after_change()

    @Slot()
    def _on_remove_requested(self) -> None:
        row = self._row_of(self.sender())
        if row is not None:
            self.remove_row(row.index)

    @Slot(list)
    def _on_files_dropped(self, files: list) -> None:
        row = self._row_of(self.sender())
        if row is None or not files:
            return
        row.load_path(files[0])
        if len(files) > 1:
            self.add_paths(files[1:])

    # --- drops on the list outside the rows ------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        if self.can_add() and mime_has_image(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        event.acceptProposedAction()
        self.add_mime(event.mimeData())
