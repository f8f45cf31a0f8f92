"""Contact sheets: layout of photos x paintings and of sweeps, cells that are the results, the cell map."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from nst_desktop.engine import StyleParams, read_metadata
from nst_desktop.services import batch as B
from nst_desktop.services.contact_sheet import EMPTY_CELL, Cell, cell_at, grid_for, render_sheet, save_sheet


def _steps(quality: str) -> int:
    return 10


def _inputs(tmp_path: Path, n_photos: int, n_styles: int) -> tuple[list[Path], list[Path]]:
    photos = [tmp_path / f"photo{i}.png" for i in range(n_photos)]
    styles = [tmp_path / f"paint{i}.png" for i in range(n_styles)]
    for p in photos + styles:
        Image.new("RGB", (8, 8)).save(p)
    return photos, styles


def _solid(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> Path:
    Image.new("RGB", size, colour).save(path)
    return path


def test_photos_by_paintings_with_each_cell_its_result(tmp_path) -> None:
    photos, styles = _inputs(tmp_path, 2, 3)
    items = B.plan_items(photos, styles, StyleParams(steps=5), _steps)
    colours = {}
    entries = []
    for k, item in enumerate(items):
        colour = (40 * k % 256, 255 - 30 * k, 17 * k)
        colours[(item.photo, item.style)] = colour
        cell = Cell(_solid(tmp_path / f"r{k}.png", colour)) if k != 4 else Cell(None, "failed")
        entries.append((item, cell))
    grid = grid_for(entries)
    assert grid.rows == ("photo0", "photo1") and grid.cols == ("paint0", "paint1", "paint2")
    sheet, drawn = render_sheet(grid, cell_px=64)
    assert len(drawn) == 6
    for r, c, cell, (x0, y0, x1, y1) in drawn:
        assert (x1 - x0, y1 - y0) == (64, 64)
        centre = sheet.getpixel(((x0 + x1) // 2, (y0 + y1) // 2))
        expected = EMPTY_CELL if cell.output is None else colours[(photos[r], styles[c])]
        assert centre == expected, (r, c)
    assert sheet.width > 3 * 64 and sheet.height > 2 * 64


def test_a_sweep_of_two_settings_is_a_grid_of_their_values(tmp_path) -> None:
    photos, styles = _inputs(tmp_path, 1, 1)
    sweeps = [B.parse_sweep("style-strength=0.5,1,2"), B.parse_sweep("style-scale=0.5,1")]
    items = B.plan_items(photos, styles, StyleParams(steps=5), _steps, sweeps=sweeps)
    grid = grid_for([(item, Cell(_solid(tmp_path / f"s{k}.png", (k * 30, 0, 0)))) for k, item in enumerate(items)])
    assert grid.rows == ("style-strength 0.5", "style-strength 1", "style-strength 2")
    assert grid.cols == ("style-scale 0.5", "style-scale 1")
    assert set(grid.cells) == {(r, c) for r in range(3) for c in range(2)}
    one = grid_for([(item, Cell(None)) for item in B.plan_items(photos, styles, StyleParams(steps=5), _steps,
                                                                sweeps=sweeps[:1])])
    assert one.rows == ("photo0",) and one.cols == ("style-strength 0.5", "style-strength 1", "style-strength 2")


def test_the_saved_sheet_maps_a_point_to_its_cells_result(tmp_path) -> None:
    photos, styles = _inputs(tmp_path, 2, 1)
    items = B.plan_items(photos, styles, StyleParams(steps=5), _steps)
    results = [_solid(tmp_path / f"r{k}.png", (200, 10 * k, 0), (30, 60)) for k in range(2)]
    grid = grid_for([(item, Cell(path)) for item, path in zip(items, results)])
    path = save_sheet(grid, tmp_path / "sheet.png", cell_px=48)
    meta = read_metadata(path)
    cells = meta["sheet"]["cells"]
    assert [c["output"] for c in cells] == [str(p) for p in results]
    x0, y0, x1, y1 = cells[1]["box"]
    assert cell_at(meta, (x0 + x1) // 2, (y0 + y1) // 2)["output"] == str(results[1])
    assert cell_at(meta, 0, 0) is None and cell_at(None, 1, 1) is None
    with Image.open(path) as img:
        assert img.getpixel(((x0 + x1) // 2, (y0 + y1) // 2)) == (200, 10, 0)


def test_a_result_that_vanished_is_an_empty_cell_saying_so(tmp_path) -> None:
    photos, styles = _inputs(tmp_path, 1, 1)
    item = B.plan_items(photos, styles, StyleParams(steps=5), _steps)[0]
    sheet, drawn = render_sheet(grid_for([(item, Cell(tmp_path / "gone.png"))]), cell_px=64)
    x0, y0, _, _ = drawn[0][3]
    assert sheet.getpixel((x0 + 60, y0 + 60)) == EMPTY_CELL
