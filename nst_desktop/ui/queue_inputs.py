"""The Queue panel's inputs: lists of photos or paintings (files and folders, dropped or chosen)
with their buttons, and a sweep row (one setting over given values)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nst_desktop.services.batch import Sweep, expand_inputs, parse_sweep
from nst_desktop.ui.elided import ElidedComboBox, ElidedPushButton

#: The settings a sweep row offers, with the names the window gives them (keys of SWEEP_SETTINGS).
SWEEP_LABELS: dict[str, str] = {
    "style-strength": "Style strength",
    "style-scale": "Brush scale",
    "quality": "Quality",
    "seed": "Seed",
    "preserve-colors": "Colours",
    "size": "Size (px)",
}
#: Example values shown in an empty values box, per setting.
SWEEP_EXAMPLES: dict[str, str] = {
    "style-strength": "0.5, 1, 2", "style-scale": "0.5, 1", "quality": "fast, balanced", "seed": "1, 2, 3",
    "preserve-colors": "none, luminance, match", "size": "256, 512",
}


class PathList(QListWidget):
    """The image files of one side of the next Add (photos or paintings), in order.

    Files and folders may be dropped on it or added with :meth:`add_paths`; a folder gives its
    images (:func:`~nst_desktop.services.batch.expand_inputs`). Delete removes the selected rows.
    Signals: ``problems(list)``: one line per path that gave no image.
    """

    problems = Signal(list)

    def __init__(self, what: str, parent: QWidget | None = None) -> None:
        """``what``: "photo" or "painting" (in messages)."""
        super().__init__(parent)
        self.what = what
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setToolTip(f"Drop {what}s or folders of them here (Delete removes the selected)")

    def paths(self) -> list[Path]:
        return [Path(self.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.count())]

    def add_paths(self, paths: list[str | Path]) -> list[str]:
        """Add the images of ``paths`` (files, or folders' images) not listed yet; returns (and
        emits) one line per path that gave none."""
        files, problems = expand_inputs(paths, self.what)
        have = {p.resolve() for p in self.paths()}
        for f in files:
            if f.resolve() in have:
                continue
            have.add(f.resolve())
            row = QListWidgetItem(f.name)
            row.setData(Qt.ItemDataRole.UserRole, str(f))
            row.setToolTip(str(f))
            self.addItem(row)
        if problems:
            self.problems.emit(problems)
        return problems

    def remove_selected(self) -> None:
        for row in self.selectedItems():
            self.takeItem(self.row(row))

    def _local_paths(self, event: QDropEvent | QDragEnterEvent | QDragMoveEvent) -> list[str]:
        mime = event.mimeData()
        return [u.toLocalFile() for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        if self._local_paths(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802 - Qt API
        if self._local_paths(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        paths = self._local_paths(event)
        if paths:
            self.add_paths(paths)
            event.acceptProposedAction()
        else:
            event.ignore()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.remove_selected()
            return
        super().keyPressEvent(event)


def path_list_box(title: str, lst: PathList, add_files: Callable[[], None], add_folder: Callable[[], None]) -> QWidget:
    """``lst`` under its bold ``title``, with Add… (``add_files``), Folder… (``add_folder``) and Clear below."""
    box = QWidget()
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(QLabel(f"<b>{title}</b>"))
    lay.addWidget(lst, 1)
    buttons = QHBoxLayout()
    for text, slot in (("Add…", add_files), ("Folder…", add_folder), ("Clear", lst.clear)):
        b = ElidedPushButton(text)
        b.clicked.connect(slot)
        buttons.addWidget(b)
    lay.addLayout(buttons)
    return box


class SweepRow(QWidget):
    """One optional sweep: a setting (or none) and its values, e.g. Style strength 0.5, 1, 2."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setting = ElidedComboBox()
        self.setting.addItem("No sweep", "")
        for name, label in SWEEP_LABELS.items():
            self.setting.addItem(label, name)
        self.values = QLineEdit()
        self.values.setToolTip("The values to paint each item with, separated by commas")
        self.setting.currentIndexChanged.connect(self._on_setting)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.setting)
        lay.addWidget(self.values, 1)
        self._on_setting()

    def _on_setting(self) -> None:
        name = self.setting.currentData()
        self.values.setEnabled(bool(name))
        self.values.setPlaceholderText(f"e.g. {SWEEP_EXAMPLES[name]}" if name else "")

    def set_sweep(self, name: str, values: str) -> None:
        """Choose ``name`` (a key of SWEEP_LABELS, "" for none) and its values text."""
        self.setting.setCurrentIndex(max(0, self.setting.findData(name)))
        self.values.setText(values)

    def sweep(self) -> Sweep | None:
        """The sweep described (None: no sweep). Raises ValueError with a one-line message."""
        name = self.setting.currentData()
        if not name:
            return None
        text = self.values.text().strip()
        if not text:
            raise ValueError(f"Sweep of {SWEEP_LABELS[name].lower()}: give its values, e.g. {SWEEP_EXAMPLES[name]}")
        try:
            return parse_sweep(f"{name}={text}")
        except ValueError as exc:
            raise ValueError(str(exc).replace("--sweep ", "Sweep of ", 1)) from None
