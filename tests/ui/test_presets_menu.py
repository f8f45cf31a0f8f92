"""Presets > Save / apply / Export / Import / Delete in a real window; a preset exported on one
"computer" (per-user folders) and imported on another paints the same picture."""

from __future__ import annotations

import json

import pytest
from PIL import ImageChops

from nst_desktop.engine import load_image
from nst_desktop.services.presets import load_presets, store_path
from nst_desktop.ui.image_pane import LoadedImage
from nst_desktop.ui.main_window import MainWindow
from tests.helpers import make_style
from tests.ui.helpers import Prompts, few_steps, load_both, make_window


def _change_everything(window: MainWindow) -> None:
    c = window.controls
    c.size_spin.setValue(300)
    c.strength_slider.setValue(c.strength_slider.value() + 7)
    c.scale_spin.setValue(1.75)
    c.seed_spin.setValue(4242)
    c.seamless_check.setChecked(True)
    c.objects_check.setChecked(not c.objects_check.isChecked())
    c.layers_check.setChecked(not c.layers_check.isChecked())
    for combo in (c.quality_combo, c.init_combo, c.preserve_combo):
        combo.setCurrentIndex((combo.currentIndex() + 1) % combo.count())


def _values(window: MainWindow) -> tuple:
    c = window.controls
    return (c.size_spin.value(), c.strength_slider.value(), c.scale_spin.value(), c.seed_spin.value(),
            c.seamless_check.isChecked(), c.objects_check.isChecked(), c.layers_check.isChecked(),
            c.quality_combo.currentData(),
            c.init_combo.currentData(), c.preserve_combo.currentData(), window.style_list.weights(),
            window.style_list.names())


def _menu_entry(window: MainWindow, name: str):
    window.presets.fill()
    return next(a for a in window.presets.entries if a.data() == name)


def test_save_then_apply_from_the_menu_brings_every_setting_back(qtbot, window, image_files, tmp_path) -> None:
    load_both(window, image_files)
    second = tmp_path / "second.png"
    make_style((50, 40)).save(second)
    window.style_list.set_rows([(LoadedImage(load_image(p), p.name, p), weight)
                                for p, weight in ((image_files[1], 100), (second, 40))])
    _change_everything(window)
    saved = _values(window)
    window.prompts.text_answer = "  Autumn "
    window.presets.save_action.trigger()
    assert [p.name for p in load_presets().presets] == ["Autumn"]
    assert "Preset 'Autumn' saved" in window.statusBar().currentMessage()

    _change_everything(window)
    window.style_list.set_rows([])
    assert _values(window) != saved
    _menu_entry(window, "Autumn").trigger()
    assert _values(window) == saved
    assert "Preset 'Autumn' applied." in window.statusBar().currentMessage()


def test_saving_under_a_taken_name_asks_first(qtbot, window, image_files) -> None:
    load_both(window, image_files)
    window.presets.save_current()
    window.controls.size_spin.setValue(200)
    window.prompts.answer = False
    assert not window.presets.save_current()
    assert window.prompts.asked[-1][0] == "Replace preset?"
    assert load_presets().presets[0].size != 200
    window.prompts.answer = True
    assert window.presets.save_current() and load_presets().presets[0].size == 200


def test_missing_paintings_and_another_device_kind_are_named(qtbot, window, image_files) -> None:
    load_both(window, image_files)
    window.presets.save_current()
    data = json.loads(store_path().read_text())
    data["presets"][0]["device"] = "cuda"
    data["presets"][0]["styles"] = [{"path": "/nowhere/gone.png", "weight": 1.0}, {"path": "/dev/zero", "weight": 1}]
    store_path().write_text(json.dumps(data))
    assert window.presets.apply_named("My preset")
    text = window.statusBar().currentMessage()
    assert "an NVIDIA GPU" in text and "gone.png" in text and "zero" in text
    assert window.style_pane.loaded is not None  # the Style list is kept when no painting is found


def test_import_of_a_bad_file_says_one_line(qtbot, window, tmp_path) -> None:
    bad = tmp_path / "evil.json"
    bad.write_text(json.dumps({"format": "nst-desktop-preset", "version": 1, "preset": {"name": "x"}}))
    window.prompts.open_answer = str(bad)
    window.presets.import_action.trigger()
    text = window.statusBar().currentMessage()
    assert text.startswith("'evil.json' is not a usable preset: it has no ") and "\n" not in text
    assert load_presets().presets == ()


def test_export_delete_and_an_empty_store(qtbot, window, image_files, tmp_path) -> None:
    window.presets.export_action.trigger()
    assert "No presets yet" in window.statusBar().currentMessage()
    window.presets.fill()
    assert not window.presets.export_action.isEnabled() and not window.presets.entries[0].isEnabled()
    load_both(window, image_files)
    window.presets.save_current()
    window.presets.fill()
    assert window.presets.export_action.isEnabled()
    window.prompts.save_answer = str(tmp_path / "mine.json")
    assert window.presets.export_preset() and (tmp_path / "mine.json").is_file()
    window.prompts.open_answer = str(tmp_path / "mine.json")
    assert window.presets.import_preset()
    assert [p.name for p in load_presets().presets] == ["My preset", "My preset (2)"]
    window.prompts.choose_answer = "My preset"
    window.presets.delete_action.trigger()
    assert [p.name for p in load_presets().presets] == ["My preset (2)"]


def _paint(qtbot, window: MainWindow):
    assert window.start_run()
    qtbot.waitUntil(lambda: not window.is_running(), timeout=120_000)
    assert window.result is not None and not window.result.cancelled
    return window.result.image


@pytest.mark.slow
def test_a_preset_made_on_one_computer_paints_the_same_on_another(qtbot, image_files, tmp_path, monkeypatch,
                                                                   bundled_weights) -> None:
    one = make_window(qtbot, Prompts())
    load_both(one, image_files)
    few_steps(one, steps=6, size=32)
    one.controls.init_combo.setCurrentIndex(one.controls.init_combo.findData("noise"))  # the seed matters
    one.controls.seed_spin.setValue(97)
    one.presets.save_current()
    one.prompts.save_answer = str(tmp_path / "shared.json")
    assert one.presets.export_preset()
    first = _paint(qtbot, one)

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "other-computer"))
    other = make_window(qtbot, Prompts())
    assert load_presets().presets == ()
    other.prompts.open_answer = str(tmp_path / "shared.json")
    assert other.presets.import_preset()
    assert other.controls.seed_spin.value() != 97
    assert other.presets.apply_named("My preset")
    assert other.content_pane.load_path(image_files[0])  # the photo is not part of a preset
    few_steps(other, steps=6, size=32)
    second = _paint(qtbot, other)
    assert ImageChops.difference(first, second).getbbox() is None
    other.controls.seed_spin.setValue(98)
    assert ImageChops.difference(first, _paint(qtbot, other)).getbbox() is not None  # the seed counts
