"""The Style list in the window (offscreen, real widgets): adding, removing, dropping and
weighting paintings; what reaches the engine; regions with several styles; the list in the
settings file (and the previous version's file); restoring several styles from a saved image."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

from nst_desktop.engine import StyleResult
from nst_desktop.engine.image.images import read_metadata
from nst_desktop.services.settings import MAX_STYLES, SETTINGS_VERSION, load_settings, settings_path
from nst_desktop.ui import worker as worker_mod
from nst_desktop.ui.main_window import MainWindow
from nst_desktop.ui.qimage_convert import pil_to_qimage
from nst_desktop.ui.region_canvas import RegionCanvas
from nst_desktop.ui.region_labels import ERASE, KEEP, STYLE1, STYLE2, labels_to_pil, style_label
from nst_desktop.ui.style_list import ALL_ZERO, LIST_FULL
from tests.helpers import make_content, make_style
from tests.ui.helpers import drag_and_drop, few_steps, make_window, stroke


@pytest.fixture
def window(qtbot) -> MainWindow:
    return make_window(qtbot)


def painting(tmp_path: Path, name: str, colour: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> Path:
    """A small 'painting' on disk: coloured stripes on ``colour``."""
    img = Image.new("RGB", size, colour)
    d = ImageDraw.Draw(img)
    for x in range(0, size[0], 6):
        d.line((x, 0, x + size[1], size[1]), fill=(255 - colour[0], 255 - colour[1], 255 - colour[2]), width=2)
    p = tmp_path / name
    img.save(p)
    return p


@pytest.fixture
def paintings(tmp_path: Path) -> list[Path]:
    return [painting(tmp_path, f"p{i}.png", c, (40 + 8 * i, 30))
            for i, c in enumerate([(200, 40, 40), (40, 200, 40), (40, 40, 200), (200, 200, 40)])]


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    p = tmp_path / "photo.png"
    make_content((96, 64)).save(p)
    return p


def file_mime(*paths: Path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


class EngineSpy:
    """Replaces the engine's stylize in the worker: records each call, returns a tiny result."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def __call__(self, inputs, params, weights=None, on_progress=None, cancel=None, options=None) -> StyleResult:
        self.calls.append({"inputs": inputs, "options": options})
        img = inputs.content.resize((32, 21))
        blend = list(inputs.style_weights) if len(inputs.paintings) > 1 else None
        meta = {"program": "NST Desktop", "params": {"size": 32}, "style_weights": blend}
        return StyleResult(img, False, 1, 0.0, 0.0, 0.01, meta)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> EngineSpy:
    s = EngineSpy()
    monkeypatch.setattr(worker_mod, "stylize", s)
    return s


def run_once(qtbot, window: MainWindow) -> None:
    assert window.start_run()
    with qtbot.waitSignal(window.runs.job.ended, timeout=60_000):
        pass


def paint_three_bands(qtbot, window: MainWindow) -> RegionCanvas:
    """Style 1 left, Style 2 middle, Style 3 right (full height), painted with the mouse."""
    qtbot.mouseClick(window.regions_button, Qt.MouseButton.LeftButton)
    qtbot.waitExposed(window.region_editor)
    editor = window.region_editor
    canvas = editor.canvas
    editor.brush_spin.setValue(14)
    for label, fx in ((STYLE1, 0.15), (STYLE2, 0.5), (style_label(2), 0.85)):
        qtbot.mouseClick(editor.tool_buttons[label], Qt.MouseButton.LeftButton)
        assert canvas.tool == label
        stroke(canvas, [(fx, y / 10) for y in range(0, 11)])
    return canvas


