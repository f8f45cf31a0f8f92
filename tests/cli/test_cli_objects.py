"""--leave-out-objects (the default) and --no-leave-out-objects: parsed by stylize, batch and video, reach
the engine, are stored in the result and shown by ``info``; a stored value that is not true or false is
refused with one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from nst_desktop import cli
from nst_desktop.engine.image.images import ImageError, read_metadata
from tests.cli.helpers import info_refusal, result_with_params, stylize_small
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
        stylize_small(content, style, out, *flag)
    assert read_metadata(on)["params"]["leave_out_objects"] is True  # type: ignore[index]
    assert read_metadata(off)["params"]["leave_out_objects"] is False  # type: ignore[index]
    # the option changes the targets, hence the result
    assert Image.open(on).convert("RGB").tobytes() != Image.open(off).convert("RGB").tobytes()
    capsys.readouterr()
    assert cli.main(["info", str(on)]) == 0
    assert "leave_out_objects=true" in capsys.readouterr().out


def test_a_stored_value_that_is_not_a_bool_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = result_with_params(tmp_path / "odd.png", {"size": 64, "leave_out_objects": "yes"})
    with pytest.raises(ImageError) as err:
        read_metadata(path)
    assert "leave_out_objects" in str(err.value) and "true or false" in str(err.value)
    line = info_refusal(path, capsys)
    assert "leave_out_objects" in line and str(path) in line
