"""File > Open Settings from Image also shows the image as a (saved) result in the History."""

from __future__ import annotations

from pathlib import Path

from PIL import ImageChops

from nst_desktop.engine import load_image, save_image
from tests.helpers import make_content
from tests.ui.helpers import make_window


def _saved(tmp_path: Path, content: Path) -> Path:
    out = tmp_path / "earlier-result.png"
    meta = {"program": "NST Desktop", "params": {"seed": 77, "size": 64}, "steps_done": 42, "elapsed_s": 3.5,
            "inputs": {"content": str(content)}}
    save_image(make_content((64, 48)).rotate(180), out, meta)
    return out


def test_open_settings_from_image_shows_it_in_the_history(qtbot, tmp_path: Path, image_files) -> None:
    out = _saved(tmp_path, image_files[0])
    window = make_window(qtbot)
    assert window.history.count() == 0
    window.prompts.open_answer = str(out)
    window.open_settings_action.trigger()
    assert window.controls.seed_spin.value() == 77
    assert window.history.count() == 1 and window.history.isVisible()
    entry = window.history.newest()
    assert entry.saved and entry.saved_as == out.resolve() and entry.result.steps_done == 42
    assert window.result is entry.result and window.history.current_entry() is entry
    assert ImageChops.difference(window.result.image, load_image(out)).getbbox() is None
    assert window.unsaved_results() == 0  # it is saved: quitting asks nothing
    assert entry.before is not None and entry.before.size == (64, 48)  # its photo was found: Compare works
    assert window.compare_action.isEnabled()
    # Opened again: the same entry is chosen, not a second one.
    window.open_settings_action.trigger()
    assert window.history.count() == 1


def test_a_result_whose_photo_is_gone_is_still_shown(qtbot, tmp_path: Path, image_files) -> None:
    out = _saved(tmp_path, tmp_path / "gone.jpg")
    window = make_window(qtbot)
    assert window.restorer.restore_settings_from(out)
    assert window.history.count() == 1 and window.result is not None and window.history.newest().before is None