# ----------------------------------------------------------------------------- rows
def test_add_and_remove_rows(window: MainWindow, paintings: list[Path], qtbot) -> None:
    sl = window.style_list
    assert len(sl.rows) == 1 and sl.rows[0].loaded is None and not sl.rows[0].remove_button.isEnabled()
    assert "No painting yet" in sl.rows[0].info.text()
    assert sl.add_paths(paintings[:3]) == 3
    assert sl.names() == ["p0.png", "p1.png", "p2.png"]  # the first went into the empty first row
    assert [r.role for r in sl.rows] == ["Style 1", "Style 2", "Style 3"]
    assert "p1.png" in sl.rows[1].info.text() and "48 × 30 px" in sl.rows[1].info.text()
    assert all(r.weight == 100 and r.weight_label.text() == "100 %" for r in sl.rows)
    assert "p0.png" in window.windowTitle() and "p2.png" in window.windowTitle()
    assert window.settings.recent_style[0] == str(paintings[2].resolve())

    qtbot.mouseClick(sl.rows[1].remove_button, Qt.MouseButton.LeftButton)
    assert sl.names() == ["p0.png", "p2.png"] and [r.role for r in sl.rows] == ["Style 1", "Style 2"]
    assert "p1.png" not in window.windowTitle()
    qtbot.mouseClick(sl.rows[0].remove_button, Qt.MouseButton.LeftButton)
    assert sl.names() == ["p2.png"] and sl.rows[0].role == "Style 1"
    # the only row is emptied, not removed: "no style yet"
    assert sl.rows[0].remove_button.isEnabled()
    qtbot.mouseClick(sl.rows[0].remove_button, Qt.MouseButton.LeftButton)
    assert len(sl.rows) == 1 and sl.rows[0].loaded is None and sl.names() == [None]
    assert not sl.rows[0].remove_button.isEnabled() and not sl.rows[0].weight_slider.isEnabled()
    assert not window.stylize_button.isEnabled()


def test_delete_key_removes_the_focused_row_and_sliders_take_the_keyboard(window: MainWindow,
                                                                          paintings: list[Path], qtbot) -> None:
    sl = window.style_list
    sl.add_paths(paintings[:2])
    window.activateWindow()
    row = sl.rows[1]
    row.weight_slider.setFocus()
    qtbot.waitUntil(row.weight_slider.hasFocus, timeout=2000)
    QTest.keyClick(row.weight_slider, Qt.Key.Key_PageDown)
    assert row.weight == 90 and row.weight_label.text() == "90 %"
    assert row.weight_slider.focusPolicy() & Qt.FocusPolicy.TabFocus
    assert row.weight_slider.accessibleName() == "Weight of Style 2" and row.weight_slider.toolTip()
    row.setFocus()
    qtbot.waitUntil(row.hasFocus, timeout=2000)
    QTest.keyClick(row, Qt.Key.Key_Delete)
    assert sl.names() == ["p0.png"]


def test_the_list_holds_at_most_max_styles(window: MainWindow, tmp_path: Path) -> None:
    files = [painting(tmp_path, f"m{i}.png", (20 * i, 100, 50)) for i in range(MAX_STYLES + 2)]
    sl = window.style_list
    assert sl.add_paths(files) == MAX_STYLES
    assert len(sl.rows) == MAX_STYLES
    text = sl.message.text()
    assert LIST_FULL in text and f"m{MAX_STYLES}.png" in text and f"m{MAX_STYLES + 1}.png" in text
    assert text in window.statusBar().currentMessage()
    assert not sl.can_add() and not sl.add_button.isEnabled() and "at most" in sl.add_button.toolTip()
    asked = []
    window.prompts.open_path = lambda title, folder="": asked.append(title) or str(files[0])
    window.open_style_action.trigger()
    assert asked == [] and "full" in window.statusBar().currentMessage()
    mime = file_mime(files[-1])
    assert not drag_and_drop(sl.add_row, mime)  # a full list refuses drops
    # a scroll area keeps many rows reachable
    assert sl.scroll.widgetResizable() and sl.scroll.widget().isAncestorOf(sl.rows[-1])


# ----------------------------------------------------------------------------- drops
def test_dropping_a_non_image_on_a_row_keeps_its_painting(window: MainWindow, paintings: list[Path],
                                                          tmp_path: Path, qtbot) -> None:
    sl = window.style_list
    sl.add_paths(paintings[:2])
    row = sl.rows[1]
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture")
    mime = file_mime(notes)
    with qtbot.waitSignal(sl.problem, timeout=2000):
        assert drag_and_drop(row, mime)
    assert row.loaded is not None and row.loaded.name == "p1.png" and "p1.png" in row.info.text()
    assert "notes.txt" in row.message.text() and "not an image" in row.message.text()
    assert row.message.isVisibleTo(row)
    assert "notes.txt" in window.statusBar().currentMessage()
    assert sl.names() == ["p0.png", "p1.png"]
    # a good drop replaces the row's painting and clears the message
    mime2 = file_mime(paintings[3])
    assert drag_and_drop(row, mime2)
    assert sl.names() == ["p0.png", "p3.png"] and not row.message.isVisibleTo(row)


