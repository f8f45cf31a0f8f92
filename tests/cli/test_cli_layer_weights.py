"""--layer-weights fine (the default) and even: parsed by stylize, batch and video, reach the engine,
are stored in the result and shown by ``info``; a stored value that is not a choice is refused with
one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from nst_desktop import cli
from nst_desktop.engine.image.images import METADATA_KEY, ImageError, read_metadata
from tests.helpers import make_content, make_style


@pytest.mark.parametrize("command", [["stylize", "a.png", "b.png", "-o", "o.png"],
                                     ["batch", "a.png", "--style", "b.png", "-o", "out"],
                                     ["video", "a.mp4", "b.png", "-o", "o.mp4"]])
def test_every_run_command_takes_the_choice(command: list[str]) -> None:
    parser = cli.build_parser()
    assert cli.run_params(parser.parse_args(command)).layer_weights == "fine"
    assert cli.run_params(parser.parse_args([*command, "--layer-weights", "even"])).layer_weights == "even"
    with pytest.raises(SystemExit):
        parser.parse_args([*command, "--layer-weights", "deep"])


def test_the_choice_reaches_the_engine_and_the_metadata(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    content, style = tmp_path / "c.png", tmp_path / "s.png"
    make_content((48, 32)).save(content)
    make_style((64, 64)).save(style)
    fine, even = tmp_path / "fine.png", tmp_path / "even.png"
    for out, flag in ((fine, []), (even, ["--layer-weights", "even"])):
        assert cli.main(["stylize", str(content), str(style), "-o", str(out), "--size", "48", "--steps", "3",
                         "--seed", "1", "--no-coarse-to-fine", "--device", "cpu", "--precision", "fp32", "--quiet",
                         *flag]) == 0
    assert read_metadata(fine)["params"]["layer_weights"] == "fine"  # type: ignore[index]
    assert read_metadata(even)["params"]["layer_weights"] == "even"  # type: ignore[index]
    # the weights change the objective, hence the result
    assert Image.open(fine).convert("RGB").tobytes() != Image.open(even).convert("RGB").tobytes()
    capsys.readouterr()
    assert cli.main(["info", str(even)]) == 0
    assert 'layer_weights="even"' in capsys.readouterr().out


def test_a_stored_value_that_is_not_a_choice_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "odd.png"
    info = PngInfo()
    info.add_itxt(METADATA_KEY, json.dumps({"program": "NST Desktop", "params": {"size": 64,
                                                                                "layer_weights": "deep"}}))
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    with pytest.raises(ImageError) as err:
        read_metadata(path)
    assert "layer weights" in str(err.value) and "'deep'" in str(err.value)
    assert cli.main(["info", str(path)]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "layer weights" in lines[0] and str(path) in lines[0]
