"""Contact sheets: a batch's results as one labelled grid image (Pillow only, no Qt, no torch).

Layout (:func:`grid_for`): one row per photo and one column per painting; a sweep of one
setting adds its values to the columns (painting x value), a sweep of two puts the first on the
rows (photo x value) and the second on the columns. So a single pair swept over 3 strengths x 2
brush scales is a 3 x 2 grid. Each cell is that item's result, scaled (up or down) to fit a square of
``cell_px`` px (aspect kept, centred); a failed or missing item's cell is grey and says so.

The sheet's metadata (``{"sheet": {"cells": [...]}}``, see :func:`save_sheet`) records each
cell's box (x0, y0, x1, y1 in px of the sheet) and result file, so that a click on the sheet can
be mapped to its result and settings (:func:`cell_at`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from nst_desktop.app_info import APP_NAME, APP_VERSION
from nst_desktop.engine import ImageError, load_image, save_image
from nst_desktop.services.batch import BatchItem, format_value

#: Default cell size (px, the long side of each result's thumbnail).
DEFAULT_CELL_PX = 192
MIN_CELL_PX, MAX_CELL_PX = 32, 1024
#: Font size of the labels (px) and the gap around cells (px).
FONT_PX = 13
GAP_PX = 6
BACKGROUND = (255, 255, 255)
EMPTY_CELL = (225, 225, 225)
TEXT = (20, 20, 20)


@dataclass(frozen=True)
class Cell:
    """One cell: the result file (None: no result) and a note shown instead ("failed", "not run")."""

    output: Path | None
    note: str = ""


@dataclass(frozen=True)
class Grid:
    """Row and column labels and the cells by (row, column) index; cells not given are empty."""

    rows: tuple[str, ...]
    cols: tuple[str, ...]
    cells: Mapping[tuple[int, int], Cell]


#: A cell as drawn: (row, column, cell, (x0, y0, x1, y1) px).
DrawnCell = tuple[int, int, Cell, tuple[int, int, int, int]]


def _stem(path: Path) -> str:
    return path.stem or path.name


def grid_for(entries: Sequence[tuple[BatchItem, Cell]]) -> Grid:
    """The grid of a batch's items with their cells, laid out as the module docstring says."""
    row_keys: list[tuple[Any, ...]] = []
    col_keys: list[tuple[Any, ...]] = []
    for item, _cell in entries:
        row, col = _keys(item)
        if row not in row_keys:
            row_keys.append(row)
        if col not in col_keys:
            col_keys.append(col)
    cells = {}
    for item, cell in entries:
        row, col = _keys(item)
        cells[(row_keys.index(row), col_keys.index(col))] = cell
    photos = {k[0] for k in row_keys}
    styles = {k[0] for k in col_keys}
    return Grid(tuple(_label(k, len(photos) > 1 or len(k) == 1) for k in row_keys),
                tuple(_label(k, len(styles) > 1 or len(k) == 1) for k in col_keys), cells)


def _keys(item: BatchItem) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    sweep = item.sweep
    row: tuple[Any, ...] = (item.photo,) + ((sweep[0],) if len(sweep) == 2 else ())
    col: tuple[Any, ...] = (item.style,) + ((sweep[-1],) if sweep else ())
    return row, col


def _label(key: tuple[Any, ...], with_file: bool) -> str:
    parts = [_stem(key[0])] if with_file else []
    parts += [f"{name} {format_value(value)}" for name, value in key[1:]]
    return " · ".join(parts)


