"""The "Clean scene (fine layers first)" checkbox (on by default: ``layer_weights="fine"``): it reaches the
run's params, is kept in the per-user settings, in presets and in a saved result's settings (a result
from before the choice restores it off: all layers alike), and the History and the queue say when it is off."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt

from nst_desktop.engine import save_image
from nst_desktop.engine.params import StyleParams
from nst_desktop.services.queue_store import QueueItem
from nst_desktop.services.settings import Settings, load_settings, save_settings, settings_path
from nst_desktop.ui.history_strip import settings_summary
from nst_desktop.ui.queue_text import row_tooltip
from tests.helpers import make_content
from tests.ui.helpers import make_window, untick_and_reopen


def test_the_checkbox_is_on_by_default_and_reaches_the_params(qtbot) -> None:
    window = make_window(qtbot)
    c = window.controls
    assert c.layers_check.isChecked() and c.params().layer_weights == "fine"
    assert c.layers_check.text() == "Clean scene"
    assert "deep" in c.layers_check.toolTip() and "Untick" in c.layers_check.toolTip()
    c.layers_check.setChecked(False)
    assert c.params().layer_weights == "even"


def test_the_history_text_names_it_only_when_off() -> None:
    assert settings_summary({"params": {"size": 64, "layer_weights": "even"}}) == "64 px · all layers alike"
    assert settings_summary({"params": {"size": 64, "layer_weights": "fine"}}) == "64 px"
    assert settings_summary({"params": {"size": 64, "layer_weights": 3}}) == "64 px"
    assert settings_summary({"params": {"size": 64}}) == "64 px"  # a result from before the choice


def test_the_queue_text_names_it(tmp_path: Path) -> None:
    item = QueueItem(1, tmp_path / "a.png", tmp_path / "b.png", StyleParams(layer_weights="even"), tmp_path, 1)
    assert "all layers alike" in row_tooltip(item)
    default = QueueItem(2, tmp_path / "a.png", tmp_path / "b.png", StyleParams(), tmp_path, 1)
    assert "layers" not in row_tooltip(default)


def test_it_persists_across_windows(qtbot) -> None:
    stored, second = untick_and_reopen(qtbot, "layers_check")
    assert stored.layer_weights == "even"
    assert not second.controls.layers_check.isChecked()


def test_a_missing_or_bad_stored_value_gives_the_default() -> None:
    save_settings(Settings(layer_weights="even"))
    data = json.loads(settings_path().read_text())
    assert data["layer_weights"] == "even"
    for stored in ("deep", 0, None, True):
        data["layer_weights"] = stored
        settings_path().write_text(json.dumps(data))
        assert load_settings().settings.layer_weights == "fine"
    del data["layer_weights"]  # a settings file from before the choice: the default reaches its user
    data["seamless"] = True
    settings_path().write_text(json.dumps(data))
    loaded = load_settings().settings
    assert loaded.layer_weights == "fine" and loaded.seamless is True


def test_open_settings_from_image_restores_it(qtbot, tmp_path: Path) -> None:
    fine, old = tmp_path / "fine.png", tmp_path / "old.png"
    save_image(make_content((32, 21)), fine, {"program": "NST Desktop", "params": {"size": 96,
                                                                                   "layer_weights": "fine"}})
    save_image(make_content((32, 21)), old, {"program": "NST Desktop", "params": {"size": 80}})
    window = make_window(qtbot)
    window.controls.layers_check.setChecked(False)
    assert window.restorer.restore_settings_from(fine)
    assert window.controls.layers_check.isChecked() and window.controls.size_spin.value() == 96
    assert window.restorer.restore_settings_from(old)  # made before the choice: all layers alike
    assert not window.controls.layers_check.isChecked() and window.controls.size_spin.value() == 80
    window.controls.layers_check.setChecked(True)
    assert window.controls.apply_run_params({"layer_weights": "deep"}) == ["layer_weights"]
    assert window.controls.layers_check.isChecked()  # a bad value is not applied


def test_clicking_the_checkboxs_text_toggles_it_and_not_while_painting(qtbot) -> None:
    window = make_window(qtbot)
    check = window.controls.layers_check
    qtbot.mouseClick(check.label, Qt.MouseButton.LeftButton)
    assert not check.isChecked() and window.controls.params().layer_weights == "even"
    qtbot.mouseClick(check.box, Qt.MouseButton.LeftButton)
    assert check.isChecked()
    window.controls.set_running(True)
    qtbot.mouseClick(check.label, Qt.MouseButton.LeftButton)
    assert check.isChecked()
