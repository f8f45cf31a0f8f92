"""A checkbox whose text wraps onto two lines in a narrow column (a QCheckBox's text never wraps, so a
long one would widen the whole settings column). Its height is always two lines: a height that depends on
the width (Qt's height-for-width) leaves a scroll area's scroll bar shown after its column widens."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QWidget


class _ToggleLabel(QLabel):
    """A word-wrapped label that toggles ``box`` when clicked, as a checkbox's own text does."""

    def __init__(self, text: str, box: QCheckBox) -> None:
        super().__init__(text)
        self._box = box
        self.setWordWrap(True)
        # At the top, beside the box: a text of one line centred in the two lines' height sat below it.
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setBuddy(box)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt API
        return False

    def _lines(self, width: int) -> QSize:
        return QSize(width, 2 * self.fontMetrics().lineSpacing())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API: the longest word's width
        return self._lines(max(self.fontMetrics().horizontalAdvance(w) for w in self.text().split()))

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return self._lines(self.fontMetrics().horizontalAdvance(self.text()))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if event.button() == Qt.MouseButton.LeftButton and self.isEnabled() and self.rect().contains(event.pos()):
            self._box.toggle()
        super().mouseReleaseEvent(event)


class WrappingCheckBox(QWidget):
    """A checkbox (:attr:`box`) and its wrapping text (:attr:`label`); ``toggled(bool)`` as QCheckBox's.
    Its tooltip (set on this widget) shows over both."""

    toggled = Signal(bool)

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box = QCheckBox()
        self.box.setAccessibleName(text)
        self.label = _ToggleLabel(text, self.box)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.box, 0, Qt.AlignmentFlag.AlignTop)
        lay.addWidget(self.label, 1)
        self.box.toggled.connect(self.toggled)

    def text(self) -> str:
        return self.label.text()

    def isChecked(self) -> bool:  # noqa: N802 - QCheckBox's name
        return self.box.isChecked()

    def setChecked(self, checked: bool) -> None:  # noqa: N802 - QCheckBox's name
        self.box.setChecked(checked)
