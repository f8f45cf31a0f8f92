"""``nst-desktop-cli stylize CONTENT STYLE... -o OUT``: paint one photo."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from nst_desktop.cli.options import KEEP_PATHS_HELP, add_run_options, resolve_steps, run_params, weights_list
from nst_desktop.engine import params as P


def add_parser(sub: Any) -> None:
    """Register ``stylize`` on the subparsers ``sub``."""
    st = sub.add_parser("stylize", help="paint CONTENT in the style of STYLE")
    st.add_argument("content", type=Path, help="the photo")
    st.add_argument("style", type=Path, nargs="+", metavar="STYLE",
                    help="the painting; give several to blend their styles (see --style-weights)")
    st.add_argument("-o", "--output", type=Path, required=True, help="output file (.png .jpg .webp .tif)")
    st.add_argument("--bit-depth", type=int, choices=(8, 16), default=8,
                    help="bits per channel of a TIFF output (16: a 16-bit TIFF with the sRGB profile, for print)")
    add_run_options(st)
    st.add_argument("--style-weights", type=weights_list, default=None, metavar="W1,W2,...",
                    help="relative weights of the STYLE images, one per image (default: equal)")
    st.add_argument("--mask", type=Path, action="append", default=None, metavar="PATH",
                    help="where to paint each STYLE: one image per STYLE, in their order (white = paint this "
                    "style here, black = not; resized to the content). Pixels no mask covers keep the photo")
    st.add_argument("--keep-mask", type=Path, default=None, metavar="PATH",
                    help="where to keep the photo unchanged (white = keep; resized to the content)")
    st.add_argument("--masks-from", type=Path, default=None, metavar="IMAGE",
                    help="reuse the regions (style masks and keep mask) stored in an earlier result; "
                    "not with --mask or --keep-mask")
    st.add_argument("--keep-paths", action="store_true", help=KEEP_PATHS_HELP)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from nst_desktop.engine import (
        EngineError,
        RunOptions,
        StyleInputs,
        load_image,
        load_weights,
        save_image,
        stylize,
    )
    from nst_desktop.engine.fit import stylize_fitting
    from nst_desktop.engine.image import SAVE_FORMATS, save_tiff16
    from nst_desktop.engine.provenance import stored_path
    from nst_desktop.services.output_file import folder_problem, output_problem, save_or_keep

    def fail(msg: str) -> int:
        print(f"nst-desktop-cli: error: {msg}", file=sys.stderr)
        return 1

    if args.output.suffix.lower() not in SAVE_FORMATS:
        return fail(f"'{args.output}': unknown output type '{args.output.suffix or '(none)'}'; "
                    "use .png, .jpg, .webp or .tif")
    if args.bit_depth == 16 and args.output.suffix.lower() not in (".tif", ".tiff"):
        return fail(f"'{args.output}': 16 bits per channel are written as TIFF only (.tif or .tiff)")
    if not args.output.parent.resolve().is_dir():
        return fail(f"cannot write '{args.output}': the folder '{args.output.parent}' does not exist")
    problem = output_problem(args.output, _inputs(args)) or folder_problem(args.output.parent)
    if problem:  # said now, not after minutes of painting
        return fail(problem)
    try:
        params = run_params(args)
    except ValueError as exc:
        return fail(str(exc))
    init = params.init
    if args.style_weights is not None and len(args.style_weights) != len(args.style):
        return fail(f"--style-weights has {len(args.style_weights)} values but {len(args.style)} STYLE images "
                    "were given")
    if args.masks_from is not None and (args.mask is not None or args.keep_mask is not None):
        return fail("--masks-from cannot be combined with --mask or --keep-mask")
    if args.mask is not None and len(args.mask) != len(args.style):
        return fail(f"{len(args.mask)} --mask files but {len(args.style)} STYLE images were given: "
                    "give one mask per style, in the same order")
    cancel = threading.Event()
    bar: tqdm | None = None
    try:
        params, device = resolve_steps(params, args.quality)
        if init not in P.INITS:
            load_image(init)
        content = load_image(args.content)
        styles = [load_image(path) for path in args.style]
        regions: dict[str, object] = {}
        if args.mask is not None:
            regions["masks"] = [_load_mask(path, "--mask") for path in args.mask]
        if args.keep_mask is not None:
            regions["keep_mask"] = _load_mask(args.keep_mask, "--keep-mask")
        if args.masks_from is not None:
            regions = _stored_masks(args.masks_from, len(args.style))
        bar = None if args.quiet else tqdm(total=params.steps, unit="step", dynamic_ncols=True)

        def progress(done: int, total: int | None) -> None:
            if bar is not None and total:
                bar.set_description(f"downloading weights {done * 100 // total}%")

        weights = load_weights(params.weights, progress=progress)

        def on_progress(p: P.Progress) -> None:
            if bar is None or p.phase != "optimise":
                return
            bar.total = p.total
            bar.n = p.step
            h, w = p.size_hw
            bar.set_description(f"size {w}x{h} ({p.stage + 1}/{p.stages})", refresh=False)
            if p.tiles:  # a print size: a step takes a while, so show its tiles
                bar.set_postfix(loss=f"{p.loss:.4g}", tile=f"{p.tile}/{p.tiles}", refresh=False)
            else:
                bar.set_postfix(loss=f"{p.loss:.4g}", refresh=False)
            bar.refresh()

        # Signal handlers can only be set from the main thread (main() may run in another).
        in_main = threading.current_thread() is threading.main_thread()
        previous = signal.getsignal(signal.SIGINT) if in_main else None

        def on_sigint(signum: int, frame: object) -> None:
            cancel.set()
            signal.signal(signal.SIGINT, previous)  # a second Ctrl+C aborts at once

        if in_main:
            signal.signal(signal.SIGINT, on_sigint)
        try:
            inputs = StyleInputs(content, styles, args.style_weights, **regions)  # type: ignore[arg-type]

            def on_retry(message: str, size: int) -> None:
                if bar is not None:
                    bar.write(message, file=sys.stderr)
                else:
                    print(message, file=sys.stderr)

            result = stylize_fitting(inputs, params, weights, on_progress, cancel, on_retry=on_retry, run=stylize,
                                     options=RunOptions(keep_pixels=args.bit_depth == 16))
        finally:
            if in_main:
                signal.signal(signal.SIGINT, previous)
        if bar is not None:
            bar.close()
            bar = None
        keep = args.keep_paths
        result.metadata["inputs"] = {"content": stored_path(args.content, keep),
                                     "styles": [stored_path(p, keep) for p in args.style]}
        if args.mask is not None:
            result.metadata["inputs"]["masks"] = [stored_path(p, keep) for p in args.mask]
        if args.keep_mask is not None:
            result.metadata["inputs"]["keep_mask"] = stored_path(args.keep_mask, keep)
        if args.masks_from is not None:
            result.metadata["inputs"]["masks_from"] = stored_path(args.masks_from, keep)
        def save(path: Path) -> None:
            if result.pixels16 is not None:
                save_tiff16(result.pixels16, path, result.metadata)
            else:
                save_image(result.image, path, result.metadata)

        saved = save_or_keep(save, args.output)  # a failed save keeps the result elsewhere
    except BaseException as exc:
        if bar is not None:  # clear the unfinished bar, so that the message gets a line of its own
            bar.leave = False
            bar.close()
        if isinstance(exc, (EngineError, ValueError)):
            return fail(str(exc))
        raise
    note = " (cancelled: best image so far)" if result.cancelled else ""
    if saved.problem is not None:
        return fail(saved.note(args.output))
    w, h = result.image.size
    print(f"wrote {args.output} ({w}x{h}, {result.steps_done} steps, {result.elapsed_s:.1f} s, "
          f"seed {result.metadata['params']['seed']}, {result.metadata['precision_used']} on {device}){note}")
    return 0


def _inputs(args: argparse.Namespace) -> list[tuple[str, Path]]:
    """The files ``stylize`` reads, as ``(what, path)`` for :func:`output_problem`."""
    inputs = [("the photo", args.content), *(("a painting", p) for p in args.style)]
    inputs += [("a mask", p) for p in args.mask or ()]
    inputs += [(f"the {what}", p) for what, p in (("keep mask", args.keep_mask), ("--masks-from image",
                                                  args.masks_from)) if p is not None]
    if args.init not in P.INITS:
        inputs.append(("the --init image", Path(args.init)))
    return inputs


def _load_mask(path: Path, option: str):  # noqa: ANN202 - Pillow is imported lazily
    """A mask image file as a grey Pillow image; a bad file raises ImageError naming the option and the file."""
    from nst_desktop.engine import ImageError, load_image

    try:
        return load_image(path).convert("L")
    except ImageError as exc:
        raise ImageError(f"{option}: {exc}") from None


def _stored_masks(path: Path, n_styles: int) -> dict[str, object]:
    """The ``masks`` / ``keep_mask`` of :class:`StyleInputs` from the regions stored in the result
    ``path``. Raises ValueError (or ImageError) naming --masks-from and the file."""
    from nst_desktop.engine import ImageError, read_metadata
    from nst_desktop.engine.errors import quoted
    from nst_desktop.engine.provenance import masks_from_metadata

    where = f"--masks-from {quoted(path)}"
    try:
        meta = read_metadata(path)
        masks, keep = masks_from_metadata(meta or {})
    except ImageError as exc:
        raise ImageError(f"--masks-from: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    if masks is None and keep is None:
        raise ValueError(f"{where}: the image holds no regions")
    if masks is not None and len(masks) != n_styles:
        raise ValueError(f"{where}: the image holds {len(masks)} style masks but {n_styles} STYLE images "
                         "were given")
    regions: dict[str, object] = {}
    if masks is not None:
        regions["masks"] = masks
    if keep is not None:
        regions["keep_mask"] = keep
    return regions


