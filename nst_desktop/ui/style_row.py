"""One painting of the Style list (:mod:`nst_desktop.ui.style_list`): a row with a thumbnail,
its name and size, Open…/Paste/remove buttons and a weight slider (0-100 %)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, Signal, Slot
from PySide6.QtGui import QDropEvent, QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSlider, QToolButton, QVBoxLayout, QWidget

from nst_desktop.services.restore import PERCENT_MAX
from nst_desktop.ui.image_pane import ImagePane

#: Weight slider range, percent.
WEIGHT_MAX = PERCENT_MAX  # the restored weights use the sliders' scale
#: Size of a row's thumbnail, logical px.
THUMB_SIZE = (96, 72)
WEIGHT_TIP = ("How much this painting counts, relative to the others (the weights are divided by their sum; "
              "0 % leaves the painting out)")
FIRST_HINT = "Drop a painting here"


def local_files(mime: QMimeData) -> list[Path]:
    """The local files among ``mime``'s URLs, in order."""
    return [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []


class StyleRow(ImagePane):
    """One painting of the list: thumbnail, name and size, weight slider, remove button.

    Signals (besides :class:`ImagePane`'s): ``weightChanged`` when the slider moves;
    ``removeRequested`` from the remove button or the Delete key; ``filesDropped(list)``
    when several files are dropped on the row (the list places them).
    """

    weightChanged = Signal()
    removeRequested = Signal()
    filesDropped = Signal(list)

    def __init__(self, index: int, weight: int = WEIGHT_MAX, parent: QWidget | None = None) -> None:
        super().__init__("Style", FIRST_HINT, parent)  # calls _arrange, which makes the row's own widgets
        self.setObjectName("styleRow")
        self.index = -1
        self._removable = False
        self.canvas.setFixedSize(*THUMB_SIZE)
        self.canvas.setMinimumSize(*THUMB_SIZE)
        self.weight_slider.setRange(0, WEIGHT_MAX)
        self.weight_slider.setSingleStep(5)
        self.weight_slider.setPageStep(10)
        self.weight_slider.setValue(max(0, min(WEIGHT_MAX, weight)))
        self.weight_slider.valueChanged.connect(self._on_weight)
        self.weight_label.setMinimumWidth(self.weight_label.fontMetrics().horizontalAdvance("100 %") + 4)
        self.weight_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.weight_label.setBuddy(self.weight_slider)
        self.remove_button.setAutoRaise(True)
        self.remove_button.clicked.connect(self.removeRequested)
        self.open_button.setText("Open…")
        self.info.setWordWrap(False)
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.imageChanged.connect(self._refresh)
        self.set_index(index)

    def _arrange(self) -> None:
        self.weight_slider = QSlider(Qt.Orientation.Horizontal)
        self.weight_label = QLabel()
        self.remove_button = QToolButton(text="✕")
        self.head.setSpacing(2)
        self.head.addWidget(self.remove_button)
        weight_row = QHBoxLayout()
        weight_row.setContentsMargins(0, 0, 0, 0)
        weight_row.addWidget(self.weight_slider, 1)
        weight_row.addWidget(self.weight_label)
        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        right.setSpacing(2)
        right.addLayout(self.head)
        right.addWidget(self.info)
        right.addLayout(weight_row)
        right.addStretch(1)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.setSpacing(6)
        top.addWidget(self.canvas, 0, Qt.AlignmentFlag.AlignTop)
        top.addLayout(right, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(2)
        lay.addLayout(top)
        lay.addWidget(self.message)

    # --- state -------------------------------------------------------------------
    @property
    def weight(self) -> int:
        """The weight in percent (0-100)."""
        return self.weight_slider.value()

    def set_weight(self, percent: int) -> None:
        """Move the weight slider (clamped to 0-100 %)."""
        self.weight_slider.setValue(max(0, min(WEIGHT_MAX, int(percent))))

    def included(self) -> bool:
        """True if the row goes into a run: it holds a painting and its weight is above 0."""
        return self.loaded is not None and self.weight > 0

    def set_index(self, index: int) -> None:
        """Renumber the row (0-based; shown as "Style index+1")."""
        self.index = index
        self.role = f"Style {index + 1}"
        self.title_label.setText(f"<b>{self.role}</b>")
        self.setAccessibleName(self.role)
        self.open_button.setToolTip(f"Choose the painting of {self.role} from a file")
        self.paste_button.setToolTip(f"Use the image on the clipboard as {self.role}")
        self.canvas.setToolTip(f"{self.role}: click to open a painting, or drop or paste one here")
        self.weight_slider.setAccessibleName(f"Weight of {self.role}")
        self.remove_button.setAccessibleName(f"Remove {self.role}")
        self._refresh()

    def set_removable(self, removable: bool) -> None:
        """Whether the row can go (False for the only row, which is emptied instead)."""
        self._removable = removable
        self._refresh()

    @Slot()
    def _refresh(self) -> None:
        loaded = self.loaded is not None
        if not loaded:
            self.info.setText("No painting yet")
        self.remove_button.setEnabled(loaded or self._removable)
        self.remove_button.setToolTip(
            f"Remove {self.role} from the list (Delete)" if self._removable
            else f"Remove the painting of {self.role} (the list keeps this row, empty)" if loaded
            else "Nothing to remove: the list always keeps one row"
        )
        self.weight_slider.setEnabled(loaded)
        self.weight_slider.setToolTip(WEIGHT_TIP if loaded else "Load a painting first; then set its weight")
        self._show_weight()

    def _show_weight(self) -> None:
        w = self.weight
        self.weight_label.setText(f"{w} %")
        self.weight_label.setToolTip("Left out of the run (weight 0 %)" if w == 0 and self.loaded else "")

    @Slot(int)
    def _on_weight(self, _value: int) -> None:
        self._show_weight()
        self.weightChanged.emit()

    # --- events ------------------------------------------------------------------
    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        files = local_files(event.mimeData())
        if len(files) > 1:
            self._set_drag_highlight(False)
            event.acceptProposedAction()
            self.filesDropped.emit(files)
            return
        super().dropEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.remove_button.isEnabled():
            self.removeRequested.emit()
            event.accept()
            return
        super().keyPressEvent(event)
