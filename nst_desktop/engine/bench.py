"""``nst-desktop-cli bench``: engine step time against the bare network, and memory.

For each size: the engine's milliseconds per optimisation step (one loss
evaluation with its gradient plus the optimiser's update, measured inside a real
:func:`stylize` run at that single size) and the milliseconds of a bare VGG19
forward to relu5_1 plus backward to the input on the same device, and their ratio.
On CUDA it also prints the measured peak memory beside the estimate.
"""

from __future__ import annotations

import time

import torch
from PIL import Image, ImageDraw

from nst_desktop.engine import losses, memory
from nst_desktop.engine.devices import configure_threads, resolve_device
from nst_desktop.engine.images import load_image
from nst_desktop.engine.params import QUALITY_PRESETS, Progress, StyleParams
from nst_desktop.engine.stylize import Precision, evaluate, stylize
from nst_desktop.engine.vgg import VGGFeatures
from nst_desktop.engine.weights import load_bundled

WARMUP_STEPS = 2
#: Loss evaluations of the reference run (single size, L-BFGS, from the content image).
REFERENCE_STEPS = 300


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _test_pair(size: int) -> tuple[Image.Image, Image.Image]:
    content = Image.new("RGB", (size, size * 3 // 4), (180, 200, 230))
    d = ImageDraw.Draw(content)
    d.ellipse((size // 4, size // 8, size * 3 // 4, size * 5 // 8), fill=(200, 90, 40))
    style = Image.effect_noise((size, size), 64).convert("RGB")
    return content, style


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


def engine_step_ms(
    hw: tuple[int, int], device: torch.device, steps: int, optimizer: str, precision: str = "auto"
) -> tuple[float, int]:
    """Mean ms per step of a real single-size run; and its peak memory in bytes (CUDA, else 0)."""
    content, style = _test_pair(max(hw))
    content = content.resize((hw[1], hw[0]))
    stamps: list[float] = []

    def on_progress(p: Progress) -> None:
        if p.phase == "optimise":
            _sync(device)
            stamps.append(time.perf_counter())
            if p.step == WARMUP_STEPS and device.type == "cuda":
                # cuDNN autotuning tries algorithms with large workspaces during the first
                # steps; the steady-state peak is what the estimate models.
                torch.cuda.reset_peak_memory_stats(device)

    params = StyleParams(size=max(hw), steps=WARMUP_STEPS + steps, optimizer=optimizer, seed=0,
                         device=str(device), coarse_to_fine=False, preview_every=0, precision=precision)
    stylize(content, style, params, load_bundled(), on_progress)
    peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else 0
    timed = stamps[WARMUP_STEPS - 1:]
    return (timed[-1] - timed[0]) / (len(timed) - 1) * 1000, peak


def run_bench(
    device_name: str,
    sizes: list[int],
    steps: int,
    optimizer: str = "lbfgs",
    presets: list[str] | None = None,
    reference: bool = False,
    precision: str = "auto",
    content_path: str | None = None,
    style_path: str | None = None,
) -> int:
    """Print the benchmark table; with ``presets``, also time whole runs and compare their loss.

    ``reference`` adds the reference run: single-size L-BFGS (strong-Wolfe) for
    :data:`REFERENCE_STEPS` evaluations at the target size from the content image;
    each preset's total loss (evaluated at the target size) is printed relative to it.
    """
    device = resolve_device(device_name)
    configure_threads(device)
    weights = load_bundled()
    prec = Precision.choose(precision, device)
    net = prec.prepare(VGGFeatures(weights, [losses.CONTENT_LAYER, *losses.STYLE_LAYERS]))
    print(f"device {device} ({_device_label(device)}), threads {torch.get_num_threads()}, "
          f"optimizer {optimizer}, precision {precision}, {steps} timed steps")
    print(f"{'size':>10} {'engine ms/step':>15} {'bare ms/step':>13} {'ratio':>6} {'peak MiB':>9} {'est MiB':>8}")
    for size in sizes:
        hw = (size * 3 // 4, size)
        bare = bare_step_ms(net, prec, hw, device, steps)
        eng, peak = engine_step_ms(hw, device, steps, optimizer, precision)
        est = memory.estimate_peak_bytes(*hw, optimizer)
        peak_s = f"{peak / 2**20:9.0f}" if peak else f"{'-':>9}"
        print(f"{hw[1]:>5}x{hw[0]:<4} {eng:15.1f} {bare:13.1f} {eng / bare:6.2f} {peak_s} {est / 2**20:8.0f}",
              flush=True)
    if not presets and not reference:
        return 0
    if content_path and style_path:
        content, style = load_image(content_path), load_image(style_path)
    else:
        content, style = _test_pair(512)
    print(f"\nwhole runs (content {content.width}x{content.height}, style {style.width}x{style.height})")
    print(f"{'size':>6} {'run':>12} {'steps':>6} {'wall s':>8} {'total loss':>11} {'vs ref':>7}")
    for size in sizes:
        ref_loss = None
        runs = [(name, QUALITY_PRESETS[name], True) for name in presets or []]
        if reference:
            runs.insert(0, ("reference", REFERENCE_STEPS, False))
        for name, budget, c2f in runs:
            params = StyleParams(size=size, steps=budget, coarse_to_fine=c2f, optimizer=optimizer, seed=0,
                                 device=str(device), precision=precision, preview_every=0)
            _sync(device)
            t0 = time.perf_counter()
            result = stylize(content, style, params, weights)
            _sync(device)
            wall = time.perf_counter() - t0
            _c, _s, total = evaluate(result.image, content, style, params, weights)
            if name == "reference":
                ref_loss = total
            ratio = f"{total / ref_loss:7.3f}" if ref_loss else f"{'-':>7}"
            print(f"{size:>6} {name:>12} {result.steps_done:>6} {wall:8.2f} {total:11.4f} {ratio}", flush=True)
    return 0


def _device_label(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return device.type
