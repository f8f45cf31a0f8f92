"""--layer-weights fine (the default) and even: parsed by stylize, batch and video, reach the engine,
are stored in the result and shown by ``info``; a stored value that is not a choice is refused with
one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from nst_desktop import cli
from nst_desktop.engine.image.images import ImageError, read_metadata
from tests.cli.helpers import info_refusal, result_with_params, stylize_small
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
        stylize_small(content, style, out, *flag)
    assert read_metadata(fine)["params"]["layer_weights"] == "fine"  # type: ignore[index]
    assert read_metadata(even)["params"]["layer_weights"] == "even"  # type: ignore[index]
    # the weights change the objective, hence the result
    assert Image.open(fine).convert("RGB").tobytes() != Image.open(even).convert("RGB").tobytes()
    capsys.readouterr()
    assert cli.main(["info", str(even)]) == 0
    assert 'layer_weights="even"' in capsys.readouterr().out


def test_a_stored_value_that_is_not_a_choice_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = result_with_params(tmp_path / "odd.png", {"size": 64, "layer_weights": "deep"})
    with pytest.raises(ImageError) as err:
        read_metadata(path)
    assert "layer weights" in str(err.value) and "'deep'" in str(err.value)
    line = info_refusal(path, capsys)
    assert "layer weights" in line and str(path) in line
