"""--leave-out-objects (the default) and --no-leave-out-objects: parsed by stylize, batch and video, reach
the engine, are stored in the result and shown by ``info``; a stored value that is not true or false is
refused with one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from nst_desktop import cli
from nst_desktop.engine.image.images import METADATA_KEY, ImageError, read_metadata
from tests.helpers import make_content, make_one_off_painting


@pytest.mark.parametrize("command", [["stylize", "a.png", "b.png", "-o", "o.png"],
                                     ["batch", "a.png", "--style", "b.png", "-o", "out"],
                                     ["video", "a.mp4", "b.png", "-o", "o.mp4"]])
def test_every_run_command_takes_the_flag(command: list[str]) -> None:
    parser = cli.build_parser()
    assert cli.run_params(parser.parse_args([*command, "--leave-out-objects"])).leave_out_objects is True
    assert cli.run_params(parser.parse_args(command)).leave_out_objects is True
    assert cli.run_params(parser.parse_args([*command, "--no-leave-out-objects"])).leave_out_objects is False


def test_the_flag_reaches_the_engine_and_the_metadata(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    content, style = tmp_path / "c.png", tmp_path / "s.png"
    make_content((48, 32)).save(content)
    make_one_off_painting((64, 64)).save(style)
    on, off = tmp_path / "on.png", tmp_path / "off.png"
    for out, flag in ((on, []), (off, ["--no-leave-out-objects"])):
        assert cli.main(["stylize", str(content), str(style), "-o", str(out), "--size", "48", "--steps", "3",
                         "--seed", "1", "--no-coarse-to-fine", "--device", "cpu", "--precision", "fp32", "--quiet",
                         *flag]) == 0
    assert read_metadata(on)["params"]["leave_out_objects"] is True  # type: ignore[index]
    assert read_metadata(off)["params"]["leave_out_objects"] is False  # type: ignore[index]
    # the option changes the targets, hence the result
    assert Image.open(on).convert("RGB").tobytes() != Image.open(off).convert("RGB").tobytes()
    capsys.readouterr()
    assert cli.main(["info", str(on)]) == 0
    assert "leave_out_objects=true" in capsys.readouterr().out


def test_a_stored_value_that_is_not_a_bool_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "odd.png"
    info = PngInfo()
    info.add_itxt(METADATA_KEY, json.dumps({"program": "NST Desktop", "params": {"size": 64,
                                                                                "leave_out_objects": "yes"}}))
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    with pytest.raises(ImageError) as err:
        read_metadata(path)
    assert "leave_out_objects" in str(err.value) and "true or false" in str(err.value)
    assert cli.main(["info", str(path)]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "leave_out_objects" in lines[0] and str(path) in lines[0]
