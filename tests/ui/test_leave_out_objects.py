"""The "Leave out objects" checkbox (Scene row) (on by default): it reaches the run (and its result's
metadata), is kept in the per-user settings, in presets and in a saved result's settings, and the History and
the queue say when it is off."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from nst_desktop.engine import read_metadata, save_image
from nst_desktop.engine.params import StyleParams
from nst_desktop.services.queue_store import QueueItem
from nst_desktop.services.settings import Settings, load_settings, save_settings, settings_path
from nst_desktop.ui.history_strip import settings_summary
from nst_desktop.ui.queue_text import row_tooltip
from tests.helpers import make_content
from tests.ui.helpers import few_steps, load_both, make_window, untick_and_reopen


def test_the_checkbox_is_on_by_default_and_reaches_the_params(qtbot) -> None:
    window = make_window(qtbot)
    c = window.controls
    assert c.objects_check.isChecked() and c.params().leave_out_objects
    assert c.objects_check.text() == "Leave out objects"
    assert c.objects_check.box.accessibleName() == "Leave out the painting's objects"  # read out without the row
    assert "portrait" in c.objects_check.toolTip() and "Untick" in c.objects_check.toolTip()
    c.objects_check.setChecked(False)
    assert not c.params().leave_out_objects


@pytest.mark.slow  # a real run at 48 px
def test_a_run_without_the_checkbox_keeps_the_objects_and_the_history_says_so(qtbot, image_files,
                                                                             bundled_weights) -> None:
    window = make_window(qtbot)
    few_steps(window, steps=3, size=48)
    load_both(window, image_files)
    window.controls.objects_check.setChecked(False)
    assert window.start_run()
    job = window.runs.job
    assert job is not None
    with qtbot.waitSignal(job.ended, timeout=120_000):
        pass
    entry = window.history.newest()
    assert entry is not None and entry.result.metadata["params"]["leave_out_objects"] is False
    assert "painting's objects kept" in settings_summary(entry.result.metadata)
    assert "painting's objects kept" in window.result_view.caption.text()


def test_the_history_text_names_it_only_when_off() -> None:
    assert settings_summary({"params": {"size": 64, "leave_out_objects": False}}) == "64 px · painting's objects kept"
    assert settings_summary({"params": {"size": 64, "leave_out_objects": True}}) == "64 px"
    assert settings_summary({"params": {"size": 64, "leave_out_objects": "yes"}}) == "64 px"
    assert settings_summary({"params": {"size": 64}}) == "64 px"  # a result from before the option


def test_the_queue_text_names_it(tmp_path: Path) -> None:
    item = QueueItem(1, tmp_path / "a.png", tmp_path / "b.png", StyleParams(leave_out_objects=False), tmp_path, 1)
    assert "painting's objects kept" in row_tooltip(item)
    default = QueueItem(2, tmp_path / "a.png", tmp_path / "b.png", StyleParams(), tmp_path, 1)
    assert "objects" not in row_tooltip(default)


def test_it_persists_across_windows(qtbot) -> None:
    stored, second = untick_and_reopen(qtbot, "objects_check")
    assert stored.leave_out_objects is False
    assert not second.controls.objects_check.isChecked()


def test_a_missing_or_bad_stored_value_gives_the_default() -> None:
    save_settings(Settings(leave_out_objects=False))
    data = json.loads(settings_path().read_text())
    assert data["leave_out_objects"] is False
    for stored in ("no", 0, None):
        data["leave_out_objects"] = stored
        settings_path().write_text(json.dumps(data))
        assert load_settings().settings.leave_out_objects is True
    del data["leave_out_objects"]  # a settings file from before the option
    data["seamless"] = True
    settings_path().write_text(json.dumps(data))
    loaded = load_settings().settings
    assert loaded.leave_out_objects is True and loaded.seamless is True


def test_open_settings_from_image_restores_it(qtbot, tmp_path: Path) -> None:
    on, old = tmp_path / "on.png", tmp_path / "old.png"
    save_image(make_content((32, 21)), on, {"program": "NST Desktop", "params": {"size": 96,
                                                                                 "leave_out_objects": True}})
    save_image(make_content((32, 21)), old, {"program": "NST Desktop", "params": {"size": 80}})
    window = make_window(qtbot)
    assert window.restorer.restore_settings_from(on)
    assert window.controls.objects_check.isChecked() and window.controls.size_spin.value() == 96
    assert window.restorer.restore_settings_from(old)  # made without the option
    assert not window.controls.objects_check.isChecked() and window.controls.size_spin.value() == 80
    window.controls.objects_check.setChecked(True)
    assert window.controls.apply_run_params({"leave_out_objects": "yes"}) == ["leave_out_objects"]
    assert window.controls.objects_check.isChecked()  # a bad value is not applied
    assert read_metadata(on)["params"]["leave_out_objects"] is True  # type: ignore[index]


def test_clicking_the_checkboxs_text_toggles_it_and_not_while_painting(qtbot) -> None:
    window = make_window(qtbot)
    check = window.controls.objects_check
    assert check.isChecked()
    qtbot.mouseClick(check.label, Qt.MouseButton.LeftButton)
    assert not check.isChecked() and not window.controls.params().leave_out_objects
    qtbot.mouseClick(check.box, Qt.MouseButton.LeftButton)
    assert check.isChecked()
    check.setEnabled(False)  # as while painting
    qtbot.mouseClick(check.label, Qt.MouseButton.LeftButton)
    assert check.isChecked()
