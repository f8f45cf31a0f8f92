"""The artist's controls on the command line: --preserve-colors, --style-scale, several STYLE
images with --style-weights. What reaches the engine is checked with a spy; one real run each."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

import nst_desktop.engine as engine
from nst_desktop import cli
from nst_desktop.engine.image.images import read_metadata
from nst_desktop.engine.params import RunOptions
from tests.helpers import make_content, make_style


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    c, s1, s2 = tmp_path / "photo.png", tmp_path / "a.png", tmp_path / "b.png"
    make_content((96, 64)).save(c)
    make_style((80, 80)).save(s1)
    make_content((80, 80)).save(s2)
    return c, s1, s2


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    real = engine.stylize

    def spy(inputs, params, *args, **kwargs):
        seen.append({"inputs": inputs, "params": params, "kwargs": kwargs})
        params = dataclasses.replace(params, steps=1)
        return real(inputs, params, *args, **kwargs)

    monkeypatch.setattr(engine, "stylize", spy)
    return seen


def _run(*argv: str) -> int:
    return cli.main(["stylize", *argv, "--size", "32", "--steps", "1", "--quiet", "--device", "cpu"])


@pytest.mark.slow
def test_preserve_colors_and_style_scale_reach_the_engine(
    files: tuple[Path, Path, Path], tmp_path: Path, calls: list[dict[str, Any]]
) -> None:
    c, s1, _ = files
    out = tmp_path / "r.png"
    assert _run(str(c), str(s1), "-o", str(out), "--preserve-colors", "luminance", "--style-scale", "2.5") == 0
    p = calls[0]["params"]
    assert (p.preserve_colors, p.style_scale) == ("luminance", 2.5)
    meta = read_metadata(out)
    assert meta is not None
    assert meta["params"]["preserve_colors"] == "luminance" and meta["params"]["style_scale"] == 2.5
    assert meta["inputs"] == {"content": c.name, "styles": [s1.name]}  # file names only by default


@pytest.mark.slow
def test_defaults_leave_the_colours_alone(files: tuple[Path, Path, Path], tmp_path: Path,
                                          calls: list[dict[str, Any]]) -> None:
    c, s1, _ = files
    assert _run(str(c), str(s1), "-o", str(tmp_path / "r.png")) == 0
    p = calls[0]["params"]
    assert (p.preserve_colors, p.style_scale) == ("none", 1.0)
    inputs = calls[0]["inputs"]
    assert inputs.style_weights == (1.0,) and inputs.masks is None and inputs.keep_mask is None
    assert calls[0]["kwargs"] == {"options": RunOptions()}


@pytest.mark.slow
def test_several_styles_with_weights(files: tuple[Path, Path, Path], tmp_path: Path,
                                     calls: list[dict[str, Any]]) -> None:
    c, s1, s2 = files
    out = tmp_path / "r.png"
    assert _run(str(c), str(s1), str(s2), "-o", str(out), "--style-weights", "1,2") == 0
    inputs = calls[0]["inputs"]
    assert len(inputs.paintings) == 2 and inputs.style_weights == (1.0, 2.0)
    meta = read_metadata(out)
    assert meta is not None and meta["style_weights"] == [1.0, 2.0]
    assert len(meta["inputs"]["styles"]) == 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--style-weights", "1,x"], "separated by commas"), (["--style-weights", "0,0"], "at least one above 0"),
     (["--style-weights", "1,-1"], "0 or more"), (["--style-scale", "9"], "between 0.25 and 4"),
     (["--preserve-colors", "sepia"], "invalid choice")],
)
def test_bad_values_are_refused(files: tuple[Path, Path, Path], tmp_path: Path, extra: list[str], message: str,
                                capsys: pytest.CaptureFixture[str]) -> None:
    c, s1, _ = files
    with pytest.raises(SystemExit) as info:
        _run(str(c), str(s1), "-o", str(tmp_path / "r.png"), *extra)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_weights_count_must_match_the_styles(files: tuple[Path, Path, Path], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    c, s1, s2 = files
    assert _run(str(c), str(s1), str(s2), "-o", str(tmp_path / "r.png"), "--style-weights", "1,2,3") == 1
    assert "3 values but 2 STYLE images" in capsys.readouterr().err
