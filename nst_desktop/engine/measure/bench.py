"""``nst-desktop-cli bench``: engine step time against the bare network, and memory.

For each size: the engine's milliseconds per optimisation step (one loss
evaluation with its gradient plus the optimiser's update, measured inside a real
:func:`stylize` run at that single size) and the milliseconds of a bare VGG19
forward to relu5_1 plus backward to the input on the same device, and their ratio.
It also prints the measured peak memory of such a run beside the estimate: the
allocator's peak on CUDA, the growth of the process's peak resident memory on CPUs
(Linux only).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence

import torch

from nst_desktop.engine.device import host_memory
from nst_desktop.engine.device.devices import configure_threads, resolve_device
from nst_desktop.engine.image.images import load_image
from nst_desktop.engine.measure import calibrate
from nst_desktop.engine.measure.speed import Speed, run_seconds
from nst_desktop.engine.net import losses
from nst_desktop.engine.net.precision import Precision
from nst_desktop.engine.net.vgg import VGGFeatures
from nst_desktop.engine.net.weights import VGGWeights, load_bundled
from nst_desktop.engine.params import Progress, StyleInputs, StyleParams, preset_steps
from nst_desktop.engine.plan import memory, schedule, sizing
from nst_desktop.engine.stylize import evaluate, stylize

#: Steps before timing starts (more than the CUDA graph warm-up, so both timed runs capture).
WARMUP_STEPS = 5
#: Least GPU/CPU time (ms) the timed difference of the engine's runs should span.
MIN_TIMED_MS = 1000.0
#: The reference run: single size, torch's L-BFGS with strong-Wolfe line search, float32,
#: this many loss evaluations, from the content image.
REFERENCE_STEPS = 300
REFERENCE_OPTIMIZER = "lbfgs-wolfe"
REFERENCE_PRECISION = "fp32"
#: Size of the bare step whole runs are measured in (a float32 step at 512 x 512 px).
BARE_HW = (512, 512)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bare_step_ms(net: VGGFeatures, prec: Precision, hw: tuple[int, int], device: torch.device, steps: int) -> float:
    """Mean ms of a forward to the deepest tap plus backward to the input (same precision as the engine)."""
    x = torch.rand(1, 3, *hw, device=device, requires_grad=True)
    for i in range(WARMUP_STEPS + steps):
        if i == WARMUP_STEPS:
            _sync(device)
            t0 = time.perf_counter()
        feats = prec.features(net, x)
        feats["relu5_1"].sum().backward()
        x.grad = None
    _sync(device)
    return (time.perf_counter() - t0) / steps * 1000


def reference_bare_ms(weights: VGGWeights, device: torch.device, repeat: int = 3) -> float:
    """The speed issue's unit: median ms of :func:`bare_step_ms` in float32 at :data:`BARE_HW`."""
    prec = Precision.choose("fp32", device)
    net = prec.prepare(VGGFeatures(weights, [losses.CONTENT_LAYER, *losses.STYLE_LAYERS]))
    return statistics.median(bare_step_ms(net, prec, BARE_HW, device, 3) for _ in range(repeat))