def _font(px: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's own font (no system font needed) at ``px`` px; its bitmap font where FreeType is missing."""
    try:
        return ImageFont.load_default(size=px)
    except (TypeError, OSError, ImportError):  # Pillow without FreeType
        return ImageFont.load_default()


def _wrap(text: str, font: Any, width: int, max_lines: int) -> list[str]:
    """``text`` in lines of at most ``width`` px (at spaces; a word too long is cut), at most
    ``max_lines`` (the last ends with '…' when text was left out)."""
    words = text.split(" ")
    lines: list[str] = []
    current = ""
    for word in words:
        trial = f"{current} {word}".strip()
        if font.getlength(trial) <= width or not current:
            current = trial
        else:
            lines.append(current)
            current = word
    lines.append(current)
    cut = len(lines) > max_lines
    lines = lines[:max_lines]
    for i, line in enumerate(lines):
        last = i == len(lines) - 1
        if font.getlength(line) > width or (last and cut):
            while line and font.getlength(line + "…") > width:
                line = line[:-1]
            lines[i] = line + "…"
    return lines


def render_sheet(grid: Grid, cell_px: int = DEFAULT_CELL_PX) -> tuple[Image.Image, list[DrawnCell]]:
    """``(sheet image, cells)``: the grid drawn as an RGB image, and for each cell drawn its
    (row, column, cell, box) with box = (x0, y0, x1, y1) px. Results that cannot be read are
    drawn as empty cells saying so."""
    if not MIN_CELL_PX <= cell_px <= MAX_CELL_PX:
        raise ValueError(f"the cell size must be between {MIN_CELL_PX} and {MAX_CELL_PX} px, not {cell_px}")
    font = _font(FONT_PX)
    line_h = FONT_PX + 4
    label_w = max(cell_px * 3 // 4, 64)
    head_h = 2 * line_h + GAP_PX
    n_rows, n_cols = max(1, len(grid.rows)), max(1, len(grid.cols))
    width = label_w + n_cols * (cell_px + GAP_PX) + GAP_PX
    height = head_h + n_rows * (cell_px + GAP_PX) + GAP_PX
    sheet = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)

    def x0(c: int) -> int:
        return label_w + GAP_PX + c * (cell_px + GAP_PX)

    def y0(r: int) -> int:
        return head_h + r * (cell_px + GAP_PX)

    for c, text in enumerate(grid.cols):
        for i, line in enumerate(_wrap(text, font, cell_px, 2)):
            draw.text((x0(c), GAP_PX // 2 + i * line_h), line, fill=TEXT, font=font)
    for r, text in enumerate(grid.rows):
        lines = _wrap(text, font, label_w - GAP_PX, max(1, cell_px // line_h))
        top = y0(r) + (cell_px - len(lines) * line_h) // 2
        for i, line in enumerate(lines):
            draw.text((GAP_PX, top + i * line_h), line, fill=TEXT, font=font)
    drawn = []
    for (r, c), cell in sorted(grid.cells.items()):
        box = (x0(c), y0(r), x0(c) + cell_px, y0(r) + cell_px)
        note = cell.note
        thumb = None
        if cell.output is not None:
            try:
                thumb = load_image(cell.output)
            except ImageError:
                note = note or "cannot be read"
        if thumb is not None:
            scale = cell_px / max(thumb.size)  # fitted to the cell, larger or smaller
            thumb = thumb.resize((max(1, round(thumb.width * scale)), max(1, round(thumb.height * scale))),
                                 Image.Resampling.LANCZOS)
            sheet.paste(thumb, (box[0] + (cell_px - thumb.width) // 2, box[1] + (cell_px - thumb.height) // 2))
        else:
            draw.rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=EMPTY_CELL)
            for i, line in enumerate(_wrap(note or "no result", font, cell_px - 2 * GAP_PX, 3)):
                draw.text((box[0] + GAP_PX, box[1] + GAP_PX + i * line_h), line, fill=TEXT, font=font)
        drawn.append((r, c, cell, box))
    return sheet, drawn


def save_sheet(grid: Grid, path: Path, cell_px: int = DEFAULT_CELL_PX) -> Path:
    """Render the grid and save it to ``path`` (any type :func:`save_image` writes), with each
    cell's box and result file in its metadata. Raises ImageError naming the file."""
    image, drawn = render_sheet(grid, cell_px)
    cells = [{"row": r, "col": c, "box": list(box), "output": None if cell.output is None else str(cell.output),
              "note": cell.note} for r, c, cell, box in drawn]
    meta = {"program": APP_NAME, "version": APP_VERSION,
            "sheet": {"rows": list(grid.rows), "cols": list(grid.cols), "cell_px": cell_px, "cells": cells}}
    return save_image(image, path, meta)


def cell_at(sheet_meta: Mapping[str, Any] | None, x: int, y: int) -> dict[str, Any] | None:
    """The cell record of a saved sheet's metadata under the point (x, y) px, or None."""
    sheet = sheet_meta.get("sheet") if isinstance(sheet_meta, Mapping) else None
    cells = sheet.get("cells") if isinstance(sheet, Mapping) else None
    for cell in cells if isinstance(cells, list) else []:
        box = cell.get("box") if isinstance(cell, Mapping) else None
        if isinstance(box, list) and len(box) == 4 and box[0] <= x < box[2] and box[1] <= y < box[3]:
            return dict(cell)
    return None
