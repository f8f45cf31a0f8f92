"""A combo box and buttons whose text, when their column is too narrow, ends in "…" and whose
tooltip then starts with the whole text (Qt's own widgets cut the text off mid-word: "Photo in
the painting's", "Ope")."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QHelpEvent, QPaintEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QPushButton,
    QSizePolicy,
    QStyle,
    QStyleOptionButton,
    QStyleOptionComboBox,
    QStyleOptionToolButton,
    QStylePainter,
    QToolButton,
    QToolTip,
    QWidget,
)

#: The shortest a shortened text gets: its first letter and "…".
SHORTEST = "W…"


def _show_whole_text(widget: QWidget, e: QHelpEvent, text: str) -> None:
    """The tooltip of a widget whose text is elided: the whole text, then its own tip."""
    tip = widget.toolTip()
    QToolTip.showText(e.globalPos(), text + (f"\n\n{tip}" if tip else ""), widget)


class ElidedComboBox(QComboBox):
    """A :class:`QComboBox` that elides its shown text to fit (see the module); its minimum width
    is that of 8 characters, not of its longest item."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(8)

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
            _show_whole_text(self, e, self.currentText())
            return True
        return super().event(e)


def _may_shrink(button: QAbstractButton) -> None:
    """Let layouts give ``button`` less than its size hint (a push button's horizontal policy is
    Minimum and a tool button's Fixed: they could not shrink to elide)."""
    policy = button.sizePolicy()
    policy.setHorizontalPolicy(QSizePolicy.Policy.Preferred)
    button.setSizePolicy(policy)


class _ElidedButton:
    """What :class:`ElidedPushButton` and :class:`ElidedToolButton` share: the room for the text
    is the button's width less what the style adds around an empty text (px); below the width its
    whole text needs, the text is drawn elided. ``text()`` stays the whole text (shortcuts, tests,
    screen readers)."""

    _CONTENTS: QStyle.ContentsType

    def _chrome(self: QAbstractButton) -> int:  # type: ignore[misc]
        opt = self._option()
        opt.text = ""
        return self.style().sizeFromContents(self._CONTENTS, opt, QSize(0, opt.fontMetrics.height()), self).width()

    def shown_text(self: QAbstractButton) -> str:  # type: ignore[misc]
        """The text as drawn: elided with "…" where the button is too narrow."""
        room = self.width() - self._chrome() - self._icon_room()
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, max(0, room))

    def is_elided(self: QAbstractButton) -> bool:  # type: ignore[misc]
        return self.shown_text() != self.text()

    def _icon_room(self: QAbstractButton) -> int:  # type: ignore[misc]
        return 0 if self.icon().isNull() else self.iconSize().width() + 4

    def _shortest_width(self: QAbstractButton, hint: QSize) -> QSize:  # type: ignore[misc]
        need = self._chrome() + self._icon_room() + self.fontMetrics().horizontalAdvance(SHORTEST)
        return QSize(min(hint.width(), need), hint.height())

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # the button class after this one in the subclass's bases
        _may_shrink(self)  # type: ignore[arg-type]

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return self._shortest_width(super().minimumSizeHint())  # type: ignore[misc]

    def event(self, e: QEvent) -> bool:
        if e.type() == QEvent.Type.ToolTip and self.is_elided():
            _show_whole_text(self, e, self.text())  # type: ignore[arg-type,attr-defined]
            return True
        return super().event(e)  # type: ignore[misc]


class ElidedPushButton(_ElidedButton, QPushButton):
    """A :class:`QPushButton` that elides its text to fit (see :class:`_ElidedButton`); its
    minimum width is that of its first letter and "…", its size hint that of its whole text."""

    _CONTENTS = QStyle.ContentsType.CT_PushButton

    def _option(self) -> QStyleOptionButton:
        opt = QStyleOptionButton()
        self.initStyleOption(opt)
        return opt

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        painter = QStylePainter(self)
        opt = self._option()
        opt.text = self.shown_text()
        painter.drawControl(QStyle.ControlElement.CE_PushButton, opt)


class ElidedToolButton(_ElidedButton, QToolButton):
    """A :class:`QToolButton` that elides its text to fit (see :class:`ElidedPushButton`)."""

    _CONTENTS = QStyle.ContentsType.CT_ToolButton

    def _option(self) -> QStyleOptionToolButton:
        opt = QStyleOptionToolButton()
        self.initStyleOption(opt)
        return opt

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        painter = QStylePainter(self)
        opt = self._option()
        opt.text = self.shown_text()
        painter.drawComplexControl(QStyle.ComplexControl.CC_ToolButton, opt)
