"""The command line's parser and dispatch: ``nst-desktop-cli stylize|batch|video|info|bench``.

Each command is a module of this package with ``add_parser(sub)`` and ``run(args) -> exit status``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from nst_desktop.app_info import APP_NAME, APP_VERSION
from nst_desktop.cli import batch, bench, info, stylize, video
from nst_desktop.cli.options import Parser

#: The commands in the order ``--help`` lists them.
COMMANDS = {"stylize": stylize, "batch": batch, "video": video, "info": info, "bench": bench}


def build_parser() -> argparse.ArgumentParser:
    """The command line. Defaults, choices and limits of the settings are StyleParams' and
    those of :mod:`nst_desktop.engine.params` (one definition each)."""
    parser = Parser(prog="nst-desktop-cli", description=f"{APP_NAME} {APP_VERSION}: neural style transfer.")
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {APP_VERSION}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS.values():
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command].run(args)
    except KeyboardInterrupt:
        print("nst-desktop-cli: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of the output went away (`... | head`): not an error. Python would report the
        # failed flush of stdout at exit, so stdout goes to /dev/null from here on.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
