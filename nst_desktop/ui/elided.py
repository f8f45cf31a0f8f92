"""A combo box whose text, when its column is too narrow, ends in "…" and whose tooltip then
starts with the whole text (Qt's own combo box cuts the text off mid-word: "Photo in the painting's")."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import QComboBox, QStyle, QStyleOptionComboBox, QStylePainter, QToolTip, QWidget


class ElidedComboBox(QComboBox):
    """A :class:`QComboBox` that elides its shown text to fit (see the module)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)

    def _option(self) -> QStyleOptionComboBox:
        opt = QStyleOptionComboBox()
        self.initStyleOption(opt)
        return opt

    def shown_text(self) -> str:
        """The current text as drawn: elided with "…" where the field is too narrow."""
        opt = self._option()
        rect = self.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, opt,
                                           QStyle.SubControl.SC_ComboBoxEditField, self)
        return self.fontMetrics().elidedText(opt.currentText, Qt.TextElideMode.ElideRight, rect.width())

    def is_elided(self) -> bool:
        return self.shown_text() != self.currentText()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        if self.isEditable():
            super().paintEvent(event)
            return
        painter = QStylePainter(self)
        opt = self._option()
        opt.currentText = self.shown_text()
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, opt)
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, opt)

    def event(self, e: QEvent) -> bool:
        if e.type() == QEvent.Type.ToolTip and self.is_elided():
            tip = self.toolTip()
            QToolTip.showText(e.globalPos(), self.currentText() + (f"\n\n{tip}" if tip else ""), self)
            return True
        return super().event(e)
