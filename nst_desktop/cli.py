"""Command line: ``nst-desktop-cli stylize|info|bench``. Uses the same engine as the GUI."""

from __future__ import annotations

import argparse
import dataclasses
import math
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from nst_desktop.app_info import APP_NAME, APP_VERSION
from nst_desktop.cli_batch import add_batch_parser, cmd_batch
from nst_desktop.cli_video import add_video_parser, cmd_video
from nst_desktop.engine import params as P


def _bound(value: float) -> str:
    """A range's end as people write it: 8192, 0.01, 1e+07 (not 8192.0 or 10000000.0)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _ranged(kind: type[int] | type[float], lo: float, hi: float, what: str) -> Callable[[str], float]:
    """argparse type: parse ``kind`` and require ``lo <= value <= hi`` (NaN and Inf are out of range).

    The one range check of every subcommand's numeric options (stylize, batch, video)."""
    noun = "a whole number" if kind is int else "a number"

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be {noun}, not {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{what} must be between {_bound(lo)} and {_bound(hi)}, not {value}")
        return value

    return parse


def _positive_int(lo: int, hi: int, what: str) -> Callable[[str], float]:
    return _ranged(int, lo, hi, what)


def _float_range(lo: float, hi: float, what: str) -> Callable[[str], float]:
    return _ranged(float, lo, hi, what)


def _weights_list(text: str) -> list[float]:
    """argparse type: comma-separated finite numbers >= 0 ("1,2")."""
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--style-weights must be numbers separated by commas, not {text!r}") from None
    if any(not math.isfinite(v) or v < 0 for v in values) or sum(values) <= 0:
        raise argparse.ArgumentTypeError(
            f"--style-weights must be 0 or more with at least one above 0, not {text!r}"
        )
    return values


def _tile_size(text: str) -> int:
    """argparse type: a tile side in px, a multiple of 16 between the engine's limits."""
    value = int(_positive_int(P.MIN_TILE, P.MAX_TILE, "--tile")(text))
    if value % P.TILE_MULTIPLE:
        raise argparse.ArgumentTypeError(f"--tile must be a multiple of {P.TILE_MULTIPLE} px, not {value}")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line and exits with status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options of one run (size, strength, quality, ..., --quiet), shared by ``stylize`` and ``batch``;
    :func:`run_params` turns them into StyleParams."""
    d = P.StyleParams()  # the defaults
    parser.add_argument("--size", type=_positive_int(P.MIN_SIZE, P.MAX_SIZE, "--size"), default=d.size,
                    help=f"long side of the output in px (default {d.size})")
    parser.add_argument("--style-strength", type=_float_range(P.MIN_STYLE_STRENGTH, P.MAX_STYLE_STRENGTH,
                    "--style-strength"), default=d.style_strength,
                    help=f"style weight, log scale; {d.style_strength:g} is the default look")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--steps", type=_positive_int(P.MIN_STEPS, P.MAX_STEPS, "--steps"),
                       help="total loss evaluations over all sizes")
    group.add_argument("--quality", choices=sorted(P.QUALITY_PRESETS), default=P.DEFAULT_QUALITY,
                       help=f"step budget preset (default {P.DEFAULT_QUALITY}): fast/balanced/best are "
                       f"{'/'.join(str(n) for n in P.CPU_QUALITY_PRESETS.values())} steps on a CPU with "
                       f"native bfloat16, {'/'.join(str(n) for n in P.CPU_FP32_QUALITY_PRESETS.values())} "
                       f"on other CPUs (float32), {'/'.join(str(n) for n in P.QUALITY_PRESETS.values())} on a GPU")
    parser.add_argument("--optimizer", choices=P.OPTIMIZERS, default=d.optimizer)
    parser.add_argument("--precision", choices=P.PRECISIONS, default=d.precision,
                    help="the network's number format (default auto: bfloat16 where the CPU or GPU runs it "
                         "natively, else float32; fp32 forces float32)")
    parser.add_argument("--init", default=d.init, help=f"{', '.join(P.INITS)}, or the path of a start image "
                    f"(default {d.init})")
    parser.add_argument("--seed", type=_positive_int(0, P.MAX_SEED, "--seed"), default=d.seed)
    parser.add_argument("--device", default=d.device, help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--weights", default=d.weights, help="bundled, torchvision, or a weights file")
    parser.add_argument("--pooling", choices=P.POOLINGS, default=d.pooling)
    parser.add_argument("--tv-weight", type=_float_range(P.MIN_TV_WEIGHT, P.MAX_TV_WEIGHT, "--tv-weight"),
                    default=d.tv_weight)
    parser.add_argument("--no-coarse-to-fine", action="store_false", dest="coarse_to_fine", default=d.coarse_to_fine,
                    help="optimise only at the final size")
    parser.add_argument("--preserve-colors", choices=P.PRESERVE_COLORS, default=d.preserve_colors,
                    help="keep the photo's colours: 'luminance' transfers the style on brightness only; "
                    f"'match' first gives the painting the photo's colour mean and covariance "
                    f"(default {d.preserve_colors})")
    parser.add_argument("--style-scale", type=_float_range(P.MIN_STYLE_SCALE, P.MAX_STYLE_SCALE, "--style-scale"),
                    default=d.style_scale, help="size of the painting's brush strokes: the painting's long side "
                    f"relative to the output's ({P.MIN_STYLE_SCALE:g}-{P.MAX_STYLE_SCALE:g}, "
                    f"default {d.style_scale:g})")
    parser.add_argument("--tile", type=_tile_size, default=d.tile, metavar="PX",
                    help="optimise in tiles of PX px (a multiple of 16) at every size larger than that; by "
                    "default tiles are used only where a size does not fit the memory (print sizes)")
    parser.add_argument("--memory-limit", type=_positive_int(1, P.MAX_MEMORY_LIMIT_MB, "--memory-limit"),
                    default=None, metavar="MB", dest="memory_limit",
                    help="the memory the run may use, MB (default: 90%% of what is free); larger sizes are "
                    "tiled to fit, and a size that cannot fit is refused with the largest that does")
    parser.add_argument("--seamless", action="store_true", default=d.seamless,
                    help="a texture that repeats without a visible edge (sides become multiples of 16 px)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run_params(args: argparse.Namespace) -> P.StyleParams:
    """StyleParams from the options of :func:`add_run_options` (``steps`` 0 when --quality was meant;
    see :func:`resolve_steps`). Raises ValueError for a bad --init."""
    init = args.init
    if init not in P.INITS and not Path(init).is_file():
        names = ", ".join(f"'{n}'" for n in P.INITS)
        raise ValueError(f"--init must be one of {names} or an image file; '{init}' is none of these")
    return P.StyleParams(
        size=args.size,
        style_strength=args.style_strength,
        steps=args.steps or 0,
        optimizer=args.optimizer,
        precision=args.precision,
        init=init,
        seed=args.seed,
        device=args.device,
        weights=args.weights,
        pooling=args.pooling,
        tv_weight=args.tv_weight,
        coarse_to_fine=args.coarse_to_fine,
        preview_every=0,
        style_scale=args.style_scale,
        preserve_colors=args.preserve_colors,
        tile=args.tile,
        memory_limit_mb=args.memory_limit or 0,
        seamless=args.seamless,
    )


def resolve_steps(params: P.StyleParams, quality: str):  # noqa: ANN201 - torch is imported lazily
    """``(params with steps set, torch device)``: steps 0 becomes the budget of ``quality`` on the
    device ``params.device`` resolves to. Raises EngineError for an unknown device."""
    from nst_desktop.engine.devices import resolve_device
    from nst_desktop.engine.precision import Precision

    device = resolve_device(params.device)
    if not params.steps:
        bf16 = Precision.choose(params.precision, device).compute_dtype is not None
        params = dataclasses.replace(params, steps=P.preset_steps(quality, device.type, bf16))
    return params, device


def build_parser() -> argparse.ArgumentParser:
    """The command line. Defaults, choices and limits of the settings are StyleParams' and
    those of :mod:`nst_desktop.engine.params` (one definition each)."""
    d = P.StyleParams()  # the defaults
    parser = _Parser(prog="nst-desktop-cli", description=f"{APP_NAME} {APP_VERSION}: neural style transfer.")
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {APP_VERSION}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    st = sub.add_parser("stylize", help="paint CONTENT in the style of STYLE")
    st.add_argument("content", type=Path, help="the photo")
    st.add_argument("style", type=Path, nargs="+", metavar="STYLE",
                    help="the painting; give several to blend their styles (see --style-weights)")
    st.add_argument("-o", "--output", type=Path, required=True, help="output file (.png .jpg .webp .tif)")
    st.add_argument("--bit-depth", type=int, choices=(8, 16), default=8,
                    help="bits per channel of a TIFF output (16: a 16-bit TIFF with the sRGB profile, for print)")
    add_run_options(st)
    st.add_argument("--style-weights", type=_weights_list, default=None, metavar="W1,W2,...",
                    help="relative weights of the STYLE images, one per image (default: equal)")
    st.add_argument("--mask", type=Path, action="append", default=None, metavar="PATH",
                    help="where to paint each STYLE: one image per STYLE, in their order (white = paint this "
                    "style here, black = not; resized to the content). Pixels no mask covers keep the photo")
    st.add_argument("--keep-mask", type=Path, default=None, metavar="PATH",
                    help="where to keep the photo unchanged (white = keep; resized to the content)")
    st.add_argument("--masks-from", type=Path, default=None, metavar="IMAGE",
                    help="reuse the regions (style masks and keep mask) stored in an earlier result; "
                    "not with --mask or --keep-mask")

    add_batch_parser(sub, add_run_options)
    add_video_parser(sub, add_run_options)

    info = sub.add_parser("info", help="versions, devices and weights; or the settings stored in an image")
    info.add_argument("image", type=Path, nargs="?", default=None, metavar="IMAGE",
                      help="a result: print the settings and regions stored in it")

    b = sub.add_parser("bench", help="time an engine step against a bare VGG19 forward+backward")
    b.add_argument("--device", default=d.device)
    b.add_argument("--size", type=_positive_int(P.MIN_SIZE, P.MAX_SIZE, "--size"), action="append",
                   help="long side(s) to measure (default 256 and 512)")
    b.add_argument("--steps", type=_positive_int(2, 1000, "--steps"), default=5, help="timed steps per size")
    b.add_argument("--repeat", type=_positive_int(1, 100, "--repeat"), default=3,
                   help="measure the bare and the engine step this many times, alternately, and print "
                        "the medians (default 3; a machine's speed can drift between measurements)")
    b.add_argument("--preset", choices=sorted(P.QUALITY_PRESETS), action="append",
                   help="also time a whole run with this quality preset (repeatable)")
    b.add_argument("--reference", action="store_true",
                   help="also run the slow reference (single-size L-BFGS, 300 steps) and compare losses")
    b.add_argument("--optimizer", choices=P.OPTIMIZERS, default=d.optimizer)
    b.add_argument("--precision", choices=P.PRECISIONS, action="append",
                   help=f"precision(s) to measure, repeatable (default {d.precision})")
    b.add_argument("--start-size", type=_positive_int(P.MIN_SIZE, P.MAX_SIZE, "--start-size"), action="append",
                   help="first size(s) of the coarse-to-fine schedule for whole runs, repeatable")
    b.add_argument("--content", help="photo for whole runs (default: a generated image)")
    b.add_argument("--style", help="painting for whole runs (default: a generated image)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "stylize":
            return _cmd_stylize(args)
        if args.command == "info":
            return _cmd_info_image(args.image) if args.image is not None else _cmd_info()
        if args.command == "batch":
            return cmd_batch(args, run_params, resolve_steps)
        if args.command == "video":
            return cmd_video(args, run_params, resolve_steps)
        if args.command == "bench":
            return _cmd_bench(args)
    except KeyboardInterrupt:
        print("nst-desktop-cli: interrupted", file=sys.stderr)
        return 130
    return 2


def _cmd_bench(args: argparse.Namespace) -> int:
    from nst_desktop.engine import EngineError, load_image
    from nst_desktop.engine.bench import run_bench
    from nst_desktop.engine.devices import resolve_device

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


def _cmd_stylize(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from nst_desktop.engine import EngineError, load_image, load_weights, save_image, stylize
    from nst_desktop.engine.fit import stylize_fitting
    from nst_desktop.engine.images import SAVE_FORMATS
    from nst_desktop.engine.tiff16 import save_tiff16

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
            style_arg = styles[0] if len(styles) == 1 else styles
            blend = {} if args.style_weights is None else {"style_weights": args.style_weights}
            def on_retry(message: str, size: int) -> None:
                if bar is not None:
                    bar.write(message, file=sys.stderr)
                else:
                    print(message, file=sys.stderr)

            result = stylize_fitting(
                content, style_arg, params, weights, on_progress, cancel, on_retry, run=stylize, **blend, **regions,
                **({"keep_pixels": True} if args.bit_depth == 16 else {}),
            )
        finally:
            if in_main:
                signal.signal(signal.SIGINT, previous)
        if bar is not None:
            bar.close()
            bar = None
        result.metadata["inputs"] = {"content": str(args.content.resolve()),
                                     "styles": [str(p.resolve()) for p in args.style]}
        if args.mask is not None:
            result.metadata["inputs"]["masks"] = [str(p.resolve()) for p in args.mask]
        if args.keep_mask is not None:
            result.metadata["inputs"]["keep_mask"] = str(args.keep_mask.resolve())
        if args.masks_from is not None:
            result.metadata["inputs"]["masks_from"] = str(args.masks_from.resolve())
        if result.pixels16 is not None:
            save_tiff16(result.pixels16, args.output, result.metadata)
        else:
            save_image(result.image, args.output, result.metadata)
    except BaseException as exc:
        if bar is not None:  # clear the unfinished bar, so that the message gets a line of its own
            bar.leave = False
            bar.close()
        if isinstance(exc, (EngineError, ValueError)):
            return fail(str(exc))
        raise
    note = " (cancelled: best image so far)" if result.cancelled else ""
    w, h = result.image.size
    print(f"wrote {args.output} ({w}x{h}, {result.steps_done} steps, {result.elapsed_s:.1f} s, "
          f"seed {result.metadata['params']['seed']}, {result.metadata['precision_used']} on {device}){note}")
    return 0


def _load_mask(path: Path, option: str):  # noqa: ANN202 - Pillow is imported lazily
    """A mask image file as a grey Pillow image; a bad file raises ImageError naming the option and the file."""
    from nst_desktop.engine import ImageError, load_image

    try:
        return load_image(path).convert("L")
    except ImageError as exc:
        raise ImageError(f"{option}: {exc}") from None


def _stored_masks(path: Path, n_styles: int) -> dict[str, object]:
    """The ``masks`` / ``keep_mask`` arguments of stylize() from the regions stored in the result
    ``path``. Raises ValueError (or ImageError) naming --masks-from and the file."""
    from nst_desktop.engine import ImageError, read_metadata
    from nst_desktop.engine.provenance import masks_from_metadata

    where = f"--masks-from '{path}'"
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


def _cmd_info_image(path: Path) -> int:
    """Print the settings and regions stored in a result (1 if it cannot be read)."""
    import json

    from nst_desktop.engine import ImageError, read_metadata
    from nst_desktop.engine.provenance import describe_regions

    try:
        meta = read_metadata(path)
    except ImageError as exc:
        print(f"nst-desktop-cli: error: {exc}", file=sys.stderr)
        return 1
    if meta is None:
        print(f"{path}: no {APP_NAME} settings stored")
        return 0
    def show(value: object) -> str:
        """A stored value for the terminal: text as is, the rest as JSON; unprintable characters as '?'
        (the metadata comes from a file, which may carry terminal escape sequences)."""
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        return "".join(ch if ch.isprintable() else "?" for ch in text)

    print(f"{show(str(path))}: made by {show(meta.get('program', '?'))} {show(meta.get('version', '?'))}")
    params = meta.get("params")
    if isinstance(params, dict):
        print("settings: " + ", ".join(f"{show(k)}={show(json.dumps(v))}" for k, v in sorted(params.items())))
    for key in ("style_weights", "steps_done", "elapsed_s", "cancelled", "continued", "weights_name"):
        if key in meta:
            print(f"{key}: {show(meta[key])}")
    print(f"regions: {show(describe_regions(meta) or 'none')}")
    inputs = meta.get("inputs")
    if isinstance(inputs, dict):
        for key, value in inputs.items():
            print(f"input {show(key)}: {show(value)}")
    return 0


def _cmd_info() -> int:
    import platform

    import PIL
    import torch

    from nst_desktop.engine.devices import available_devices, resolve_device
    from nst_desktop.engine.precision import Precision
    from nst_desktop.engine.weights import bundled_path, torchvision_available
    from nst_desktop.services.paths import cache_dir

    print(f"{APP_NAME} {APP_VERSION}")
    print(f"Python {platform.python_version()}, torch {torch.__version__}, Pillow {PIL.__version__}")
    default = resolve_device("auto")
    print(f"default device: {default}, network in {Precision.choose('auto', default).describe()}")
    for d in available_devices():
        mem = f", {d.memory_bytes / 2**30:.1f} GiB" if d.memory_bytes else ""
        print(f"  device {d.id}: {d.label}{mem}")
    try:
        print(f"weights bundled: {bundled_path()}")
    except Exception as exc:  # noqa: BLE001 - report, don't crash the info command
        print(f"weights bundled: missing ({exc})")
    state = "downloaded" if torchvision_available(cache_dir()) else "not downloaded (548 MB on first use)"
    print(f"weights torchvision: {state}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
