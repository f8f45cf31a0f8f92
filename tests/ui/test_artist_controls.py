"""The artist's controls in the window (offscreen): each is driven through its widget and
what reaches the engine (the StyleRequest / StyleParams the worker gets) is checked; one
short real run for Continue and for saving and restoring the settings from an image."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PySide6.QtCore import Qt

from nst_desktop.engine.image.images import read_metadata
from nst_desktop.ui.main_window import MainWindow
from tests.helpers import make_content, make_style
from tests.ui.helpers import few_steps, load_both, make_window


@pytest.fixture
def window(qtbot) -> MainWindow:
    return make_window(qtbot)


@pytest.fixture
def second_style(tmp_path: Path) -> Path:
    p = tmp_path / "second.png"
    make_content((80, 80)).save(p)
    return p


def _run(qtbot, window: MainWindow, start=None) -> None:
    assert (start or window.start_run)()
    assert window.runs.job is not None
    with qtbot.waitSignal(window.runs.job.ended, timeout=60_000):
        pass


def test_colour_and_scale_controls_reach_the_params(window: MainWindow) -> None:
    c = window.controls
    assert c.params().preserve_colors == "none" and c.params().style_scale == 1.0  # off by default
    for value in ("luminance", "match", "none"):
        c.preserve_combo.setCurrentIndex(c.preserve_combo.findData(value))
        assert c.params().preserve_colors == value
    c.scale_spin.setValue(2.5)
    assert c.params().style_scale == 2.5
    c.scale_spin.setValue(99)
    assert c.params().style_scale == 4.0  # clamped to the engine's range


@pytest.mark.slow
def test_request_carries_one_style_or_a_blend(qtbot, window: MainWindow, image_files: tuple[Path, Path],
                                              second_style: Path) -> None:
    few_steps(window, 2, size=32)
    load_both(window, image_files)
    c = window.controls
    assert len(window.style_list.rows) == 1  # only one style yet
    c.preserve_combo.setCurrentIndex(c.preserve_combo.findData("luminance"))
    c.scale_spin.setValue(2.0)
    _run(qtbot, window)
    req = window.last_request
    assert req is not None and req.style_weights is None and not isinstance(req.style, list)
    assert (req.params.preserve_colors, req.params.style_scale) == ("luminance", 2.0)
    assert req.inputs == {"content": image_files[0].name, "styles": [image_files[1].name]}  # names only by default

    assert window.style_list.add_paths([second_style]) == 1
    first, second = window.style_list.rows
    first.set_weight(75)
    second.weight_slider.setValue(25)
    assert (first.weight_label.text(), second.weight_label.text()) == ("75 %", "25 %")
    _run(qtbot, window)
    req = window.last_request
    assert isinstance(req.style, list) and len(req.style) == 2
    assert req.style_weights == pytest.approx([0.75, 0.25])
    assert window.result is not None and window.result.metadata["style_weights"] == pytest.approx([0.75, 0.25])

    qtbot.mouseClick(second.remove_button, Qt.MouseButton.LeftButton)
    assert len(window.style_list.rows) == 1 and window.style_pane.loaded is not None
    assert window.inputs.style_inputs()[1] is None


@pytest.mark.slow
def test_continue_starts_from_the_result(qtbot, window: MainWindow, image_files: tuple[Path, Path]) -> None:
    few_steps(window, 3, size=32)
    load_both(window, image_files)
    assert not window.continue_button.isEnabled()  # nothing to continue yet
    _run(qtbot, window)
    first = window.result
    assert first is not None and window.continue_button.isEnabled()
    window.controls.size_spin.setValue(48)  # continue at a larger size
    _run(qtbot, window, lambda: (qtbot.mouseClick(window.continue_button, Qt.MouseButton.LeftButton), True)[1])
    req = window.last_request
    assert req is not None and req.continued.image is first.image and req.params.coarse_to_fine is False
    assert window.result is not first and max(window.result.image.size) == 48
    assert window.result.metadata["continued"] is True


@pytest.mark.slow
def test_continue_at_the_same_size_keeps_the_optimiser_state(qtbot, window: MainWindow,
                                                              image_files: tuple[Path, Path]) -> None:
    few_steps(window, 3, size=32)
    load_both(window, image_files)
    _run(qtbot, window)
    first = window.result
    state = window.runs.resume_state
    assert window.last_request.keep_state and state is not None
    assert first.state is None  # held once by the window, not by every result in the history
    x_before = state.x.detach().clone()
    _run(qtbot, window, lambda: (qtbot.mouseClick(window.continue_button, Qt.MouseButton.LeftButton), True)[1])
    assert window.last_request.continued.state is state and window.last_request.continued.image is first.image
    second = window.result
    assert window.runs.resume_owner is second and window.runs.resume_state is not None
    assert not torch.equal(window.runs.resume_state.x.detach(), x_before)  # it went on from there
    # An older result (picked again, as from the history) continues with a fresh L-BFGS.
    window._result = first
    _run(qtbot, window, lambda: (qtbot.mouseClick(window.continue_button, Qt.MouseButton.LeftButton), True)[1])
    assert window.last_request.continued.state is None and window.last_request.continued.image is first.image


@pytest.mark.slow
def test_a_failed_continue_drops_the_optimiser_state_it_may_have_advanced(
        qtbot, window: MainWindow, image_files: tuple[Path, Path], monkeypatch) -> None:
    """The engine goes on with the window's state in place; if that run fails, the state may be
    part-way, so the next Continue starts afresh from the result that is shown."""
    from nst_desktop.engine.net.objective import Objective

    window.prompts.answer = False
    few_steps(window, 4, size=32)
    load_both(window, image_files)
    _run(qtbot, window)
    first = window.result
    state = window.runs.resume_state
    assert state is not None
    real_call = Objective.__call__
    calls = []

    def failing(self, x):
        calls.append(1)
        if len(calls) > 2:
            raise RuntimeError("simulated engine failure")
        return real_call(self, x)

    monkeypatch.setattr(Objective, "__call__", failing)
    _run(qtbot, window, lambda: (qtbot.mouseClick(window.continue_button, Qt.MouseButton.LeftButton), True)[1])
    assert window.last_request.continued.state is state and len(calls) > 2
    assert "Failed" in window.progress_label.text()
    assert window.result is first and window.runs.resume_state is None
    monkeypatch.undo()
    assert window.continue_button.isEnabled()
    _run(qtbot, window, lambda: (qtbot.mouseClick(window.continue_button, Qt.MouseButton.LeftButton), True)[1])
    assert window.last_request.continued.state is None and window.last_request.continued.image is first.image
    assert window.result is not first and window.runs.resume_state is not None


@pytest.mark.slow
def test_a_failed_continue_at_another_size_keeps_the_optimiser_state(
        qtbot, window: MainWindow, image_files: tuple[Path, Path], monkeypatch) -> None:
    """At another size the engine resamples the window's state instead of going on with it
    (``Resume.consumed`` stays False), so a failed run leaves the held state as it was."""
    from nst_desktop.engine.net.objective import Objective

    window.prompts.answer = False
    few_steps(window, 4, size=32)
    load_both(window, image_files)
    _run(qtbot, window)
    state = window.runs.resume_state
    assert state is not None
    x_before = state.x.detach().clone()

    def failing(self, x):
        raise RuntimeError("simulated engine failure")

    monkeypatch.setattr(Objective, "__call__", failing)
    window.controls.size_spin.setValue(48)
    _run(qtbot, window, lambda: (qtbot.mouseClick(window.continue_button, Qt.MouseButton.LeftButton), True)[1])
    assert window.last_request.continued.state is state and not window.last_request.continued.consumed
    assert "Failed" in window.progress_label.text()
    assert window.runs.resume_state is state and torch.equal(state.x.detach(), x_before)


@pytest.mark.slow
def test_new_seed_is_used_and_saved(qtbot, window: MainWindow, image_files: tuple[Path, Path]) -> None:
    few_steps(window, 2, size=32)
    load_both(window, image_files)
    c = window.controls
    c.init_combo.setCurrentIndex(c.init_combo.findData("noise"))
    c.seed_spin.setValue(7)
    c.new_seed_button.click()
    seed = c.seed_spin.value()
    _run(qtbot, window)
    assert window.last_request.params.seed == seed
    assert window.result.metadata["params"]["seed"] == seed


@pytest.mark.slow
def test_settings_restored_from_a_saved_image(qtbot, window: MainWindow, image_files: tuple[Path, Path],
                                              second_style: Path, tmp_path: Path) -> None:
    few_steps(window, 2, size=32)
    load_both(window, image_files)
    window.style_list.add_paths([second_style])
    window.style_list.rows[1].set_weight(30)
    c = window.controls
    c.preserve_combo.setCurrentIndex(c.preserve_combo.findData("match"))
    c.scale_spin.setValue(1.5)
    c.init_combo.setCurrentIndex(c.init_combo.findData("noise"))
    c.seed_spin.setValue(1234)
    _run(qtbot, window)
    out = tmp_path / "saved.png"
    assert window.export.save_result_to(out)
    meta = read_metadata(out)
    assert meta is not None and len(meta["inputs"]["styles"]) == 2

    fresh = make_window(qtbot)
    fresh.prompts.open_path = lambda title, folder="": str(out)
    fresh.open_settings_action.trigger()
    f = fresh.controls
    assert f.preserve_combo.currentData() == "match" and f.scale_spin.value() == 1.5
    assert fresh.style_list.weights() == [100, 30] and f.seed_spin.value() == 1234
    assert f.init_combo.currentData() == "noise" and f.size_spin.value() == 32
    assert fresh.content_pane.loaded is not None and fresh.content_pane.loaded.path == image_files[0].resolve()
    assert [r.loaded.path for r in fresh.style_list.rows] == [image_files[1].resolve(), second_style.resolve()]


def test_restoring_from_an_image_without_settings_says_so(qtbot, window: MainWindow, tmp_path: Path) -> None:
    plain = tmp_path / "plain.png"
    make_style().save(plain)
    assert not window.restorer.restore_settings_from(plain)
    assert window.prompts.informed and "no NST Desktop settings" in window.prompts.informed[0][1]


def test_artist_controls_survive_a_restart(qtbot, image_files: tuple[Path, Path], second_style: Path) -> None:
    w1 = make_window(qtbot)
    c = w1.controls
    c.preserve_combo.setCurrentIndex(c.preserve_combo.findData("luminance"))
    c.scale_spin.setValue(2.5)
    w1.style_list.add_paths([image_files[1], second_style])
    w1.style_list.rows[0].set_weight(70)
    w1.style_list.rows[1].set_weight(30)
    assert w1.close()
    w2 = make_window(qtbot)
    c2 = w2.controls
    assert c2.preserve_combo.currentData() == "luminance"
    assert c2.scale_spin.value() == 2.5
    assert w2.style_list.weights() == [70, 30] and w2.style_list.names() == ["painting.jpg", "second.png"]
    assert (w2.settings.preserve_colors, w2.settings.style_scale) == ("luminance", 2.5)
    assert [e.weight for e in w2.settings.styles] == pytest.approx([0.7, 0.3])