def test_dropping_on_the_add_line_adds_paintings(window: MainWindow, paintings: list[Path],
                                                 tmp_path: Path) -> None:
    sl = window.style_list
    mime = file_mime(*paintings[:3])
    assert drag_and_drop(sl.add_row, mime)
    assert sl.names() == ["p0.png", "p1.png", "p2.png"]
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    bad = file_mime(notes)
    assert drag_and_drop(sl.add_row, bad)
    assert len(sl.rows) == 3 and "notes.txt" in sl.message.text() and sl.message.isVisibleTo(sl)
    # image data (not a file) dropped on the empty area of the list is added too
    data = QMimeData()
    data.setImageData(pil_to_qimage(make_style((24, 16))))
    assert drag_and_drop(sl, data)
    assert len(sl.rows) == 4 and sl.rows[3].loaded is not None and sl.rows[3].loaded.path is None
    assert not sl.message.isVisibleTo(sl)


def test_several_files_dropped_on_a_row(window: MainWindow, paintings: list[Path]) -> None:
    sl = window.style_list
    mime = file_mime(*paintings[:3])
    assert drag_and_drop(sl.rows[0], mime)  # the empty first row takes the first, the others are added
    assert sl.names() == ["p0.png", "p1.png", "p2.png"]
    mime2 = file_mime(paintings[3], paintings[0])
    assert drag_and_drop(sl.rows[1], mime2)
    assert sl.names() == ["p0.png", "p3.png", "p2.png", "p0.png"]


def test_open_paste_and_recent_fill_the_empty_row_then_add(window: MainWindow, paintings: list[Path]) -> None:
    sl = window.style_list
    window.prompts.open_path = lambda title, folder="": str(paintings[0])
    window.open_style_action.trigger()
    assert sl.names() == ["p0.png"]
    window.prompts.open_path = lambda title, folder="": str(paintings[1])
    window.inputs.open_style()
    assert sl.names() == ["p0.png", "p1.png"]
    QGuiApplication.clipboard().setImage(pil_to_qimage(make_style((20, 20))))
    window.paste_style_action.trigger()
    assert len(sl.rows) == 3 and sl.rows[2].loaded is not None and sl.rows[2].loaded.image.size == (20, 20)
    window.recent.fill_style()
    acts = [a for a in window.recent_style_menu.actions() if a.data()]
    assert [a.text() for a in acts] == ["p1.png", "p0.png"]
    acts[1].trigger()
    assert sl.names()[-1] == "p0.png" and len(sl.rows) == 4
    window.prompts.open_paths = lambda title, folder="": [str(paintings[2]), str(paintings[3])]
    sl.add_button.click()
    assert sl.names()[-2:] == ["p2.png", "p3.png"]
    # a row's own Open… replaces that row's painting
    window.prompts.open_path = lambda title, folder="": str(paintings[3])
    sl.rows[0].open_button.click()
    assert sl.names()[0] == "p3.png" and len(sl.rows) == 6


# ----------------------------------------------------------------------------- weights and the engine
def test_weights_reach_the_engine_and_zero_leaves_a_painting_out(qtbot, window: MainWindow, photo: Path,
                                                                 paintings: list[Path], spy: EngineSpy) -> None:
    few_steps(window, 2, size=32)
    sl = window.style_list
    assert window.content_pane.load_path(photo)
    sl.add_paths(paintings[:3])
    sl.rows[1].weight_slider.setValue(40)
    sl.rows[2].set_weight(70)
    run_once(qtbot, window)
    call = spy.calls[-1]["inputs"]
    assert len(call.paintings) == 3
    assert call.paintings[1].size == (48, 30)  # in row order
    assert call.style_weights == pytest.approx([1.0, 0.4, 0.7])
    req = window.last_request
    assert req is not None and req.style_weights == pytest.approx([1.0, 0.4, 0.7])
    assert req.inputs == {"content": photo.name, "styles": [p.name for p in paintings[:3]]}

    sl.rows[1].set_weight(0)  # left out of the run
    assert window.stylize_button.isEnabled()
    assert sl.rows[1].weight_label.text() == "0 %" and "Left out" in sl.rows[1].weight_label.toolTip()
    run_once(qtbot, window)
    call = spy.calls[-1]["inputs"]
    assert len(call.paintings) == 2 and call.paintings[1].size == (56, 30)
    assert call.style_weights == pytest.approx([1.0, 0.7])
    assert window.last_request.inputs["styles"] == [paintings[0].name, paintings[2].name]

    sl.rows[2].set_weight(0)  # one painting left: a plain single-style run
    run_once(qtbot, window)
    call = spy.calls[-1]["inputs"]
    assert len(call.paintings) == 1 and call.style_weights == (1.0,)
    assert not isinstance(window.last_request.style, list) and window.last_request.style_weights is None


