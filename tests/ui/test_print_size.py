"""The window's print sizes: the print-size helper, the seamless checkbox, tiles in the estimate and the progress."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QDialog

from nst_desktop.engine.device.devices import DeviceInfo
from nst_desktop.engine.params import MAX_SIZE, Progress
from nst_desktop.services.settings import Settings
from nst_desktop.ui import controls as controls_module
from nst_desktop.ui.controls import ControlsPanel
from nst_desktop.ui.print_size import DEFAULT_DPI, PrintSizeDialog, print_pixels
from tests.ui.helpers import make_window

CPU = DeviceInfo("cpu", "CPU (2 cores)", 16_000_000_000)


def test_print_pixels() -> None:
    assert print_pixels(30, 20, "cm", 300) == (3543, 2362)
    assert print_pixels(10, 8, "in", 300) == (3000, 2400)


def test_the_dialog_keeps_the_photos_aspect_and_shows_the_pixels(qtbot) -> None:
    dialog = PrintSizeDialog((600, 900))
    qtbot.addWidget(dialog)
    assert dialog.dpi_spin.value() == DEFAULT_DPI
    dialog.width_spin.setValue(30.0)
    assert dialog.height_spin.value() == pytest.approx(20.0)
    assert dialog.pixels() == (3543, 2362) and dialog.long_side() == 3543
    assert "3543 × 2362 px" in dialog.pixels_label.text()
    dialog.unit_combo.setCurrentIndex(dialog.unit_combo.findData("in"))
    assert dialog.width_spin.value() == pytest.approx(30 / 2.54, abs=0.05)  # the same print, in inches
    dialog.width_spin.setValue(36.0)  # "36 inches at 300 dpi"
    assert dialog.long_side() == MAX_SIZE
    assert f"Larger than {MAX_SIZE} px" in dialog.pixels_label.text()


def test_print_size_button_sets_the_output_size(qtbot, monkeypatch: pytest.MonkeyPatch) -> None:
    panel = ControlsPanel([CPU], cpu_cores=2)
    qtbot.addWidget(panel)

    def accept(self: PrintSizeDialog) -> int:
        self.unit_combo.setCurrentIndex(self.unit_combo.findData("in"))
        self.width_spin.setValue(8.0)
        self.height_spin.setValue(6.0)
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(controls_module.PrintSizeDialog, "exec", accept)
    panel.print_button.click()
    assert panel.size_spin.value() == 2400


def test_seamless_checkbox_reaches_the_run_and_the_settings(qtbot) -> None:
    panel = ControlsPanel([CPU], cpu_cores=2)
    qtbot.addWidget(panel)
    assert not panel.params().seamless
    panel.seamless_check.setChecked(True)
    assert panel.params().seamless
    s = Settings()
    panel.store_settings(s)
    assert s.seamless
    other = ControlsPanel([CPU], cpu_cores=2)
    qtbot.addWidget(other)
    other.apply_settings(s)
    assert other.seamless_check.isChecked()
    assert other.apply_run_params({"seamless": False}) == [] and not other.seamless_check.isChecked()


def test_the_estimate_says_when_tiles_will_be_used(qtbot) -> None:
    panel = ControlsPanel([CPU], cpu_cores=2)
    qtbot.addWidget(panel)
    panel.size_spin.setValue(512)
    assert "tiles" not in panel.estimate_label.text()
    panel.size_spin.setValue(MAX_SIZE)
    text = panel.estimate_label.text()
    assert "Painted in tiles of" in text or "Too large" in text


def test_progress_shows_the_tiles_of_a_step(qtbot) -> None:
    window = make_window(qtbot)
    window.runs._on_progress(Progress(step=3, total=10, stage=1, stages=2, size_hw=(3072, 4096), content_loss=1.0,
                                     style_loss=1.0, loss=11.0, elapsed_s=60.0, eta_s=600.0, tile=5, tiles=24))
    assert "Step 3 of 10 · tile 5 of 24 · 4096 × 3072 px" in window.progress_label.text()


def test_a_tiff_save_of_the_newest_result_is_16_bit(qtbot, tmp_path) -> None:
    import torch
    from PIL import Image

    from nst_desktop.engine.image.images import pil_to_tensor
    from tests.helpers import make_content
    from tests.ui.helpers import inject_result

    window = make_window(qtbot)
    res = inject_result(window, make_content((64, 48)))
    res.pixels16 = (pil_to_tensor(res.image)[0] * 65535).round().to(torch.uint16)
    assert window.export.save_result_to(tmp_path / "print.tif")
    assert "16-bit" in _tiff_depth(tmp_path / "print.tif")
    assert Image.open(tmp_path / "print.tif").size == (64, 48)
    older = res
    inject_result(window, make_content((64, 48)).rotate(180))
    assert older.pixels16 is None  # only the newest result keeps its 16-bit pixels
    assert window.export.save_result_to(tmp_path / "plain.tif")
    assert "16-bit" not in _tiff_depth(tmp_path / "plain.tif")  # no 16-bit pixels: an 8-bit TIFF


def _tiff_depth(path) -> str:
    import struct

    data = path.read_bytes()
    (ifd,) = struct.unpack_from("<I", data, 4)
    (n,) = struct.unpack_from("<H", data, ifd)
    for i in range(n):
        tag, kind, count, value = struct.unpack_from("<HHII", data, ifd + 2 + 12 * i)
        if tag == 258:
            if count * 2 <= 4:
                bits = struct.unpack_from("<H", data, ifd + 2 + 12 * i + 8)[0]
            else:
                bits = struct.unpack_from("<H", data, value)[0]
            return f"{bits}-bit"
    return "unknown"


def test_the_result_pans_at_100_percent_with_the_middle_button(qtbot) -> None:
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    from nst_desktop.ui.qimage_convert import pil_to_qimage
    from nst_desktop.ui.result_view import ResultView
    from tests.helpers import make_content

    view = ResultView()
    view.resize(300, 240)
    qtbot.addWidget(view)
    view.show()
    view.show_image(pil_to_qimage(make_content((2400, 1600))))
    view.zoom_actual()
    QApplication.processEvents()
    h, v = view.scroll.horizontalScrollBar(), view.scroll.verticalScrollBar()
    h.setValue(500)
    v.setValue(400)

    def send(kind, x: float, y: float, button, buttons) -> None:
        local = QPointF(x, y)
        glob = QPointF(view.canvas.mapToGlobal(local.toPoint()))
        QApplication.sendEvent(view.canvas, QMouseEvent(kind, local, glob, button, buttons,
                                                        Qt.KeyboardModifier.NoModifier))

    mid, none = Qt.MouseButton.MiddleButton, Qt.MouseButton.NoButton
    send(QMouseEvent.Type.MouseButtonPress, 600, 500, mid, mid)
    send(QMouseEvent.Type.MouseMove, 560, 470, none, mid)  # the image follows the mouse left and up
    send(QMouseEvent.Type.MouseButtonRelease, 560, 470, mid, none)
    assert (h.value(), v.value()) == (540, 430)
