"""``nst-desktop-cli bench``: an engine step against the bare network, whole runs, memory."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from nst_desktop.cli.options import positive_int
from nst_desktop.engine import params as P


def add_parser(sub: Any) -> None:
    """Register ``bench`` on the subparsers ``sub``."""
    d = P.StyleParams()  # the defaults
    b = sub.add_parser("bench", help="time an engine step against a bare VGG19 forward+backward")
    b.add_argument("--device", default=d.device)
    b.add_argument("--size", type=positive_int(P.MIN_SIZE, P.MAX_SIZE, "--size"), action="append",
                   help="long side(s) to measure (default 256 and 512)")
    b.add_argument("--steps", type=positive_int(2, 1000, "--steps"), default=5, help="timed steps per size")
    b.add_argument("--repeat", type=positive_int(1, 100, "--repeat"), default=3,
                   help="measure the bare and the engine step this many times, alternately, and print "
                        "the medians (default 3; a machine's speed can drift between measurements)")
    b.add_argument("--preset", choices=sorted(P.QUALITY_PRESETS), action="append",
                   help="also time a whole run with this quality preset (repeatable)")
    b.add_argument("--reference", action="store_true",
                   help="also run the slow reference (single-size L-BFGS, 300 steps) and compare losses")
    b.add_argument("--optimizer", choices=P.OPTIMIZERS, default=d.optimizer)
    b.add_argument("--precision", choices=P.PRECISIONS, action="append",
                   help=f"precision(s) to measure, repeatable (default {d.precision})")
    b.add_argument("--start-size", type=positive_int(P.MIN_SIZE, P.MAX_SIZE, "--start-size"), action="append",
                   help="first size(s) of the coarse-to-fine schedule for whole runs, repeatable")
    b.add_argument("--content", help="photo for whole runs (default: a generated image)")
    b.add_argument("--style", help="painting for whole runs (default: a generated image)")


def run(args: argparse.Namespace) -> int:
    from nst_desktop.engine import EngineError, load_image
    from nst_desktop.engine.device import resolve_device
    from nst_desktop.engine.measure import run_bench

    if bool(args.content) != bool(args.style):
        print("nst-desktop-cli bench: error: --content and --style must be given together", file=sys.stderr)
        return 2
    try:
        resolve_device(args.device)
        for path in (args.content, args.style):
            if path:
                load_image(path)
        return run_bench(args.device, args.size or [256, 512], args.steps, args.optimizer, args.preset,
                         args.reference, args.precision or [P.StyleParams().precision], args.content, args.style,
                         args.start_size, repeat=args.repeat)
    except (EngineError, ValueError) as exc:
        print(f"nst-desktop-cli: error: {exc}", file=sys.stderr)
        return 1