def test_all_weights_zero_disables_stylize_with_the_reason(qtbot, window: MainWindow, photo: Path,
                                                           paintings: list[Path], spy: EngineSpy) -> None:
    sl = window.style_list
    window.content_pane.load_path(photo)
    sl.add_paths(paintings[:2])
    assert window.stylize_button.isEnabled()
    for row in sl.rows:
        row.set_weight(0)
    assert not window.stylize_button.isEnabled() and window.stylize_button.toolTip() == ALL_ZERO
    assert not window.stylize_action.isEnabled()
    assert ALL_ZERO in sl.message.text() and sl.message.isVisibleTo(sl)
    assert not window.start_run() and spy.calls == []
    assert ALL_ZERO in window.statusBar().currentMessage()
    sl.rows[1].set_weight(5)
    assert window.stylize_button.isEnabled() and not sl.message.isVisibleTo(sl)
    run_once(qtbot, window)
    paintings = spy.calls[-1]["inputs"].paintings
    assert len(paintings) == 1 and paintings[0].size == (48, 30)


def test_list_is_locked_while_painting(qtbot, window: MainWindow, photo: Path, paintings: list[Path],
                                       bundled_weights) -> None:
    few_steps(window, 400, size=32)
    window.content_pane.load_path(photo)
    window.style_list.add_paths(paintings[:2])
    assert window.start_run()
    sl = window.style_list
    assert not sl.rows[1].isEnabled() and "while painting" in sl.rows[1].toolTip()
    assert not sl.add_button.isEnabled() and "while painting" in sl.add_button.toolTip()
    with qtbot.waitSignal(window.runs.job.ended, timeout=60_000):
        window.cancel_run()
    assert sl.rows[1].isEnabled() and sl.add_button.isEnabled()


# ----------------------------------------------------------------------------- regions
def test_regions_with_three_styles_give_three_masks(qtbot, window: MainWindow, photo: Path,
                                                    paintings: list[Path], spy: EngineSpy) -> None:
    few_steps(window, 2, size=32)
    sl = window.style_list
    window.content_pane.load_path(photo)
    sl.add_paths(paintings[:3])
    editor = window.region_editor
    names = [editor.tool_buttons[style_label(i)].text() for i in range(3)]
    assert names == ["Style 1: p0.png", "Style 2: p1.png", "Style 3: p2.png"]
    assert KEEP in editor.tool_buttons and ERASE in editor.tool_buttons
    canvas = paint_three_bands(qtbot, window)
    masks, keep = canvas.engine_masks(3)
    assert masks is not None and len(masks) == 3 and keep is None
    for i, fx in enumerate((0.15, 0.5, 0.85)):
        assert [m.getpixel((int(fx * 95), 32)) for m in masks] == [255 if j == i else 0 for j in range(3)]
    run_once(qtbot, window)
    call = spy.calls[-1]["inputs"]
    assert len(call.masks) == 3 and call.style_weights == pytest.approx([1.0, 1.0, 1.0])
    assert call.masks[2].getpixel((81, 32)) == 255

    # a painting at 0 % is left out, and so is its region (its pixels keep the photo)
    sl.rows[1].set_weight(0)
    assert "not used: Style 2" in window.regions_label.text()
    run_once(qtbot, window)
    call = spy.calls[-1]["inputs"]
    assert len(call.paintings) == 2 and len(call.masks) == 2
    assert call.masks[0].getpixel((14, 32)) == 255 and call.masks[1].getpixel((81, 32)) == 255
    assert all(m.getpixel((48, 32)) == 0 for m in call.masks)
    sl.rows[1].set_weight(100)

    # removing Style 2 unpaints its region; Style 3's region becomes Style 2's (in the undo history too)
    qtbot.mouseClick(sl.rows[1].remove_button, Qt.MouseButton.LeftButton)
    lab = labels_to_pil(canvas.labels)
    assert (lab.getpixel((14, 32)), lab.getpixel((48, 32)), lab.getpixel((81, 32))) == (STYLE1, 0, STYLE2)
    assert style_label(2) not in editor.tool_buttons and editor.tool_buttons[STYLE2].text() == "Style 2: p2.png"
    masks, _ = canvas.engine_masks(2)
    assert masks is not None and masks[1].getpixel((81, 32)) == 255
    qtbot.mouseClick(editor.undo_button, Qt.MouseButton.LeftButton)  # takes back the third band
    lab = labels_to_pil(canvas.labels)
    assert (lab.getpixel((14, 32)), lab.getpixel((48, 32)), lab.getpixel((81, 32))) == (STYLE1, 0, 0)
    qtbot.mouseClick(editor.undo_button, Qt.MouseButton.LeftButton)  # the removed row's band stays gone
    assert labels_to_pil(canvas.labels).getpixel((48, 32)) == 0


