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
from nst_desktop.engine.params import Progress, StyleParams
from nst_desktop.engine.stylize import stylize
from nst_desktop.engine.vgg import VGGFeatures
from nst_desktop.engine.weights import load_bundled

WARMUP_STEPS = 2


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _test_pair(size: int) -> tuple[Image.Image, Image.Image]:
    content = Image.new("RGB", (size, size * 3 // 4), (180, 200, 230))
    d = ImageDraw.Draw(content)
    d.ellipse((size // 4, size // 8, size * 3 // 4, size * 5 // 8), fill=(200, 90, 40))
    style = Image.effect_noise((size, size), 64).convert("RGB")
    return content, style


def bare_step_ms(net: VGGFeatures, hw: tuple[int, int], device: torch.device, steps: int) -> float:
    """Mean ms of a forward to the deepest tap plus backward to the input."""
    x = torch.rand(1, 3, *hw, device=device, requires_grad=True)
    for i in range(WARMUP_STEPS + steps):
        if i == WARMUP_STEPS:
            _sync(device)
            t0 = time.perf_counter()
        feats = net(x)
        feats["relu5_1"].sum().backward()
        x.grad = None
    _sync(device)
    return (time.perf_counter() - t0) / steps * 1000


def engine_step_ms(hw: tuple[int, int], device: torch.device, steps: int, optimizer: str) -> tuple[float, int]:
    """Mean ms per step of a real single-size run; and its peak memory in bytes (CUDA, else 0)."""
    content, style = _test_pair(max(hw))
    content = content.resize((hw[1], hw[0]))
    stamps: list[float] = []

    def on_progress(p: Progress) -> None:
        if p.phase == "optimise":
            _sync(device)
            stamps.append(time.perf_counter())

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    params = StyleParams(size=max(hw), steps=WARMUP_STEPS + steps, optimizer=optimizer, seed=0,
                         device=str(device), coarse_to_fine=False, preview_every=0)
    stylize(content, style, params, load_bundled(), on_progress)
    peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else 0
    timed = stamps[WARMUP_STEPS - 1:]
    return (timed[-1] - timed[0]) / (len(timed) - 1) * 1000, peak


def run_bench(device_name: str, sizes: list[int], steps: int, optimizer: str = "lbfgs") -> int:
    device = resolve_device(device_name)
    configure_threads(device)
    net = VGGFeatures(load_bundled(), [losses.CONTENT_LAYER, *losses.STYLE_LAYERS]).to(device)
    print(f"device {device}, threads {torch.get_num_threads()}, optimizer {optimizer}, {steps} timed steps")
    print(f"{'size':>10} {'engine ms/step':>15} {'bare ms/step':>13} {'ratio':>6} {'peak MiB':>9} {'est MiB':>8}")
    for size in sizes:
        hw = (size * 3 // 4, size)
        bare = bare_step_ms(net, hw, device, steps)
        eng, peak = engine_step_ms(hw, device, steps, optimizer)
        est = memory.estimate_peak_bytes(*hw, optimizer)
        peak_s = f"{peak / 2**20:9.0f}" if peak else f"{'-':>9}"
        print(f"{hw[1]:>5}x{hw[0]:<4} {eng:15.1f} {bare:13.1f} {eng / bare:6.2f} {peak_s} {est / 2**20:8.0f}")
    return 0
