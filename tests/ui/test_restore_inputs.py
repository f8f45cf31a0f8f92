"""File > Open Settings from Image with a stranger's result (issue 31, item 3): the settings are restored;
the photo and paintings it names are opened only where they exist, are images the app opens, and the
user agrees (a question lists their paths); a relative path is never looked for in the current folder.
Results name their inputs by file name unless File > Keep Full Input Paths in Results is checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from nst_desktop.engine import read_metadata, save_image
from nst_desktop.services.settings import Settings, load_settings, save_settings
from tests.helpers import make_content, make_style
from tests.robustness.test_hostile_files import EPS
from tests.ui.helpers import make_window


@pytest.fixture
def stranger(tmp_path: Path) -> dict[str, Path]:
    """A result whose metadata names a photo and paintings: absolute and bare names (beside it), a
    PostScript file named .jpg, a relative path, and a photo in the current folder only."""
    home, elsewhere = tmp_path / "from-a-stranger", tmp_path / "cwd"
    home.mkdir()
    elsewhere.mkdir()
    photo, painting, ps = home / "photo.png", home / "painting.png", home / "ps.jpg"
    make_content((48, 32)).save(photo)
    make_style((40, 40)).save(painting)
    ps.write_bytes(EPS)
    make_style((40, 40)).save(elsewhere / "cwd-only.png")
    result = home / "result.png"
    save_image(make_content((32, 21)), result, {
        "program": "NST Desktop", "params": {"size": 96, "style_strength": 3.0}, "style_weights": [1.0, 1.0, 0.5, 1.0],
        "inputs": {"content": str(photo), "styles": ["painting.png", "ps.jpg", "cwd-only.png", "../cwd/cwd-only.png"]}})
    return {"result": result, "photo": photo, "painting": painting, "cwd": elsewhere}


def test_the_inputs_are_listed_and_opened_only_when_the_user_agrees(qtbot, stranger, monkeypatch) -> None:
    monkeypatch.chdir(stranger["cwd"])  # where cwd-only.png is: never looked at
    window = make_window(qtbot)
    window.prompts.answer = False
    assert window.restorer.restore_settings_from(stranger["result"])
    assert window.controls.size_spin.value() == 96  # the settings are restored either way
    (title, text), = window.prompts.asked
    assert f"Photo: {stranger['photo']}" in text and f"Painting 1: {stranger['painting']}" in text
    assert "ps.jpg" not in text and "cwd-only" not in text
    assert window.content_pane.loaded is None and window.style_list.names() == [None]  # nothing opened
    note = window.statusBar().currentMessage()
    assert "input files not opened" in note and "ps.jpg' is a PostScript file" in note
    assert "cwd-only.png (not found)" in note and "../cwd/cwd-only.png (a relative path: not looked for)" in note

    again = make_window(qtbot)
    again.prompts.answer = True
    assert again.restorer.restore_settings_from(stranger["result"])
    assert again.content_pane.loaded is not None and again.content_pane.loaded.path == stranger["photo"]
    assert again.style_list.names() == ["painting.png"]


def test_results_name_inputs_by_file_name_unless_the_setting_says_otherwise(qtbot, image_files, tmp_path) -> None:
    from tests.ui.helpers import load_both

    window = make_window(qtbot)
    load_both(window, image_files)
    assert window.inputs.input_paths() == {"content": image_files[0].name, "styles": [image_files[1].name]}
    assert not window.keep_paths_action.isChecked()
    window.keep_paths_action.trigger()
    assert window.settings.keep_input_paths
    assert window.inputs.input_paths()["content"] == str(image_files[0].resolve())
    window.write_settings()
    assert load_settings().settings.keep_input_paths
    assert make_window(qtbot).keep_paths_action.isChecked()  # remembered
    path = save_settings(Settings(keep_input_paths=True), tmp_path / "s.json")
    assert load_settings(path).settings.keep_input_paths


def test_the_cli_stores_file_names_unless_asked_for_paths(tmp_path: Path, image_files) -> None:
    from nst_desktop import cli

    content, style = image_files
    base = ["stylize", str(content), str(style), "--size", "32", "--steps", "1", "--quiet", "--no-coarse-to-fine"]
    assert cli.main([*base, "-o", str(tmp_path / "a.png")]) == 0
    assert read_metadata(tmp_path / "a.png")["inputs"] == {"content": content.name, "styles": [style.name]}
    assert cli.main([*base, "-o", str(tmp_path / "b.png"), "--keep-paths"]) == 0
    assert read_metadata(tmp_path / "b.png")["inputs"] == {"content": str(content.resolve()),
                                                          "styles": [str(style.resolve())]}