def test_removing_the_tool_of_a_removed_row_falls_back(window: MainWindow, photo: Path,
                                                       paintings: list[Path]) -> None:
    window.content_pane.load_path(photo)
    window.style_list.add_paths(paintings[:3])
    editor = window.region_editor
    editor.set_tool(style_label(2))
    window.style_list.remove_row(1)
    assert editor.canvas.tool == STYLE2 and editor.tool_buttons[STYLE2].isChecked()  # Style 3 moved up
    window.style_list.remove_row(1)
    assert editor.canvas.tool == STYLE1 and editor.tool_buttons[STYLE1].isChecked()


# ----------------------------------------------------------------------------- settings
def test_the_list_survives_a_restart(qtbot, paintings: list[Path]) -> None:
    w1 = make_window(qtbot)
    sl = w1.style_list
    sl.add_paths(paintings[:3])
    sl.rows[0].set_weight(80)
    sl.rows[2].set_weight(0)
    QGuiApplication.clipboard().setImage(pil_to_qimage(make_style((20, 20))))
    sl.paste_new()  # a pasted painting has no file: only its weight is remembered
    sl.rows[3].set_weight(35)
    assert w1.close()
    data = json.loads(settings_path().read_text())
    assert data["version"] == SETTINGS_VERSION == 3 and "blend" not in data
    assert data["styles"] == [{"path": str(paintings[0].resolve()), "weight": 0.8},
                              {"path": str(paintings[1].resolve()), "weight": 1.0},
                              {"path": str(paintings[2].resolve()), "weight": 0.0},
                              {"path": "", "weight": 0.35}]
    paintings[1].unlink()  # gone by the next start

    w2 = make_window(qtbot)
    sl2 = w2.style_list
    assert sl2.names() == ["p0.png", "p2.png"] and sl2.weights() == [80, 0]
    assert "p1.png" in w2.statusBar().currentMessage() and "not found" in w2.statusBar().currentMessage()
    assert w2.settings.recent_style == [str(p.resolve()) for p in reversed(paintings[:3])]  # not reshuffled
    # the rows that could not be reopened give their weights to the next paintings added
    sl2.add_paths([paintings[3], paintings[0]])
    assert sl2.weights() == [80, 0, 100, 35]


def test_a_settings_file_of_the_previous_version_still_loads(qtbot, paintings: list[Path]) -> None:
    p = settings_path()
    p.parent.mkdir(parents=True)
    p.write_text(json.dumps({"version": 1, "size": 640, "blend": 0.3, "style_scale": 1.5,
                             "recent_style": [str(paintings[1]), str(paintings[0])]}))
    w = make_window(qtbot)
    assert load_settings().problem is None and not w.statusBar().currentMessage().startswith("The settings")
    assert w.controls.size_spin.value() == 640 and w.controls.scale_spin.value() == 1.5
    sl = w.style_list
    assert sl.names() == [None] and sl.weights() == [100]  # version 1 stored no style files
    sl.add_paths(paintings[:2])  # the old blend 70 : 30 comes back as the two rows' weights
    assert sl.weights() == [100, 43]
    assert w.close()
    assert json.loads(p.read_text())["version"] == SETTINGS_VERSION


