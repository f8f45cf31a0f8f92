"""The command line's print-size options: --tile, --memory-limit, --seamless, and the refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from nst_desktop import cli
from tests.helpers import make_content, make_style


def test_print_size_options_reach_the_run() -> None:
    args = cli.build_parser().parse_args(["stylize", "a.png", "b.png", "-o", "o.png",
                                          "--tile", "512", "--memory-limit", "6000", "--seamless"])
    params = cli.run_params(args)
    assert (params.tile, params.memory_limit_mb, params.seamless) == (512, 6000, True)
    defaults = cli.run_params(cli.build_parser().parse_args(["stylize", "a.png", "b.png", "-o", "o.png"]))
    assert (defaults.tile, defaults.memory_limit_mb, defaults.seamless) == (0, 0, False)


@pytest.mark.parametrize("tile", ["100", "32", "abc"])
def test_a_bad_tile_size_is_one_line_and_status_2(tile: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.build_parser().parse_args(["stylize", "a.png", "b.png", "-o", "o.png", "--tile", tile])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--tile" in err[0]


def test_a_size_that_cannot_fit_is_refused_with_the_size_that_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content, style, out = tmp_path / "c.png", tmp_path / "s.png", tmp_path / "o.png"
    make_content((96, 64)).save(content)
    make_style().save(style)
    rc = cli.main(["stylize", str(content), str(style), "-o", str(out), "--size", "4096", "--memory-limit", "300",
                   "--device", "cpu", "--quiet"])
    assert rc == 1
    assert "4096 px does not fit in 300 MB of memory, even in tiles. About" in capsys.readouterr().err
    assert not out.exists()
