"""Opening the Queue on a 1366 × 768 laptop squeezed the Style list and the settings until their
labels clipped ("Ope", "Pas", "Photo in the painting's"): the Queue's dock now takes its room from
the result, and a text that must shrink ends in "…" with a tooltip giving it whole (issue 35)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QRect
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QLabel,
    QScrollArea,
    QStyle,
    QStyleOptionComboBox,
    QToolTip,
    QWidget,
)

from nst_desktop.ui.elided import ElidedComboBox, ElidedPushButton, ElidedToolButton
from nst_desktop.ui.main_window import MainWindow
from nst_desktop.ui.window_layout import fit_to_screen

#: A 1366 × 768 laptop's screen less a 40 px panel, as the window sees it (px).
LAPTOP = QRect(0, 0, 1366, 728)
ELIDING = (ElidedComboBox, ElidedPushButton, ElidedToolButton)


def _shown_width(widget: QWidget) -> int:
    """The width of ``widget`` its ancestors leave visible (a splitter or a scroll area's viewport
    can cut it off on the right), in px; vertical scrolling is not counted."""
    top = widget.window()
    left = widget.mapTo(top, QPoint(0, 0)).x()
    right = left + widget.width()
    parent = widget.parentWidget()
    while parent is not None and parent is not top:
        x = parent.mapTo(top, QPoint(0, 0)).x()
        left, right = max(left, x), min(right, x + parent.width())
        parent = parent.parentWidget()
    return max(0, right - left)


def _needed(widget: QWidget) -> tuple[str, int, int]:
    """(text, width its text needs, width the widget gives its text), in px."""
    fm = widget.fontMetrics()
    if isinstance(widget, QComboBox):
        opt = QStyleOptionComboBox()
        widget.initStyleOption(opt)
        field = widget.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, opt,
                                              QStyle.SubControl.SC_ComboBoxEditField, widget)
        chrome = widget.width() - field.width()
        return widget.currentText(), fm.horizontalAdvance(widget.currentText()), _shown_width(widget) - chrome
    if isinstance(widget, QLabel):  # its size hint: the text (rich text in its own fonts) and margins
        return widget.text(), widget.sizeHint().width(), _shown_width(widget)
    text = widget.text().replace("&&", "\0").replace("&", "").replace("\0", "&")
    return text, fm.horizontalAdvance(text), _shown_width(widget)


def _clipped(roots: list[QWidget]) -> list[str]:
    """The buttons, labels and dropdowns under ``roots`` whose text is cut off and not elided."""
    found = []
    for root in roots:
        for widget in root.findChildren(QWidget):
            if not isinstance(widget, (QAbstractButton, QLabel, QComboBox)) or not widget.isVisible():
                continue
            if isinstance(widget, QLabel) and (widget.wordWrap() or widget.pixmap() is not None
                                               and not widget.pixmap().isNull()):
                continue
            text, need, room = _needed(widget)
            if not text.strip() or room >= need:
                continue
            if isinstance(widget, ELIDING) and widget.is_elided() and _shown_width(widget) == widget.width():
                continue  # drawn whole, its text ends in "…" and its tooltip gives the text
            found.append(f"{type(widget).__name__} {text!r}: {room} of {need} px")
    return found


def _open_queue_on_a_laptop(qtbot, window: MainWindow) -> None:
    window.resize(1280, 800)  # the first start's size, before it is fitted to the screen
    fit_to_screen(window, LAPTOP)
    window.main_splitter.setSizes([300, 660, 320])  # the first start's columns
    qtbot.waitUntil(lambda: window.main_splitter.widget(1).width() > 500)
    assert not window.queue_dock.isVisible()
    window.queue_action.trigger()  # View > Queue
    qtbot.waitUntil(lambda: window.queue_dock.isVisible() and window.queue_panel.isVisible())


def test_the_queue_opened_on_a_laptop_clips_no_label_of_the_style_list_or_settings(qtbot, window: MainWindow) -> None:
    _open_queue_on_a_laptop(qtbot, window)
    settings = next(s for s in window.main_splitter.findChildren(QScrollArea) if s.isAncestorOf(window.save_button))
    assert _clipped([window.inputs_splitter, settings]) == []
    # The columns kept their widths (the Style row's buttons are whole, not even elided); the result gave way.
    row = window.style_list.rows[0]
    assert not row.open_button.is_elided() and not row.paste_button.is_elided()
    assert window.main_splitter.sizes()[0] == 300 and window.main_splitter.sizes()[2] == 320
    assert window.queue_dock.width() < window.queue_dock.sizeHint().width()


def test_the_queue_panel_elides_what_does_not_fit_and_its_tooltip_gives_the_whole_text(
        qtbot, window: MainWindow) -> None:
    _open_queue_on_a_laptop(qtbot, window)
    panel = window.queue_panel
    assert _clipped([window.queue_dock]) == []
    elided = [b for b in panel.findChildren(QAbstractButton) if isinstance(b, ELIDING) and b.is_elided()]
    assert elided, "the dock is narrower than the panel asks for: some button shortens its text"
    button = elided[0]
    pos = QPoint(2, 2)
    QApplication.sendEvent(button, QHelpEvent(QEvent.Type.ToolTip, pos, button.mapToGlobal(pos)))
    assert QToolTip.text().startswith(button.text())
