"""The options every painting command shares (size, strength, quality, ..., --quiet) and the argparse types
that check them: one range check for every numeric option of every command."""

from __future__ import annotations

import argparse
import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

from nst_desktop.engine import params as P

#: Help of ``--keep-paths`` (stylize and batch).
KEEP_PATHS_HELP = ("store the inputs' full paths in the result's metadata (default: their file names only, so "
                   "that a shared result shows no folder or user names)")


def bound(value: float) -> str:
    """A range's end as people write it: 8192, 0.01, 1e+07 (not 8192.0 or 10000000.0)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def ranged(kind: type[int] | type[float], lo: float, hi: float, what: str) -> Callable[[str], float]:
    """argparse type: parse ``kind`` and require ``lo <= value <= hi`` (NaN and Inf are out of range).

    The one range check of every subcommand's numeric options (stylize, batch, video)."""
    noun = "a whole number" if kind is int else "a number"

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be {noun}, not {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{what} must be between {bound(lo)} and {bound(hi)}, not {value}")
        return value

    return parse


def positive_int(lo: int, hi: int, what: str) -> Callable[[str], float]:
    return ranged(int, lo, hi, what)


def float_range(lo: float, hi: float, what: str) -> Callable[[str], float]:
    return ranged(float, lo, hi, what)


def weights_list(text: str) -> list[float]:
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


def tile_size(text: str) -> int:
    """argparse type: a tile side in px, a multiple of 16 between the engine's limits."""
    value = int(positive_int(P.MIN_TILE, P.MAX_TILE, "--tile")(text))
    if value % P.TILE_MULTIPLE:
        raise argparse.ArgumentTypeError(f"--tile must be a multiple of {P.TILE_MULTIPLE} px, not {value}")
    return value


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line and exits with status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options of one run (size, strength, quality, ..., --quiet), shared by ``stylize`` and ``batch``;
    :func:`run_params` turns them into StyleParams."""
    d = P.StyleParams()  # the defaults
    parser.add_argument("--size", type=positive_int(P.MIN_SIZE, P.MAX_SIZE, "--size"), default=d.size,
                    help=f"long side of the output in px (default {d.size})")
    parser.add_argument("--style-strength", type=float_range(P.MIN_STYLE_STRENGTH, P.MAX_STYLE_STRENGTH,
                    "--style-strength"), default=d.style_strength,
                    help=f"style weight, log scale; {d.style_strength:g} is the default look")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--steps", type=positive_int(P.MIN_STEPS, P.MAX_STEPS, "--steps"),
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
    parser.add_argument("--seed", type=positive_int(0, P.MAX_SEED, "--seed"), default=d.seed)
    parser.add_argument("--device", default=d.device, help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--weights", default=d.weights, help="bundled, torchvision, or a weights file")
    parser.add_argument("--pooling", choices=P.POOLINGS, default=d.pooling)
    parser.add_argument("--tv-weight", type=float_range(P.MIN_TV_WEIGHT, P.MAX_TV_WEIGHT, "--tv-weight"),
                    default=d.tv_weight)
    parser.add_argument("--no-coarse-to-fine", action="store_false", dest="coarse_to_fine", default=d.coarse_to_fine,
                    help="optimise only at the final size")
    parser.add_argument("--preserve-colors", choices=P.PRESERVE_COLORS, default=d.preserve_colors,
                    help="keep the photo's colours: 'luminance' transfers the style on brightness only; "
                    f"'match' first gives the painting the photo's colour mean and covariance "
                    f"(default {d.preserve_colors})")
    parser.add_argument("--style-scale", type=float_range(P.MIN_STYLE_SCALE, P.MAX_STYLE_SCALE, "--style-scale"),
                    default=d.style_scale, help="size of the painting's brush strokes: the painting's long side "
                    f"relative to the output's ({P.MIN_STYLE_SCALE:g}-{P.MAX_STYLE_SCALE:g}, "
                    f"default {d.style_scale:g})")
    parser.add_argument("--leave-out-objects", action=argparse.BooleanOptionalAction, default=d.leave_out_objects,
                    help="leave out the painting's one-off objects (faces, eyes, animals): only its recurring "
                    "brushwork is painted; --no-leave-out-objects paints them too, as results made before "
                    f"this option (default: {'leave out' if d.leave_out_objects else 'paint them'})")
    parser.add_argument("--layer-weights", choices=P.LAYER_WEIGHTS, default=d.layer_weights,
                    help="how the style layers weigh: fine, the fine layers most (a cleaner scene, fewer "
                    "pieces of the painting); even, all alike, as results made before this option "
                    f"(default {d.layer_weights})")
    parser.add_argument("--tile", type=tile_size, default=d.tile, metavar="PX",
                    help="optimise in tiles of PX px (a multiple of 16) at every size larger than that; by "
                    "default tiles are used only where a size does not fit the memory (print sizes)")
    parser.add_argument("--memory-limit", type=positive_int(1, P.MAX_MEMORY_LIMIT_MB, "--memory-limit"),
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
        leave_out_objects=args.leave_out_objects,
        layer_weights=args.layer_weights,
    )


def resolve_steps(params: P.StyleParams, quality: str):  # noqa: ANN201 - torch is imported lazily
    """``(params with steps set, torch device)``: steps 0 becomes the budget of ``quality`` on the
    device ``params.device`` resolves to. Raises EngineError for an unknown device."""
    from nst_desktop.engine.device import resolve_device
    from nst_desktop.engine.net import Precision

    device = resolve_device(params.device)
    if not params.steps:
        bf16 = Precision.choose(params.precision, device).compute_dtype is not None
        params = dataclasses.replace(params, steps=P.preset_steps(quality, device.type, bf16))
    return params, device