def _process_memory() -> dict[str, int]:
    """This process's resident memory now and at its peak, bytes (Linux ``/proc``; empty elsewhere)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            lines = f.read().splitlines()
    except OSError:
        return {}
    out = {}
    for line in lines:
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) * 1024
    return out


def reset_cpu_peak() -> int | None:
    """Start measuring this process's peak resident memory; returns the resident bytes now.

    ``None`` where the peak cannot be reset (not Linux, or ``/proc/self/clear_refs`` is not
    writable).
    """
    # Give memory freed by earlier runs back to the system first, so that the next run's
    # allocations show in the resident peak instead of reusing it unseen.
    host_memory.release_free_memory()
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")  # resets the peak resident set size (VmHWM) to the current one
    except OSError:
        return None
    return _process_memory().get("VmRSS")


def cpu_peak_since(base: int | None) -> int:
    """Growth of the peak resident memory since :func:`reset_cpu_peak` returned ``base``, bytes (0: unknown)."""
    peak = _process_memory().get("VmHWM")
    return max(0, peak - base) if base is not None and peak is not None else 0


def engine_step_ms(
    hw: tuple[int, int], device: torch.device, steps: int, optimizer: str, precision: str = "auto"
) -> tuple[float, int]:
    """Milliseconds per step of real single-size runs; and the peak memory of such a run in bytes.

    The peak is the allocator's on CUDA (above what the caller holds already) and the
    growth of the process's peak resident memory on CPUs (Linux; 0 where it cannot be
    measured).

    On CUDA, two runs of :data:`WARMUP_STEPS` + ``steps`` and :data:`WARMUP_STEPS` +
    2 ``steps`` steps are timed whole; the difference divided by ``steps`` is the cost of
    a step with everything a step costs (the optimiser, host synchronisation, progress
    reports), and without what a run costs once (targets, CUDA graph capture). A first
    short run fills cuDNN's autotuning cache, so its large trial workspaces are not in
    the peak. Elsewhere steps run synchronously and each one is reported as it ends: the
    result is the median interval between the reports of one run's steps after the
    warm-up (a difference of two whole runs was too noisy on a shared 2-core CPU).
    """
    content, style = calibrate.generated_pair(max(hw))
    content = content.resize((hw[1], hw[0]))
    weights = load_bundled()

    def run(n: int, on_progress: Callable[[Progress], None] | None = None) -> float:
        params = StyleParams(size=max(hw), steps=n, optimizer=optimizer, seed=0, device=str(device),
                             coarse_to_fine=False, preview_every=0, precision=precision)
        _sync(device)
        t0 = time.perf_counter()
        stylize(StyleInputs(content, style), params, weights, on_progress=on_progress)
        _sync(device)
        return time.perf_counter() - t0

    if device.type != "cuda":
        ends: list[float] = []

        def record(p: Progress) -> None:
            if p.phase == "optimise":
                ends.append(time.perf_counter())

        run(2)  # one-time allocations of a first run are not in the peak
        base = reset_cpu_peak() if device.type == "cpu" else None
        run(WARMUP_STEPS + steps + 1, record)
        peak = cpu_peak_since(base) if device.type == "cpu" else 0
        intervals = [b - a for a, b in zip(ends[WARMUP_STEPS:], ends[WARMUP_STEPS + 1:], strict=False)]
        if not intervals:
            raise ValueError(f"the {optimizer} run at {hw[1]}x{hw[0]} px stopped after {len(ends)} steps, "
                             f"too early to time a step")
        return statistics.median(intervals) * 1000, peak

    run(WARMUP_STEPS)
    torch.cuda.reset_peak_memory_stats(device)
    held = torch.cuda.memory_allocated(device)  # the caller's tensors (the bare step's network), not the run's
    short = run(WARMUP_STEPS + steps)
    peak = torch.cuda.max_memory_allocated(device) - held
    long = run(WARMUP_STEPS + 2 * steps)
    return (long - short) / steps * 1000, peak


def run_bench(
    device_name: str,
    sizes: list[int],
    steps: int,
    optimizer: str = "lbfgs",
    presets: list[str] | None = None,
    reference: bool = False,
    precision: str | Sequence[str] = "auto",
    content_path: str | None = None,
    style_path: str | None = None,
    start_sizes: Sequence[int] | None = None,
    repeat: int = 3,
) -> int:
    """Print the benchmark table; with ``presets``, also time whole runs and compare their loss.

    ``repeat``: the bare step and the engine's step are each measured this many times,
    alternately, and the table shows the medians (the ratio is the median of the ratios
    of each pair), so that a drift of the machine's speed affects both alike.

    ``precision`` may list several precisions: the step table and the whole runs are
    repeated for each. ``start_sizes`` (default: the preset's) repeat the whole runs with
    other first sizes of the coarse-to-fine schedule. ``reference`` adds the reference
    run: torch's L-BFGS with strong-Wolfe line search for :data:`REFERENCE_STEPS`
    evaluations at the target size from the content image, in float32; each run's total
    loss (evaluated at the target size in float32) is printed relative to it.
    """
    device = resolve_device(device_name)
    configure_threads(device)
    weights = load_bundled()
    precisions = [precision] if isinstance(precision, str) else list(precision)
    for prec_name in precisions:
        _step_table(device, sizes, steps, optimizer, prec_name, weights, repeat)
    if not presets and not reference:
        return 0
    if content_path and style_path:
        content, style = load_image(content_path), load_image(style_path)
    else:
        content, style = calibrate.generated_pair(512)
    inputs = StyleInputs(content, style)
    bare = reference_bare_ms(weights, device, repeat)
    speeds = {name: calibrate.measure_speed(str(device), name, weights) for name in precisions}
    small, large = calibrate.SMALL_HW, calibrate.CALIBRATION_HW
    print(f"\nwhole runs (content {content.width}x{content.height}, style {style.width}x{style.height}); "
          f"bare step: float32 forward to relu5_1 and backward at {BARE_HW[1]}x{BARE_HW[0]}, {bare:.1f} ms; "
          f"estimate: the window's, from the speed test's steps at {small[1]}x{small[0]} and "
          f"{large[1]}x{large[0]} px")
    print(f"{'size':>6} {'run':>12} {'precision':>9} {'start':>6} {'steps':>6} {'wall s':>8} {'bare steps':>10} "
          f"{'estimate s':>10} {'total loss':>11} {'vs ref':>7}")
    default_start = schedule.default_start(device.type)
    for size in sizes:
        ref_loss = None
        runs = [(name, preset_steps(name, device.type, Precision.choose(prec_name, device).compute_dtype is not None),
                 True, prec_name, start)
                for prec_name in precisions for start in (start_sizes or [default_start]) for name in presets or []]
        if reference:
            runs.insert(0, ("reference", REFERENCE_STEPS, False, REFERENCE_PRECISION, size))
        for name, budget, c2f, prec_name, start in runs:
            ref = name == "reference"
            params = StyleParams(size=size, steps=budget, coarse_to_fine=c2f, seed=0, device=str(device),
                                 optimizer=REFERENCE_OPTIMIZER if ref else optimizer, start_size=start,
                                 precision=prec_name, preview_every=0)
            speed = speeds.get(prec_name)  # the estimate made before the run, with the memory free as it starts
            est = (f"{_estimate(params, (content.height, content.width), device, speed):10.1f}"
                   if speed is not None and not ref else f"{'-':>10}")
            _sync(device)
            t0 = time.perf_counter()
            result = stylize(inputs, params, weights)
            _sync(device)
            wall = time.perf_counter() - t0
            _c, _s, total = evaluate(result.image, inputs, params, weights)
            if ref:
                ref_loss = total
            ratio = f"{total / ref_loss:7.3f}" if ref_loss else f"{'-':>7}"
            print(f"{size:>6} {name:>12} {prec_name:>9} {start if c2f else '-':>6} {result.steps_done:>6} "
                  f"{wall:8.2f} {wall * 1000 / bare:10.1f} {est} {total:11.4f} {ratio}", flush=True)
    return 0


def _estimate(params: StyleParams, content_hw: tuple[int, int], device: torch.device, speed: Speed) -> float:
    """Seconds of a run of ``params`` (start size and steps given) at ``speed``, planned as
    :func:`stylize` plans it (:func:`speed.run_seconds`, the window's estimate)."""
    prec = Precision.choose(params.precision, device)
    half = prec.compute_dtype is not None
    budget = sizing.budget_bytes(params, device)
    run_plan = sizing.plan_run(params, content_hw, device.type, half, budget, prec.cuda_graphs)
    return run_seconds(run_plan, speed, budget, device.type, half)


def _step_table(
    device: torch.device, sizes: list[int], steps: int, optimizer: str, precision: str, weights: VGGWeights,
    repeat: int = 1,
) -> None:
    prec = Precision.choose(precision, device)
    net = prec.prepare(VGGFeatures(weights, [losses.CONTENT_LAYER, *losses.STYLE_LAYERS]))
    used = "bf16 network" if prec.compute_dtype is not None else "fp32"
    if device.type == "cuda" and torch.backends.cudnn.allow_tf32 and prec.compute_dtype is None:
        used = "TF32 convolutions"
    graphs = ", CUDA graphs" if prec.cuda_graphs and optimizer == "lbfgs" else ""
    print(f"device {device} ({_device_label(device)}), threads {torch.get_num_threads()}, "
          f"optimizer {optimizer}, precision {precision} ({used}{graphs}), {steps} timed steps, "
          f"median of {repeat}")
    print(f"{'size':>10} {'engine ms/step':>15} {'bare ms/step':>13} {'ratio':>6} {'ratio range':>12} "
          f"{'peak MiB':>9} {'est MiB':>8}")
    for size in sizes:
        hw = (size * 3 // 4, size)
        engines, bares, peaks = [], [], []
        for _ in range(repeat):
            bare = bare_step_ms(net, prec, hw, device, steps)
            eng_steps = steps
            if device.type == "cuda":
                # There the engine's step is timed as the difference of two whole runs: make it span
                # at least MIN_TIMED_MS, so that run-to-run noise of the one-time costs stays small.
                eng_steps = max(steps, math.ceil(MIN_TIMED_MS / max(bare, 1e-3)))
            eng, peak = engine_step_ms(hw, device, eng_steps, optimizer, precision)
            engines.append(eng)
            bares.append(bare)
            peaks.append(peak)
        ratios = [e / b for e, b in zip(engines, bares, strict=True)]
        est = memory.estimate_peak_bytes(*hw, optimizer, graphs=prec.cuda_graphs, device_type=device.type,
                                         half=prec.compute_dtype is not None)
        peak = max(peaks)
        peak_s = f"{peak / 2**20:9.0f}" if peak else f"{'-':>9}"
        spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
        print(f"{hw[1]:>5}x{hw[0]:<4} {statistics.median(engines):15.1f} {statistics.median(bares):13.1f} "
              f"{statistics.median(ratios):6.2f} {spread:>12} {peak_s} {est / 2**20:8.0f}", flush=True)


def _device_label(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return device.type
