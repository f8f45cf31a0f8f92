"""The print-size helper: a print's width and height in cm or inches at a DPI, as pixels."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from nst_desktop.engine.params import MAX_SIZE

CM_PER_INCH = 2.54
#: Print resolution offered by default, dots per inch (photo labs print at 300).
DEFAULT_DPI = 300
#: The units offered: name -> inches per unit.
UNITS = {"cm": 1 / CM_PER_INCH, "in": 1.0}


def print_pixels(width: float, height: float, unit: str, dpi: int) -> tuple[int, int]:
    """(width, height) in pixels of a print of ``width`` x ``height`` ``unit`` ("cm", "in") at ``dpi``."""
    inches = UNITS[unit]
    return round(width * inches * dpi), round(height * inches * dpi)


class PrintSizeDialog(QDialog):
    """Width x height in cm or inches at a DPI (300 by default); shows the pixels, and the long
    side (at most the largest output size) is what :meth:`long_side` gives."""

    def __init__(self, aspect_hw: tuple[int, int] | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Print Size")
        self._aspect = aspect_hw
        self.width_spin = QDoubleSpinBox()
        self.height_spin = QDoubleSpinBox()
        for spin in (self.width_spin, self.height_spin):
            spin.setRange(0.5, 1000.0)
            spin.setDecimals(1)
        self.unit_combo = QComboBox()
        for unit in UNITS:
            self.unit_combo.addItem(unit, unit)
        self.dpi_spin = QSpinBox()
        self.dpi_spin.setRange(30, 1200)
        self.dpi_spin.setValue(DEFAULT_DPI)
        self.dpi_spin.setSuffix(" dpi")
        self.pixels_label = QLabel()
        self.pixels_label.setObjectName("printPixels")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Width", self.width_spin)
        form.addRow("Height", self.height_spin)
        form.addRow("Unit", self.unit_combo)
        form.addRow("Resolution", self.dpi_spin)
        form.addRow(self.pixels_label)
        form.addRow(self.buttons)
        self.width_spin.setValue(20.0)
        self._sync_height()
        self.width_spin.valueChanged.connect(self._sync_height)
        self.height_spin.valueChanged.connect(self._update)
        self.unit_combo.currentIndexChanged.connect(self._unit_changed)
        self.dpi_spin.valueChanged.connect(self._update)
        self._unit = "cm"
        self._update()

    def _sync_height(self) -> None:
        """Keep the photo's aspect ratio: the height follows the width."""
        if self._aspect:
            h, w = self._aspect
            self.height_spin.blockSignals(True)
            self.height_spin.setValue(self.width_spin.value() * h / w)
            self.height_spin.blockSignals(False)
        self._update()

    def _unit_changed(self) -> None:
        new = self.unit_combo.currentData()
        factor = UNITS[self._unit] / UNITS[new]
        self._unit = new
        for spin in (self.width_spin, self.height_spin):
            spin.blockSignals(True)
            spin.setValue(spin.value() * factor)
            spin.blockSignals(False)
        self._update()

    def pixels(self) -> tuple[int, int]:
        return print_pixels(self.width_spin.value(), self.height_spin.value(), self.unit_combo.currentData(),
                            self.dpi_spin.value())

    def long_side(self) -> int:
        """The output size (long side, px) for this print, at most the largest the app makes."""
        return min(MAX_SIZE, max(self.pixels()))

    def _update(self) -> None:
        w, h = self.pixels()
        text = f"{w} × {h} px"
        if max(w, h) > MAX_SIZE:
            dpi = int(self.dpi_spin.value() * MAX_SIZE / max(w, h))
            text += f"<br><span style='color:#c0392b'>Larger than {MAX_SIZE} px: made at {MAX_SIZE} px, " \
                    f"about {dpi} dpi at this size.</span>"
        self.pixels_label.setText(text)
