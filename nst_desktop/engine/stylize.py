"""The optimisation: Gatys et al. (2016) style transfer, coarse to fine.

The image is optimised directly in pixel space: an RGB tensor ``(1, 3, H, W)`` in
[0, 1] (unconstrained during L-BFGS, clamped after each Adam step; the output is
always clamped). At each size of the schedule the content and style targets are
re-derived from the original images resized to that size; the image is upsampled
(bicubic) to the next size and optimisation continues.

A run reads top to bottom in :func:`stylize`: the inputs (:mod:`inputs`, :mod:`masks`),
then per size the targets (:mod:`targets`, :mod:`objective`) and the optimiser chosen
from :data:`optim.OPTIMIZERS`, then the finished image (colour recombination) and its
metadata (:mod:`provenance`).
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from PIL import Image

from nst_desktop.engine.device import host_memory
from nst_desktop.engine.device.devices import configure_threads, resolve_device
from nst_desktop.engine.image import color
from nst_desktop.engine.image.images import load_image, pil_to_tensor, tensor_to_pil
from nst_desktop.engine.image.inputs import (
    Paintings,
    initial_image,
    prepare_inputs,
    resized_to_device,
    shrink_inputs,
    working_hw,
)
from nst_desktop.engine.image.masks import Masks, composite, prepare_masks
from nst_desktop.engine.image.palette import Palette, palette_for
from nst_desktop.engine.net import losses, recurring
from nst_desktop.engine.net.objective import ExtraLoss, LossTerms, Objective
from nst_desktop.engine.net.precision import Precision
from nst_desktop.engine.net.targets import style_targets
from nst_desktop.engine.net.vgg import VGGFeatures
from nst_desktop.engine.net.weights import VGGWeights, load_weights
from nst_desktop.engine.optim.device_lbfgs import DeviceLBFGS
from nst_desktop.engine.optim.optimizers import OPTIMIZERS
from nst_desktop.engine.params import (
    DEFAULT_QUALITY,
    INITS,
    PreserveColors,
    RunOptions,
    StyleInputs,
    StyleParams,
    StyleResult,
    preset_steps,
)
from nst_desktop.engine.plan import schedule, sizing
from nst_desktop.engine.plan.oom import empty_cache, is_out_of_memory, let_go, out_of_memory_error
from nst_desktop.engine.progress import ProgressCallback, Tracker
from nst_desktop.engine.provenance import masks_to_metadata, run_metadata
from nst_desktop.engine.resume import Resume, on_cpu, starting_point
from nst_desktop.engine.tiling import seams
from nst_desktop.engine.tiling.objective import TiledObjective, Tiles, tiled_targets


def stylize(
    inputs: StyleInputs,
    params: StyleParams,
    weights: VGGWeights | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    *,
    options: RunOptions | None = None,
) -> StyleResult:
    """Paint ``inputs.content`` in the style of ``inputs.paintings`` (see :class:`StyleInputs`:
    several paintings are blended by their ``style_weights``; ``masks`` and ``keep_mask`` say which
    paints where and where the photo is kept) with the settings ``params``.

    ``options`` (:class:`RunOptions`): ``resume`` continues from an earlier result: its image
    replaces ``params.init`` as the starting image, resized to the first size of the schedule
    (usually with ``coarse_to_fine=False``, so that optimisation goes on at the final size).
    With the earlier run's optimiser state (``StyleResult.state``, returned when it ran with
    ``keep_state``) an ``lbfgs`` run goes on with that state's unrounded image and L-BFGS
    history if it was at the size this run starts at, and with the history resampled to that
    size (:meth:`DeviceLBFGS.resized`) otherwise. Whether the state itself was used in place
    (and may be left part-way by a failed run) is :attr:`Resume.consumed`; see
    :mod:`nst_desktop.engine.resume`. ``extra_loss`` adds a term to the objective at every size
    (e.g. video's temporal loss); ``keep_pixels`` returns the result in 16 bits per channel too.
    ``params.preserve_colors`` applies as described in :mod:`color`; ``init="palette"`` (the
    default) paints in the paintings' colours as described in :mod:`palette`.

    Spatial control (Gatys et al. 2017): with masks, painting ``i`` is matched only inside its
    mask, with guided Gram matrices (see :func:`losses.guided_gram`), and ``style_weights``
    scale the regions' shares of the style loss. Keeping the photo is done by compositing,
    during the optimisation (the network sees ``x * (1 - keep) + photo * keep``, so kept pixels
    get no gradient and the stylised regions are judged next to the real photo) and in the
    output, so kept pixels equal the photo (up to resampling at soft edges).

    Runs the coarse-to-fine schedule of :mod:`schedule` within ``params.steps`` loss
    evaluations. ``on_progress`` is called after every evaluation (with a preview
    every ``params.preview_every`` steps) from the calling thread. Setting ``cancel``
    from another thread stops the run within one evaluation; the best image so far
    is returned with ``cancelled=True``.

    Raises :class:`OutOfMemory` (with the largest size estimated to fit) if the
    device runs out of memory, ``ValueError`` for bad parameters, and
    :class:`EngineError` subclasses for bad weights or images.
    """
    options = options if options is not None else RunOptions()
    resume = options.resume
    # --- Inputs: checked, colour-preserved, on the device's terms.
    params.validate()
    original_content = content = inputs.content
    style_weights = list(inputs.style_weights)  # type: ignore[arg-type]  # a tuple once made
    init_image = resume.image if resume is not None else None
    if init_image is None and params.init not in INITS:
        init_image = load_image(params.init)  # a start image file: colour-preserved like the others
    region_masks = prepare_masks((content.height, content.width), len(inputs.paintings), inputs.masks,
                                 inputs.keep_mask)
    content, styles, init_image = prepare_inputs(content, inputs.paintings, params.preserve_colors, init_image)
    t0 = time.perf_counter()
    device = resolve_device(params.device)
    configure_threads(device)
    seed = params.seed if params.seed is not None else secrets.randbelow(2**31)
    torch.manual_seed(seed)
    if weights is None:
        weights = load_weights(params.weights)
    out_hw = sizing.output_hw((content.height, content.width), params.size, params.seamless)
    precision = Precision.choose(params.precision, device)
    default_steps = preset_steps(DEFAULT_QUALITY, device.type, precision.compute_dtype is not None)
    params = dataclasses.replace(params, start_size=params.start_size or schedule.default_start(device.type),
                                 steps=params.steps or default_steps)
    # Whole or in tiles, size by size; refused here (TooLarge) if a size cannot fit at all.
    budget = sizing.budget_bytes(params, device)
    run_plan = sizing.plan_run(params, (content.height, content.width), device.type,
                               precision.compute_dtype is not None, budget, precision.cuda_graphs)
    content, styles = shrink_inputs(content, styles, working_hw(out_hw), params.style_scale)
    if params.seamless:  # the photo made to continue across its edges, so the painting can
        content = seams.periodic(content)
        original_content = seams.periodic(original_content)
    tracker = Tracker.for_run(run_plan.stages, on_progress, cancel, params.preview_every, t0, out_hw, device.type)
    tracker.stage_costs = run_plan.costs()

    # --- Optimisation, size by size; then the finished image.
    out_of_memory = False
    pixels16: torch.Tensor | None = None
    x: torch.Tensor | None = None
    state: DeviceLBFGS | None = None
    # Where memory is ample, each step reuses the memory the last one freed (see host_memory).
    with host_memory.freed_memory_kept(sizing.keeps_freed_memory(run_plan, budget, device.type)) as kept:
        try:
            palette = palette_for(params, styles, style_weights, region_masks)

            def initial(hw: tuple[int, int]) -> torch.Tensor:
                x0 = initial_image(params, content, hw, device, seed, init_image)
                return palette.recolour(x0) if palette is not None and init_image is None else x0

            paintings = Paintings(styles, style_weights, params.style_scale, params.leave_out_objects)
            run = RunContext(params, run_plan, precision, content, paintings, region_masks, palette, options.extra_loss)
            x, state = _optimise(run, weights, tracker, resume, initial, trim_heap=device.type == "cpu" and not kept)
            if not options.keep_state:
                state = None  # frees its memory now
            final = _finish(x, out_hw, content, original_content, region_masks, params.preserve_colors, device,
                            params.seamless)
            x = None  # the iterate's memory, before the 8-bit copy is made
            image = tensor_to_pil(final)
            pixels16 = final[0].mul(65535).round_().to(torch.uint16).cpu() if options.keep_pixels else None
            del final
        except RuntimeError as exc:  # torch.OutOfMemoryError is one; MPS reports OOM as a plain RuntimeError
            if not is_out_of_memory(exc):
                raise
            let_go(exc)  # the failed step's frames: activations, gradients, the optimiser's state
            out_of_memory = True
    if out_of_memory:
        # Raised only now, after the except block: until it ends, the exception (and its
        # traceback) is alive, and this frame may hold the last iterate and the optimiser's
        # state. The free memory that the size hint is computed from must be what a retry
        # would have; references are dropped here, not collected (no gc.collect: this may
        # be a worker thread, see let_go).
        x = state = None
        empty_cache(device)
        raise out_of_memory_error(device, params, out_hw, precision)

    # --- Metadata: the cancel flag is read once, so the result and its metadata agree.
    elapsed = time.perf_counter() - t0
    cancelled = tracker.cancelled()
    meta = run_metadata(params, weights, seed, tracker.step, elapsed, cancelled)
    meta["style_weights"] = list(style_weights)
    meta["continued"] = resume is not None
    meta["precision_used"] = precision.describe()
    if run_plan.tiled:
        meta["tiles_used"] = [plan.tile for plan in run_plan.plans]
    if region_masks is not None:
        meta["regions"] = masks_to_metadata(inputs.masks, inputs.keep_mask)  # the masks themselves, see provenance.py
    return StyleResult(
        image=image,
        cancelled=cancelled,
        steps_done=tracker.step,
        content_loss=tracker.content,
        style_loss=tracker.style,
        elapsed_s=elapsed,
        metadata=meta,
        state=on_cpu(state),
        pixels16=pixels16,
    )


@dataclasses.dataclass(frozen=True)
class RunContext:
    """What one run optimises against, settled once by :func:`stylize` and passed down.

    ``params``: the run's settings with its start size and steps filled in. ``run_plan``: its sizes, whole or
    in tiles. ``precision``: the device and number format. ``content``, ``paintings``: the inputs at working
    size, colour-preserved (the paintings with their weights and scale). ``region_masks``: spatial control.
    ``palette``: the paintings' colours for the palette start, if used. ``extra_loss``: a term added at every
    size (video's temporal loss)."""

    params: StyleParams
    run_plan: sizing.RunPlan
    precision: Precision
    content: Image.Image
    paintings: Paintings
    region_masks: Masks | None
    palette: Palette | None
    extra_loss: ExtraLoss | None = None


def _optimise(
    run: RunContext,
    weights: VGGWeights,
    tracker: Tracker,
    resume: Resume | None,
    initial: Callable[[tuple[int, int]], torch.Tensor],
    trim_heap: bool = False,
) -> tuple[torch.Tensor | None, DeviceLBFGS | None]:
    """Every size of ``run.run_plan`` in turn (the network made once, from ``weights``): targets,
    then the optimiser until that size's share of the budget is spent (steps a size leaves
    unused pass to the next one). A size the plan tiles is optimised tile by tile
    (:mod:`tiled_objective`), with the optimiser and L-BFGS history the plan chose for it.
    With a ``run.palette``, the content target and each size's first iterate are in the
    paintings' colours (see :mod:`palette`).

    Returns the last iterate (None if cancelled before the first step) and the optimiser's
    state at the end (None unless it keeps one). ``initial(hw)``: the first iterate.
    ``trim_heap``: tiled sizes give the heap's free memory back after each step (see
    :class:`TiledObjective`).
    """
    params, precision, content, palette = run.params, run.precision, run.content, run.palette
    region_masks, extra_loss = run.region_masks, run.extra_loss
    device = precision.device
    net = precision.prepare(VGGFeatures(weights, [losses.CONTENT_LAYER, *losses.STYLE_LAYERS], params.pooling))
    paintings = recurring.with_weights(net, precision, run.paintings)  # once: the same at every size
    style_weight = losses.STYLE_WEIGHT_AT_STRENGTH_1 * params.style_strength
    offsets = torch.Generator().manual_seed(int(torch.initial_seed()) % 2**63)  # the tile grids' shifts
    x: torch.Tensor | None = None
    state: DeviceLBFGS | None = None
    stage_end = 0
    stages = zip(run.run_plan.stages, run.run_plan.sizes, run.run_plan.plans, strict=True)
    for i, (stage, hw, plan) in enumerate(stages):
        stage_end += stage.steps
        tracker.stage_index, tracker.size_hw = i, hw
        if tracker.cancelled():
            break
        tracker.report(phase="targets")
        optimizer = OPTIMIZERS[plan.optimizer]  # type: ignore[index]
        tiles = Tiles(plan.tile, sizing.MARGIN, params.seamless, plan.gram_tile) if plan.tiled else None
        with torch.no_grad():
            c_t = resized_to_device(content, hw, device)
            stage_masks = region_masks.at(hw, device) if region_masks is not None else None
            seen_content = c_t if palette is None else palette.recolour(c_t)
            if tiles is not None:
                targets = tiled_targets(net, precision, seen_content, paintings, max(hw), tiles, stage_masks)
            else:
                targets = style_targets(net, precision, seen_content, paintings, max(hw), stage_masks)
            del seen_content
            keep = (stage_masks.keep, c_t) if stage_masks is not None else None  # kept: the photo itself
        if x is None:
            x, start = starting_point(resume, optimizer.stateful, hw, device, lambda hw=hw: initial(hw))
        else:
            x = resize_image(x, hw, params.seamless)
            if palette is not None:
                x = palette.recolour(x)  # the colours' drift during the last size, taken back
            # Coarse to fine: keep the curvature pairs where it pays (at a tiled size, the newest
            # pairs its shorter history holds; both sizes' histories are held only before its tiles).
            start = optimizer.carried(state, x, plan.history if plan.tiled else None)
        state = None  # the last size's state (carried or not) is not kept through this size
        extra = extra_loss.at(hw, device) if extra_loss is not None else None
        terms = LossTerms(net, precision, style_weight, params.tv_weight, keep, extra,
                          losses.LAYER_WEIGHTS[params.layer_weights])
        if tiles is not None:
            objective: Objective | TiledObjective = TiledObjective(
                terms, targets, tiles, offsets, tracker.report_tile, sizing.LAGGED_GRAM, trim_heap)  # type: ignore[arg-type]
        else:
            objective = Objective(terms, targets)  # type: ignore[arg-type]
        del targets
        x, state = optimizer.run(objective, x, stage_end, tracker, start, history=plan.history)
        start = objective = terms = None  # type: ignore[assignment]
        if tracker.cancelled():
            break
    return x, state


def resize_image(x: torch.Tensor, hw: tuple[int, int], wrap: bool = False) -> torch.Tensor:
    """``x`` resized to ``hw`` (bicubic), clamped to [0, 1]; with ``wrap`` as a periodic image
    (padded around with its own opposite edges first, so that the edges still meet)."""
    if tuple(x.shape[-2:]) == tuple(hw):
        return x
    if not wrap:
        return F.interpolate(x, size=hw, mode="bicubic", align_corners=False).clamp_(0, 1)
    pad = 4
    h, w = x.shape[-2:]
    big = F.pad(x, (pad, pad, pad, pad), mode="circular")
    sy, sx = hw[0] / h, hw[1] / w
    ph, pw = round(pad * sy), round(pad * sx)
    out = F.interpolate(big, size=(hw[0] + 2 * ph, hw[1] + 2 * pw), mode="bicubic", align_corners=False)
    return out[..., ph : ph + hw[0], pw : pw + hw[1]].clamp_(0, 1).contiguous()


def _finish(
    x: torch.Tensor | None,
    out_hw: tuple[int, int],
    content: Image.Image,
    original_content: Image.Image,
    region_masks: Masks | None,
    preserve_colors: PreserveColors,
    device: torch.device,
    seamless: bool = False,
) -> torch.Tensor:
    """The result at ``out_hw``, ``(1, 3, H, W)`` in [0, 1], from the last iterate (the content
    if there is none): NaN as mid-grey, clamped to [0, 1], kept pixels the photo's, and with "luminance" the optimised
    luma recombined with the original photo's chroma."""
    if x is None:  # cancelled before the first step
        x = resized_to_device(content, out_hw, device)
    x = torch.nan_to_num(x.detach(), nan=0.5).clamp(0, 1)
    if tuple(x.shape[-2:]) != out_hw and seamless:
        x = resize_image(x, out_hw, wrap=True)
    elif tuple(x.shape[-2:]) != out_hw:
        x = F.interpolate(x, size=out_hw, mode="bicubic", align_corners=False, antialias=True).clamp(0, 1)
    if region_masks is not None:
        x = composite(x, (region_masks.at(out_hw, device).keep, resized_to_device(content, out_hw, device)))
    if preserve_colors == "luminance":
        x = color.recombine_luma(x, resized_to_device(original_content, out_hw, device))
    return x


def evaluate(image: Image.Image, inputs: StyleInputs, params: StyleParams, weights: VGGWeights,
             ) -> tuple[float, float, float]:
    """Losses of a finished ``image`` at its own size: (content, style, total objective).

    The targets are derived from ``inputs`` as :func:`stylize` derives them at its final size
    (style blend and colour preservation included; with "luminance" the image's luma is
    judged), so results of different schedules, optimisers or continued runs can be
    compared on one scale. With masks or a keep mask in ``inputs`` (as given to :func:`stylize`)
    the targets are the regions' guided Gram targets, as in the run. The image is
    judged as it is, not composited with the photo again: the network saw
    ``x * (1 - keep) + photo * keep`` during the run and :func:`stylize` returns exactly
    that composite, which compositing again would change at soft mask edges.
    """
    device = resolve_device(params.device)
    precision = Precision.choose("fp32", device)
    net = precision.prepare(VGGFeatures(weights, [losses.CONTENT_LAYER, *losses.STYLE_LAYERS], params.pooling))
    content = inputs.content
    region_masks = prepare_masks((content.height, content.width), len(inputs.paintings), inputs.masks,
                                 inputs.keep_mask)
    content, styles, image_seen = prepare_inputs(content, inputs.paintings, params.preserve_colors, image)
    assert image_seen is not None
    style_weights = list(inputs.style_weights)  # type: ignore[arg-type]  # a tuple once made
    palette = palette_for(params, styles, style_weights, region_masks)
    long_side = max(image_seen.size)
    with torch.no_grad():
        hw = working_hw((image_seen.height, image_seen.width))
        c_t = resized_to_device(content, hw, device)
        stage_masks = region_masks.at(hw, device) if region_masks is not None else None
        paintings = Paintings(styles, style_weights, params.style_scale, params.leave_out_objects)
        targets = style_targets(net, precision, c_t if palette is None else palette.recolour(c_t), paintings,
                                long_side, stage_masks)
        terms = LossTerms(net, precision, losses.STYLE_WEIGHT_AT_STRENGTH_1 * params.style_strength, params.tv_weight,
                          layer_weights=losses.LAYER_WEIGHTS[params.layer_weights])
        objective = Objective(terms, targets)
        x = pil_to_tensor(image_seen).to(device)
        if tuple(x.shape[-2:]) != tuple(c_t.shape[-2:]):
            x = F.interpolate(x, size=c_t.shape[-2:], mode="bicubic", align_corners=False)
        total, c, s = objective(x)
    return float(c), float(s), float(total)


__all__ = ["stylize", "evaluate", "ProgressCallback", "StyleInputs", "RunOptions"]
