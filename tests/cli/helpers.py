"""Helpers of the command-line tests: a small stylize run, a result with given settings, the line a
refused result gets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from nst_desktop import cli
from nst_desktop.engine.image.images import METADATA_KEY

#: A small, quick and repeatable stylize run (48 px, 3 steps, one size, float32 on the CPU).
SMALL_RUN = ["--size", "48", "--steps", "3", "--seed", "1", "--no-coarse-to-fine", "--device", "cpu",
             "--precision", "fp32", "--quiet"]


def stylize_small(content: Path, style: Path, out: Path, *options: str) -> None:
    """Paint ``content`` in the style of ``style`` into ``out`` with :data:`SMALL_RUN` and ``options``."""
    assert cli.main(["stylize", str(content), str(style), "-o", str(out), *SMALL_RUN, *options]) == 0


def result_with_params(path: Path, params: dict[str, object]) -> Path:
    """An 8 x 8 PNG at ``path`` whose metadata holds the run settings ``params``."""
    info = PngInfo()
    info.add_itxt(METADATA_KEY, json.dumps({"program": "NST Desktop", "params": params}))
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    return path


def info_refusal(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """The one line ``info`` prints, exiting 1, for a result whose metadata it refuses."""
    assert cli.main(["info", str(path)]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]
