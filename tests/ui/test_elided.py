"""Combo boxes too narrow for their text end it in "…" and their tooltip gives it whole."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QToolTip

from nst_desktop.ui.elided import ElidedComboBox


def test_a_narrow_combo_elides_and_its_tooltip_starts_with_the_whole_text(qtbot) -> None:
    combo = ElidedComboBox()
    qtbot.addWidget(combo)
    combo.addItem("Photo recoloured to the painting's colours")
    combo.setToolTip("What the painting starts from")
    combo.setMinimumContentsLength(4)
    combo.setSizeAdjustPolicy(ElidedComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.resize(120, combo.sizeHint().height())
    combo.show()
    assert combo.is_elided() and combo.shown_text().endswith("…")
    assert combo.shown_text()[:-1] in combo.currentText()
    combo.grab()  # paints without error
    QApplication.sendEvent(combo, QHelpEvent(QEvent.Type.ToolTip, QPoint(5, 5), combo.mapToGlobal(QPoint(5, 5))))
    assert QToolTip.text().startswith("Photo recoloured to the painting's colours")
    assert "What the painting starts from" in QToolTip.text()
    combo.resize(600, combo.height())
    assert not combo.is_elided() and combo.shown_text() == combo.currentText()