def test_style_given_on_the_command_line_replaces_the_remembered_list(qtbot, paintings: list[Path],
                                                                     photo: Path) -> None:
    w1 = make_window(qtbot)
    w1.style_list.add_paths(paintings[:3])
    assert w1.close()
    w2 = make_window(qtbot)
    assert len(w2.style_list.rows) == 3
    w2.load_inputs(str(photo), str(paintings[3]))
    assert w2.style_list.names() == ["p3.png"] and w2.style_pane.loaded is not None


# ----------------------------------------------------------------------------- restore from an image
@pytest.mark.slow
def test_restore_three_styles_weights_and_regions_from_a_saved_image(qtbot, window: MainWindow, photo: Path,
                                                                     paintings: list[Path], tmp_path: Path,
                                                                     bundled_weights) -> None:
    few_steps(window, 2, size=32)
    sl = window.style_list
    window.content_pane.load_path(photo)
    sl.add_paths(paintings[:3])
    sl.rows[1].set_weight(50)
    sl.rows[2].set_weight(25)
    canvas = paint_three_bands(qtbot, window)
    painted = labels_to_pil(canvas.labels)
    run_once(qtbot, window)  # a real run: the engine writes the metadata
    out = tmp_path / "result.png"
    assert window.export.save_result_to(out)
    meta = read_metadata(out)
    assert meta is not None and len(meta["inputs"]["styles"]) == 3
    assert meta["style_weights"] == pytest.approx([1.0, 0.5, 0.25])

    fresh = make_window(qtbot)
    fresh.style_list.add_paths([paintings[3]])  # replaced by the restored list
    assert fresh.restorer.restore_settings_from(out)
    fl = fresh.style_list
    assert fl.names() == ["p0.png", "p1.png", "p2.png"] and fl.weights() == [100, 50, 25]
    assert fresh.content_pane.loaded is not None and fresh.content_pane.loaded.name == "photo.png"
    labels = fresh.region_editor.canvas.labels
    assert labels is not None
    back = labels_to_pil(labels)
    for x in (14, 48, 81):
        assert back.getpixel((x, 32)) == painted.getpixel((x, 32)) != 0
    assert [fresh.region_editor.tool_buttons[style_label(i)].text() for i in range(3)][2] == "Style 3: p2.png"
    assert "painted" in fresh.regions_label.text()
    assert "restored" in fresh.statusBar().currentMessage()

    # a painting whose file is gone is reported; the others are restored, each with its own region
    paintings[1].unlink()
    again = make_window(qtbot)
    assert again.restorer.restore_settings_from(out)
    assert again.style_list.names() == ["p0.png", "p2.png"] and again.style_list.weights() == [100, 25]
    assert "p1.png" in again.statusBar().currentMessage() and "not found" in again.statusBar().currentMessage()
    lab = labels_to_pil(again.region_editor.canvas.labels)
    assert (lab.getpixel((14, 32)), lab.getpixel((48, 32)), lab.getpixel((81, 32))) == (STYLE1, 0, STYLE2)


def test_restoring_a_run_without_regions_clears_painted_ones(qtbot, window: MainWindow, photo: Path,
                                                             paintings: list[Path], tmp_path: Path,
                                                             spy: EngineSpy) -> None:
    from nst_desktop.engine import save_image

    window.content_pane.load_path(photo)
    window.style_list.add_paths(paintings[:2])
    canvas = window.region_editor.canvas
    canvas.set_engine_masks([Image.new("L", (96, 64), 255)], None)
    assert not canvas.is_empty()
    out = tmp_path / "plain.png"
    save_image(make_content((32, 21)), out, {"program": "NST Desktop", "params": {"size": 32},
                                             "style_weights": [0.25, 0.75],
                                             "inputs": {"content": None, "styles": [str(paintings[0]),
                                                                                    str(paintings[1])]}})
    assert window.restorer.restore_settings_from(out)  # the photo (pasted then) stays; the regions go, undoably
    assert canvas.is_empty() and canvas.can_undo()
    assert window.style_list.weights() == [33, 100]
