"""``nst-desktop-cli batch``: many photos x many paintings, sweeps and contact sheets, here or on Ray.

Exit status: 0 when every item succeeded (or was already done), 1 when any failed (each named on
its own line, then the count), 2 for bad arguments (a path that does not exist, unequal
``--pairs``, a bad ``--sweep``), 130 when interrupted (the item being painted is not written; a
rerun restarts it). Human-readable lines go to stderr; ``--json`` prints one JSON record per
finished item on stdout.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

from nst_desktop.cli.options import KEEP_PATHS_HELP, add_run_options, resolve_steps, run_params

PROG = "nst-desktop-cli batch"


def _sweep(text: str):  # noqa: ANN202 - argparse type
    from nst_desktop.services.batch import parse_sweep

    try:
        return parse_sweep(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(sub: Any) -> None:
    """Register ``batch`` on the subparsers ``sub``, with the shared run options. Imports nothing heavy
    (torch is imported when it runs)."""
    b = sub.add_parser("batch", help="paint many photos in the style of many paintings, with sweeps and a sheet",
                       description="Paint every photo in the style of every painting (or the given pairs), "
                       "writing <photo>-in-style-of-<painting>.png into OUTDIR. A rerun skips results whose "
                       "stored settings match.")
    b.add_argument("photos", type=Path, nargs="+", metavar="PHOTO_OR_FOLDER", help="photos, or folders of them")
    b.add_argument("--style", type=Path, nargs="+", action="extend", required=True, metavar="PAINTING_OR_FOLDER",
                   help="paintings, or folders of them")
    b.add_argument("-o", "--output-dir", type=Path, required=True, metavar="OUTDIR",
                   help="folder of the results (made if missing)")
    b.add_argument("--pairs", action="store_true",
                   help="the i-th photo with the i-th painting, instead of every combination")
    b.add_argument("--sweep", type=_sweep, action="append", default=[], metavar="NAME=V1,V2,...",
                   help="paint each item with each value of a setting (style-strength, style-scale, quality, "
                   "seed, preserve-colors, size); give two for a grid of their combinations")
    b.add_argument("--sheet", type=Path, default=None, metavar="SHEET.png",
                   help="also save a contact sheet: the results as a labelled grid (a bare name goes into OUTDIR)")
    b.add_argument("--cell-size", type=int, default=None, metavar="PX",
                   help="size of a contact sheet's cells in px (default 192)")
    b.add_argument("--force", action="store_true", help="paint again the items whose results exist")
    b.add_argument("--json", action="store_true", help="print one JSON record per finished item on stdout")
    b.add_argument("--keep-paths", action="store_true", help=KEEP_PATHS_HELP)
    b.add_argument("--ray", default=None, metavar="auto|ADDRESS",
                   help="run the items on a Ray cluster: 'auto' (the cluster of this machine, or a local one) "
                   "or its address (HOST:6379, ray://HOST:10001) with RAY_AUTH_MODE=token (a cluster's ports, "
                   "token and firewall: docs/cluster-security.md); needs pip install 'nst-desktop[farm]'")
    add_run_options(b)


def run(args: argparse.Namespace) -> int:
    """Run ``batch``: 0 when every item succeeded, 1 when any failed, 2 for bad arguments, 130 when interrupted."""
    from nst_desktop.engine import EngineError
    from nst_desktop.services import batch as B
    from nst_desktop.services.batch_run import Eta, Outcome, read_meta, run_local
    from nst_desktop.services.contact_sheet import (
        DEFAULT_CELL_PX,
        MAX_CELL_PX,
        MIN_CELL_PX,
        Cell,
        grid_for,
        save_sheet,
    )
    from nst_desktop.services.jobs import format_duration

    def bad(msg: str) -> int:
        print(f"{PROG}: error: {msg}", file=sys.stderr)
        return 2

    def say(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    if args.ray:
        from nst_desktop.services.farm import address_problem

        if address_problem(args.ray):
            return bad(address_problem(args.ray))
    cell_px = DEFAULT_CELL_PX if args.cell_size is None else args.cell_size
    if not MIN_CELL_PX <= cell_px <= MAX_CELL_PX:
        return bad(f"--cell-size must be between {MIN_CELL_PX} and {MAX_CELL_PX} px, not {cell_px}")
    try:
        params = run_params(args)
        params.validate()
    except ValueError as exc:
        return bad(str(exc))
    photos, problems = B.expand_inputs(args.photos, "photo")
    styles, style_problems = B.expand_inputs(args.style, "painting")
    problems += style_problems
    if problems:
        for line in problems:
            print(f"{PROG}: error: {line}", file=sys.stderr)
        return 2
    out_dir: Path = args.output_dir
    if out_dir.exists() and not out_dir.is_dir():
        return bad(f"-o '{out_dir}' is a file, not a folder")
    sheet = None
    if args.sheet is not None:
        sheet = args.sheet if args.sheet.parent != Path() else out_dir / args.sheet
        from nst_desktop.engine.image import SAVE_FORMATS

        if sheet.suffix.lower() not in SAVE_FORMATS:
            return bad(f"--sheet '{sheet}': unknown image type '{sheet.suffix or '(none)'}'; use .png, .jpg, .webp "
                       "or .tif")
    try:
        _, device = resolve_steps(params, args.quality)

        def steps_for(quality: str) -> int:
            return resolve_steps(dataclasses.replace(params, steps=0), quality)[0].steps

        items = B.plan_items(photos, styles, params, steps_for, args.quality, args.sweep, args.pairs,
                             keep_paths=args.keep_paths)
    except ValueError as exc:
        return bad(str(exc))
    except EngineError as exc:
        return bad(str(exc))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return bad(f"cannot make the folder '{out_dir}': {exc.strerror or exc}")
    from nst_desktop.services.output_file import folder_problem

    problem = folder_problem(out_dir)
    if problem:  # said now, not after the first item's minutes of painting
        return bad(problem)
    planned = B.assign_outputs(items, out_dir, read_meta, force=args.force)
    todo = [p.item for p in planned if not p.done]
    where = f"Ray ({args.ray})" if args.ray else str(device)
    say(f"{len(planned)} items ({len(photos)} photos x {len(styles)} paintings"
        f"{''.join(f' x {len(s.values)} {s.name}' for s in args.sweep)}{', pairs' if args.pairs else ''}): "
        f"{len(planned) - len(todo)} already done, {len(todo)} to paint on {where}")

    start = time.perf_counter()
    eta = Eta(todo, start)
    counter = {"n": 0}
    outcomes: list[Outcome] = []

    def on_outcome(o: Outcome) -> None:
        outcomes.append(o)
        if o.skipped:
            if args.json:
                _emit({**B.item_record(o.planned.item, o.planned.output, 0.0), "skipped": True})
            return
        counter["n"] += 1
        eta.finished(o.planned.item, o.ok)
        left = eta.seconds_left(time.perf_counter())
        tail = f"; about {format_duration(left)} left" if left is not None and counter["n"] < len(todo) else ""
        if o.ok:
            say(f"[{counter['n']}/{len(todo)}] wrote {o.planned.output} ({o.seconds:.1f} s{tail})")
            if args.json:
                _emit({**B.item_record(o.planned.item, o.planned.output, o.seconds), "skipped": False})
        else:
            print(f"{PROG}: failed: {o.message}", file=sys.stderr, flush=True)
            if tail:
                say(f"[{counter['n']}/{len(todo)}] failed{tail}")

    if args.ray:
        from nst_desktop.services.farm import FarmUnavailable, run_ray

        try:
            run_ray(planned, args.ray, on_outcome)
        except FarmUnavailable as exc:
            print(f"{PROG}: error: {exc}", file=sys.stderr)
            return 1
    else:
        run_local(planned, on_outcome)
    failed = sum(1 for o in outcomes if not o.ok)
    made = sum(1 for o in outcomes if o.ok and not o.skipped)
    say(f"{len(planned)} items: {made} painted, {len(planned) - len(todo)} already done, {failed} failed, "
        f"in {format_duration(time.perf_counter() - start)}")
    sheet_failed = False
    if sheet is not None:
        order = {id(p): i for i, p in enumerate(planned)}
        entries = [(o.planned.item, Cell(o.planned.output if o.ok else None, "" if o.ok else "failed"))
                   for o in sorted(outcomes, key=lambda o: order[id(o.planned)])]
        try:
            save_sheet(grid_for(entries), sheet, cell_px)
            say(f"wrote the contact sheet {sheet}")
        except EngineError as exc:
            print(f"{PROG}: failed: the contact sheet: {exc}", file=sys.stderr)
            sheet_failed = True
    if failed or sheet_failed:
        what = f"{failed} of {len(planned)} items failed" if failed else "the contact sheet failed"
        print(f"{PROG}: {what}", file=sys.stderr)
        return 1
    return 0


def _emit(record: dict[str, Any]) -> None:
    print(json.dumps(record, sort_keys=True, default=str), flush=True)
