"""``nst-desktop-cli video IN PAINTING -o OUT``: paint a clip without flicker (engine/video/paint.py).

The shared run options (size, quality, ...) come from :mod:`nst_desktop.cli.options`, defined once there.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nst_desktop.cli.options import add_run_options, ranged, resolve_steps, run_params, weights_list


def add_parser(sub: Any) -> None:
    """The ``video`` subcommand on ``sub`` (argparse subparsers), with the shared run options."""
    from nst_desktop.engine.video import settings as V

    v = sub.add_parser("video", help="paint a clip in the style of a painting, without flicker")
    v.add_argument("input", type=Path, help="the clip (any file FFmpeg reads: .mp4 .mov .mkv .webm ...)")
    v.add_argument("style", type=Path, nargs="+", metavar="PAINTING", help="the painting (several: blended)")
    v.add_argument("-o", "--output", type=Path, required=True,
                   help="OUT.mp4 (H.264 with the clip's frame rate and audio), or a name without extension: "
                        "a folder of PNG frames (and audio.m4a)")
    v.add_argument("--start", type=ranged(float, 0, 1e7, "--start"), default=0.0, metavar="S",
                   help="first second of the clip to paint (default 0)")
    v.add_argument("--end", type=ranged(float, 0, 1e7, "--end"), default=None, metavar="S",
                   help="last second (default: the end of the clip)")
    v.add_argument("--temporal-weight", type=ranged(float, V.MIN_TEMPORAL_WEIGHT, V.MAX_TEMPORAL_WEIGHT,
                   "--temporal-weight"), default=V.DEFAULT_TEMPORAL_WEIGHT, metavar="W",
                   help=V.TEMPORAL_WEIGHT_HELP)
    v.add_argument("--every-frame-steps", type=ranged(int, V.MIN_EVERY_FRAME_STEPS, V.MAX_EVERY_FRAME_STEPS,
                   "--every-frame-steps"), default=V.DEFAULT_EVERY_FRAME_STEPS, metavar="N",
                   help=V.EVERY_FRAME_STEPS_HELP)
    v.add_argument("--style-weights", type=weights_list, default=None, metavar="W1,W2,...",
                   help="relative weights of several paintings, one per painting (default: equal)")
    v.add_argument("--independent", action="store_true",
                   help="paint every frame on its own with the whole budget (flickers; for comparison)")
    v.add_argument("--ray", default=None, metavar="auto|ADDRESS",
                   help="paint chunks of the clip at the same time on a Ray cluster: auto (this computer's, or "
                        "the one it belongs to) or its address (HOST:6379, ray://HOST:10001) with "
                        "RAY_AUTH_MODE=token (a cluster's ports, token and firewall: docs/cluster-security.md); "
                        "needs pip install 'nst-desktop[farm]'")
    v.add_argument("--chunk-frames", type=ranged(int, 0, V.MAX_CHUNK_FRAMES, "--chunk-frames"),
                   default=V.DEFAULT_CHUNK_FRAMES, metavar="N",
                   help=f"with --ray: frames per chunk, at least {V.MIN_CHUNK_FRAMES} (default 0: the range "
                        f"split evenly over the cluster's CPUs); a chunk that starts on its own overlaps the "
                        f"previous one by {V.CHUNK_OVERLAP} frames, cross-faded")
    add_run_options(v)


def run(args: argparse.Namespace) -> int:
    """Run ``video``: 0 when the output is written, 1 on a bad input (one line), 130 when stopped
    with Ctrl+C (the finished frames are kept; the same command goes on from them)."""
    from nst_desktop.engine.video import deps as video_deps

    def fail(msg: str) -> int:
        print(f"nst-desktop-cli: error: {msg}", file=sys.stderr)
        return 1

    if not video_deps.available():
        return fail(video_deps.install_hint())
    if args.style_weights is not None and len(args.style_weights) != len(args.style):
        return fail(f"--style-weights has {len(args.style_weights)} values but {len(args.style)} paintings "
                    "were given")
    from nst_desktop.services.output_file import input_problem

    problem = input_problem(args.output, [("the clip", args.input), *(("a painting", p) for p in args.style)])
    if problem:
        return fail(problem)
    if args.ray:
        return _cmd_ray(args, fail)
    from tqdm import tqdm

    from nst_desktop.engine import EngineError, load_image, load_weights
    from nst_desktop.engine.video import paint as V

    bars: list[tqdm] = []
    try:
        settings, device = _settings(args)
        styles = [load_image(p) for p in args.style]
        plan = V.plan_video(args.input, args.style, args.output, settings, style_weights=args.style_weights)
        h, w = plan.hw
        info = plan.info
        print(f"{args.input}: {plan.frames} frames at {w}x{h}, {float(info.fps):.3g} fps"
              f"{', with audio' if info.audio else ''}; frames go to {plan.work.path}")
        if plan.done:
            print(f"resuming: {plan.done} of {plan.frames} frames are done")
        weights = load_weights(settings.params.weights)
        if not args.quiet:
            bars.append(tqdm(total=plan.frames, initial=plan.done, unit="frame", position=0, dynamic_ncols=True,
                             bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} frames [{elapsed}{postfix}]"))
            bars.append(tqdm(total=1, unit="step", position=1, leave=False, dynamic_ncols=True))
        result = _run(plan, styles, weights, bars, args.style_weights)
    except BaseException as exc:
        for bar in reversed(bars):
            bar.leave = False
            bar.close()
        if isinstance(exc, (EngineError, ValueError)):
            return fail(str(exc))
        raise
    for bar in reversed(bars):
        bar.close()
    if result.cancelled:
        print(f"stopped: {result.resumed_from + result.painted} of {result.frames} frames are done in "
              f"{plan.work.path}; run the same command to go on", file=sys.stderr)
        return 130
    later = result.frame_s[1:] if result.resumed_from == 0 and settings.temporal else result.frame_s
    per = f", {sum(later) / len(later):.2f} s per frame" if later else ""
    print(f"wrote {result.output} ({result.frames} frames, {w}x{h}, {float(info.fps):.3g} fps"
          f"{', audio kept' if info.audio else ''}; {result.painted} painted in {result.elapsed_s:.1f} s{per} "
          f"on {device})")
    return 0


def _settings(args: argparse.Namespace) -> tuple[Any, Any]:
    """``(VideoSettings, torch device)`` from the options. Raises ValueError or EngineError."""
    from nst_desktop.engine.video import settings as VS

    params, device = resolve_steps(run_params(args), args.quality)
    settings = VS.VideoSettings(params, args.temporal_weight, args.every_frame_steps, args.start, args.end,
                                temporal=not args.independent)
    return settings, device


def _cmd_ray(args: argparse.Namespace, fail: Callable[[str], int]) -> int:
    """``video --ray``: the chunks painted on the cluster (services/video_farm.py), a line per chunk."""
    from nst_desktop.engine import EngineError
    from nst_desktop.engine.video import settings as VS
    from nst_desktop.services.farm import FarmUnavailable, address_problem
    from nst_desktop.services.jobs import format_duration
    from nst_desktop.services.video_farm import ChunkDone, RenderStopped, render_ray

    if address_problem(args.ray):
        return fail(address_problem(args.ray))
    if args.chunk_frames and args.chunk_frames < VS.MIN_CHUNK_FRAMES:
        return fail(f"--chunk-frames must be 0 or at least {VS.MIN_CHUNK_FRAMES}, not {args.chunk_frames}")
    for p in args.style:
        if not p.is_file():
            return fail(f"the painting '{p}' does not exist")

    def on_chunk(done: ChunkDone, chunks: int) -> None:
        if not args.quiet:
            c = done.chunk
            how = f", from frame {c.first + 1} on its own" if c.overlap else ""
            print(f"chunk {c.index + 1} of {chunks} ({c.label()}{how}) painted on {done.host} in "
                  f"{format_duration(done.seconds)}", file=sys.stderr, flush=True)

    try:
        settings, _device = _settings(args)
        result = render_ray(args.input, args.style, args.output, settings, args.ray, args.chunk_frames,
                            args.style_weights, on_chunk)
    except FarmUnavailable as exc:
        return fail(str(exc))
    except (EngineError, ValueError) as exc:
        return fail(str(exc).strip().splitlines()[0])
    except RenderStopped as stop:
        print(f"stopped: {stop.kept} of {stop.frames} frames are painted and kept in {stop.folder}; run the same "
              "command to go on", file=sys.stderr)
        return 130
    print(f"wrote {result.output} ({result.frames} frames in {len(result.chunks)} chunks, {result.painted} painted "
          f"in {result.elapsed_s:.1f} s on Ray)")
    return 0


def _run(plan: Any, styles: list[Any], weights: Any, bars: list[Any], style_weights: Any) -> Any:
    """render_video with the bars fed and Ctrl+C as a cancel (a second Ctrl+C aborts at once)."""
    from nst_desktop.engine.video import paint as V

    cancel = threading.Event()
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if in_main else None

    def on_sigint(signum: int, frame: object) -> None:
        cancel.set()
        signal.signal(signal.SIGINT, previous)

    shown = [-1]  # the frame the step bar shows

    def on_progress(p: V.VideoProgress) -> None:
        if not bars:
            return
        overall, steps = bars
        if p.phase == "assemble":
            overall.n = p.frames
            overall.set_postfix_str("writing the video")
            return
        overall.n = p.frame
        eta = "" if p.eta_s is None else f", ETA {_clock(p.eta_s)}"
        overall.set_postfix_str(f"frame {p.frame + 1}{eta}", refresh=False)
        overall.refresh()
        if p.frame != shown[0]:  # a new frame: its own bar (count, rate and time from 0)
            shown[0] = p.frame
            steps.reset(total=max(1, p.steps))
            steps.set_description(f"frame {p.frame + 1}", refresh=False)
        steps.n = p.step
        steps.refresh()

    if in_main:
        signal.signal(signal.SIGINT, on_sigint)
    try:
        return V.render_video(plan, styles, weights, on_progress, cancel, style_weights)
    finally:
        if in_main:
            signal.signal(signal.SIGINT, previous)


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
