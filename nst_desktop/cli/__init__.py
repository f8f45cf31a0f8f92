"""Command line: ``nst-desktop-cli stylize|batch|video|info|bench``. Uses the same engine as the window.

One module per command (``add_parser`` and ``run``), the shared run options in :mod:`.options`, the parser and
dispatch in :mod:`.commands`."""

from nst_desktop.cli.commands import build_parser, main
from nst_desktop.cli.options import run_params

__all__ = ["build_parser", "main", "run_params"]
