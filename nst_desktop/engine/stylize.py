"""The optimisation: Gatys et al. (2016) style transfer, coarse to fine.

The image is optimised directly in pixel space: an RGB tensor ``(1, 3, H, W)`` in
[0, 1] (unconstrained during L-BFGS, clamped after each Adam step; the output is
always clamped). At each size of the schedule the content and style targets are
re-derived from the original images resized to that size; the image is upsampled
(bicubic) to the next size and optimisation continues.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image

from nst_desktop.app_info import APP_VERSION
from nst_desktop.engine import color, losses, memory, schedule
from nst_desktop.engine.devices import configure_threads, free_memory_bytes, resolve_device
from nst_desktop.engine.errors import EngineError, NumericalError, OutOfMemory
from nst_desktop.engine.images import load_image, pil_to_tensor, resize_long_side, scaled_size, tensor_to_pil
from nst_desktop.engine.params import INITS, Progress, StyleParams, StyleResult
from nst_desktop.engine.provenance import masks_to_metadata
from nst_desktop.engine.vgg import VGGFeatures
from nst_desktop.engine.weights import VGGWeights, load_weights

ProgressCallback = Callable[[Progress], None]

#: Adam: learning rate in [0, 1] pixel units, moment decays, and the EMA decay of the output.
ADAM_LR = 0.02
ADAM_BETAS = (0.9, 0.99)
EMA_DECAY = 0.95
#: L-BFGS: curvature pairs kept (memory: see memory.py) and the restart limit after NaN/Inf.
LBFGS_HISTORY = memory.LBFGS_HISTORY
MAX_RESTARTS = 3
#: Smallest side (px) the network is run at: relu5_1 is 16x smaller than the input.
MIN_SIDE = 16
#: Standard deviation of the noise init around mid-grey, in [0, 1] pixel units.
NOISE_STD = 0.25


class _Stop(Exception):
    """Raised inside the loss closure to leave the optimiser's loop."""


class _NonFinite(Exception):
    """Raised inside the loss closure when the loss is NaN or Inf."""


@dataclass
class _Tracker:
    """Counts loss evaluations over the whole run, reports progress, checks cancel."""

    total: int
    stages: list[schedule.Stage]
    on_progress: ProgressCallback | None
    cancel: threading.Event | None
    preview_every: int
    t0: float
    out_hw: tuple[int, int]
    step: int = 0
    work_done: float = 0.0  # pixel-steps done, for the ETA
    stage_index: int = 0
    size_hw: tuple[int, int] = (0, 0)
    content: float = math.nan
    style: float = math.nan
    loss: float = math.nan

    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def eta(self) -> float | None:
        """Seconds left, from the time per pixel-step so far and the pixel-steps to come."""
        if self.work_done <= 0:
            return None
        elapsed = time.perf_counter() - self.t0
        end = 0
        remaining = 0.0
        for i, st in enumerate(self.stages):
            end += st.steps
            if i == self.stage_index:
                remaining += max(0, end - self.step) * self.size_hw[0] * self.size_hw[1]
            elif i > self.stage_index:
                h, w = scaled_size(self.out_hw, st.long_side)
                remaining += st.steps * h * w
        return elapsed / self.work_done * remaining

    def report(self, image: Callable[[], torch.Tensor] | None = None, phase: str = "optimise") -> None:
        if self.on_progress is None:
            return
        preview = None
        if image is not None and self.preview_every and (self.step % self.preview_every == 0):
            preview = tensor_to_pil(image())
        self.on_progress(
            Progress(
                step=self.step,
                total=self.total,
                stage=self.stage_index,
                stages=len(self.stages),
                size_hw=self.size_hw,
                content_loss=self.content,
                style_loss=self.style,
                loss=self.loss,
                elapsed_s=time.perf_counter() - self.t0,
                eta_s=self.eta(),
                preview=preview,
                phase=phase,
            )
        )


def _composite(x: torch.Tensor, keep: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
    """``x`` with the keep-the-photo pixels replaced by the photo (``keep = (mask, photo)``)."""
    if keep is None:
        return x
    mask, photo = keep
    return x * (1 - mask) + photo * mask


class _Objective:
    """Loss of an image at one size against fixed targets."""

    def __init__(
        self,
        net: VGGFeatures,
        targets: losses.StyleTargets,
        style_weight: float,
        tv_weight: float,
        precision: Precision,
        keep: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> None:
        self.net = net
        self.targets = targets
        self.style_weight = style_weight
        self.tv_weight = tv_weight
        self.precision = precision
        self.keep = keep

    def compose(self, x: torch.Tensor) -> torch.Tensor:
        return _composite(x, self.keep)

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.compose(x)
        feats = self.precision.features(self.net, x)
        c = losses.content_loss(feats, self.targets)
        s = losses.style_loss(feats, self.targets)
        total = c + self.style_weight * s
        if self.tv_weight:
            total = total + self.tv_weight * losses.tv_loss(x)
        return total, c, s


@dataclass(frozen=True)
class Precision:
    """How the network runs on a device: memory format and autocast dtype.

    On CUDA the network runs channels-last with cuDNN autotuning and TF32 matmuls,
    optionally under bfloat16 autocast. Gram matrices and losses are always computed
    in float32 (see :mod:`losses`). The optimised image stays float32, contiguous
    NCHW (L-BFGS flattens it); it is converted on the way into the network.
    """

    device: torch.device
    autocast_dtype: torch.dtype | None
    channels_last: bool

    @staticmethod
    def choose(precision: str, device: torch.device) -> Precision:
        """``precision`` is "auto" (TF32 on CUDA, fp32 elsewhere), "fp32", "tf32" or "bf16"."""
        cuda = device.type == "cuda"
        if cuda:
            torch.backends.cudnn.benchmark = True
            tf32 = precision in ("auto", "tf32", "bf16")
            torch.backends.cuda.matmul.allow_tf32 = tf32
            torch.backends.cudnn.allow_tf32 = tf32
        bf16 = precision == "bf16" and bf16_supported(device)
        return Precision(device, torch.bfloat16 if bf16 else None, channels_last=cuda)

    def prepare(self, net: VGGFeatures) -> VGGFeatures:
        net = net.to(self.device)
        return net.to(memory_format=torch.channels_last) if self.channels_last else net

    def features(self, net: VGGFeatures, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        if self.autocast_dtype is None:
            return net(x)
        with torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype):
            return net(x)


def bf16_supported(device: torch.device) -> bool:
    """True where bfloat16 autocast is fast: CUDA GPUs of compute capability 8.0 (Ampere) and newer."""
    if device.type != "cuda":
        return False
    major, _minor = torch.cuda.get_device_capability(device)
    return major >= 8


def working_hw(hw: tuple[int, int]) -> tuple[int, int]:
    """``hw`` enlarged (aspect kept) so that its short side is at least :data:`MIN_SIDE` px.

    VGG19 halves the image four times before relu5_1, so a narrower image has no
    deep features; such a panorama is optimised larger and resized at the end.
    """
    h, w = hw
    short = min(h, w)
    if short >= MIN_SIDE:
        return hw
    return (MIN_SIDE, round(w * MIN_SIDE / h)) if h < w else (round(h * MIN_SIDE / w), MIN_SIDE)


#: A style image as the optimisation sees it: an RGB Pillow image, or a ``(1, 3, H, W)``
#: float tensor (colour-matched styles stay unclamped floats; see :func:`prepare_inputs`).
StyleSource = Image.Image | torch.Tensor


def _hw_of(img: StyleSource) -> tuple[int, int]:
    return (img.height, img.width) if isinstance(img, Image.Image) else (int(img.shape[-2]), int(img.shape[-1]))


def _style_long_side(style: StyleSource, long_side: int, style_scale: float) -> int:
    """Long side to resize the style image to: ``long_side * style_scale``, short side at least MIN_SIDE."""
    target = max(1, round(long_side * style_scale))
    return max(working_hw(scaled_size(_hw_of(style), target)))


def _resized_to_device(img: Image.Image, hw: tuple[int, int], device: torch.device) -> torch.Tensor:
    """``img`` resized to exactly ``hw`` (Lanczos) as a tensor on ``device``."""
    if (img.height, img.width) != hw:
        img = img.resize((hw[1], hw[0]), Image.Resampling.LANCZOS)
    return pil_to_tensor(img).to(device)


def _to_device(img: StyleSource, long_side: int, device: torch.device) -> torch.Tensor:
    """``img`` resized to ``long_side`` (Lanczos for Pillow images, antialiased bicubic for tensors)."""
    if isinstance(img, Image.Image):
        return pil_to_tensor(resize_long_side(img, long_side)).to(device)
    hw = scaled_size(_hw_of(img), long_side)
    if hw != _hw_of(img):
        img = F.interpolate(img, size=hw, mode="bicubic", align_corners=False, antialias=True)
    return img.to(device)


def _initial_image(
    params: StyleParams,
    content: Image.Image,
    hw: tuple[int, int],
    device: torch.device,
    seed: int,
    init_image: Image.Image | None = None,
) -> torch.Tensor:
    if init_image is not None:
        return _resized_to_device(init_image, hw, device)
    if params.init == "content":
        return _resized_to_device(content, hw, device)
    if params.init == "noise":
        gen = torch.Generator().manual_seed(seed)
        noise = torch.randn((1, 3, *hw), generator=gen) * NOISE_STD + 0.5
        return noise.clamp_(0, 1).to(device)
    init_img = load_image(params.init)
    return pil_to_tensor(init_img.resize((hw[1], hw[0]), Image.Resampling.LANCZOS)).to(device)


def normalize_styles(
    style: Image.Image | Sequence[Image.Image], style_weights: Sequence[float] | None = None
) -> tuple[list[Image.Image], list[float]]:
    """One or several style images and their weights, checked: ``(images, weights)``.

    ``style_weights`` defaults to 1 for each image. Weights must be finite, >= 0, with
    a positive sum; they are relative (the Gram targets are ``sum w_i G_i / sum w_i``).
    Raises ``ValueError``.
    """
    styles = [style] if isinstance(style, Image.Image) else list(style)
    if not styles:
        raise ValueError("at least one style image is needed")
    weights = [1.0] * len(styles) if style_weights is None else [float(w) for w in style_weights]
    if len(weights) != len(styles):
        raise ValueError(f"{len(styles)} style images but {len(weights)} style weights")
    if any(not math.isfinite(w) or w < 0 for w in weights):
        raise ValueError(f"style weights must be finite and 0 or more, not {weights}")
    if sum(weights) <= 0:
        raise ValueError("at least one style weight must be above 0")
    return styles, weights


def prepare_inputs(
    content: Image.Image,
    styles: Sequence[Image.Image],
    preserve_colors: str,
    init_image: Image.Image | None = None,
) -> tuple[Image.Image, list[StyleSource], Image.Image | None]:
    """The images the optimisation actually sees, after colour preservation.

    "luminance": content, styles (luma matched to the content's mean/std) and init image
    become grey luma images; "match": the styles' colours are matched to the content's,
    kept as unclamped float tensors (VGG accepts values outside [0, 1]; clamping a
    saturated painting to the RGB cube would move its covariance by up to ~20%);
    "none": unchanged. See :mod:`nst_desktop.engine.color`.
    """
    if preserve_colors == "luminance":
        grey_init = color.luminance_image(init_image) if init_image is not None else None
        return color.luminance_image(content), [color.luminance_image(s, like=content) for s in styles], grey_init
    if preserve_colors == "match":
        content_t = pil_to_tensor(content)
        return content, [color.match_color_tensor(pil_to_tensor(s), content_t) for s in styles], init_image
    return content, list(styles), init_image


@dataclass
class Masks:
    """Spatial control at the content's resolution: ``styles`` ``(S, 1, H, W)`` (style i's
    region, with the keep-the-photo region already removed) and ``keep`` ``(1, 1, H, W)``
    (pixels that keep the photo: the explicit keep mask, and wherever no style mask
    reaches). ``styles`` is None when only a keep mask was given (the styles, blended as
    usual, then apply wherever the photo is not kept)."""

    styles: torch.Tensor | None
    keep: torch.Tensor

    def at(self, hw: tuple[int, int], device: torch.device) -> Masks:
        def resize(m: torch.Tensor) -> torch.Tensor:
            if tuple(m.shape[-2:]) != hw:
                m = F.interpolate(m, size=hw, mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)
            return m.to(device)

        return Masks(None if self.styles is None else resize(self.styles), resize(self.keep))


def mask_tensor(mask: Image.Image, hw: tuple[int, int]) -> torch.Tensor:
    """A mask image (white = 1, black = 0; any mode, converted to grey) as ``(1, 1, H, W)``
    in [0, 1], resized to ``hw`` (no matter its aspect ratio)."""
    if not isinstance(mask, Image.Image):
        raise ValueError(f"a mask must be an image, not {type(mask).__name__}")
    grey = mask.convert("L")
    if (grey.height, grey.width) != hw:
        grey = grey.resize((hw[1], hw[0]), Image.Resampling.BILINEAR)
    data = torch.frombuffer(bytearray(grey.tobytes()), dtype=torch.uint8)
    return (data.to(torch.float32) / 255.0).reshape(1, 1, *hw)


def prepare_masks(
    content_hw: tuple[int, int],
    n_styles: int,
    masks: Sequence[Image.Image] | None,
    keep_mask: Image.Image | None,
) -> Masks | None:
    """Checked masks at the content's size (see :class:`Masks`); None without any mask."""
    if masks is None and keep_mask is None:
        return None
    keep = mask_tensor(keep_mask, content_hw) if keep_mask is not None else torch.zeros(1, 1, *content_hw)
    if masks is None:
        return Masks(None, keep)
    masks = list(masks)
    if len(masks) != n_styles:
        raise ValueError(f"{n_styles} style images but {len(masks)} masks: give one mask per style")
    styles = torch.cat([mask_tensor(m, content_hw) for m in masks]) * (1 - keep)
    covered = styles.amax(dim=0, keepdim=True)
    return Masks(styles, torch.maximum(keep, 1 - covered))


def _style_targets(
    net: VGGFeatures,
    precision: Precision,
    content_t: torch.Tensor,
    styles: Sequence[StyleSource],
    style_weights: Sequence[float],
    long_side: int,
    style_scale: float,
    device: torch.device,
    masks: Masks | None = None,
) -> losses.StyleTargets:
    """Targets at one size: content activations and the weighted mean of the styles' Gram
    matrices; with ``masks`` (at this size), one guided region per style (see :mod:`losses`)."""
    style_feats = []
    used_weights = []
    used_masks = []
    for i, (img, w) in enumerate(zip(styles, style_weights, strict=True)):
        if w <= 0:
            continue  # contributes nothing; skipping it also keeps (1, 0) identical to one style
        s_t = _to_device(img, _style_long_side(img, long_side, style_scale), device)
        style_feats.append(precision.features(net, s_t))
        used_weights.append(w)
        if masks is not None and masks.styles is not None:
            used_masks.append(masks.styles[i : i + 1])
        del s_t
    content_feats = precision.features(net, content_t)
    if masks is not None and masks.styles is not None:
        return losses.make_region_targets(content_feats, style_feats, used_masks, style_weights=used_weights)
    targets = losses.make_targets(content_feats, style_feats, style_weights=used_weights)
    if masks is not None:  # only a keep mask: the blend applies where the photo is not kept
        apply = 1 - masks.keep
        if float(apply.mean()) > 0:
            region = losses.Region(losses.masks_at_layers(content_feats, apply), targets.grams,
                                   targets.gram_energies, 1.0)
            targets.regions = [region]
        else:
            targets.regions = []
    return targets


def stylize(
    content: Image.Image,
    style: Image.Image | Sequence[Image.Image],
    params: StyleParams,
    weights: VGGWeights | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    *,
    style_weights: Sequence[float] | None = None,
    init_image: Image.Image | None = None,
    masks: Sequence[Image.Image] | None = None,
    keep_mask: Image.Image | None = None,
) -> StyleResult:
    """Paint ``content`` in the style of ``style`` (RGB Pillow images).

    ``style`` is one image or several; with several, ``style_weights`` (default: equal)
    blend them: the style targets are the weighted mean of their Gram matrices,
    ``G = sum w_i G_i / sum w_i`` (a weight of 0 leaves that image out entirely).

    ``init_image`` (RGB) replaces ``params.init`` as the starting image, resized to the
    first size of the schedule: to *continue* from an earlier result, pass it here
    (usually with ``coarse_to_fine=False``, so that optimisation goes on at the final
    size). The optimiser starts afresh (a new L-BFGS history); its state is not kept
    between runs. ``params.preserve_colors`` applies as described in :mod:`color`.

    Spatial control (Gatys et al. 2017): ``masks`` gives one mask image per style
    (white = paint this style here, black = not; any mode, resized to the content);
    style ``i`` is then matched only inside its mask, with guided Gram matrices (see
    :func:`losses.guided_gram`), and ``style_weights`` scale the regions' shares of the
    style loss. ``keep_mask`` (white = keep) marks pixels that keep the photo; so do
    pixels that no style mask covers. Keeping is done by compositing, during the
    optimisation (the network sees ``x * (1 - keep) + photo * keep``, so kept pixels
    get no gradient and the stylised regions are judged next to the real photo) and
    in the output, so kept pixels equal the photo (up to resampling at soft edges).

    Runs the coarse-to-fine schedule of :mod:`schedule` within ``params.steps`` loss
    evaluations. ``on_progress`` is called after every evaluation (with a preview
    every ``params.preview_every`` steps) from the calling thread. Setting ``cancel``
    from another thread stops the run within one evaluation; the best image so far
    is returned with ``cancelled=True``.

    Raises :class:`OutOfMemory` (with the largest size estimated to fit) if the
    device runs out of memory, ``ValueError`` for bad parameters, and
    :class:`EngineError` subclasses for bad weights or images.
    """
    params.validate()
    styles, style_weights = normalize_styles(style, style_weights)
    original_content = content
    continued = init_image is not None
    if init_image is None and params.init not in INITS:
        init_image = load_image(params.init)  # a start image file: colour-preserved like the others
    region_masks = prepare_masks((content.height, content.width), len(styles), masks, keep_mask)
    content, styles, init_image = prepare_inputs(content, styles, params.preserve_colors, init_image)
    t0 = time.perf_counter()
    device = resolve_device(params.device)
    configure_threads(device)
    seed = params.seed if params.seed is not None else secrets.randbelow(2**31)
    torch.manual_seed(seed)
    if weights is None:
        weights = load_weights(params.weights)

    out_hw = scaled_size((content.height, content.width), params.size)
    stages = schedule.plan(params.size, params.steps, params.start_size, params.coarse_to_fine)
    tracker = _Tracker(
        total=sum(s.steps for s in stages),
        stages=stages,
        on_progress=on_progress,
        cancel=cancel,
        preview_every=params.preview_every,
        t0=t0,
        out_hw=out_hw,
    )
    style_weight = losses.STYLE_WEIGHT_AT_STRENGTH_1 * params.style_strength

    try:
        precision = Precision.choose(params.precision, device)
        net = precision.prepare(VGGFeatures(weights, [losses.CONTENT_LAYER, *losses.STYLE_LAYERS], params.pooling))
        x: torch.Tensor | None = None
        stage_end = 0
        for i, stage in enumerate(stages):
            stage_end += stage.steps  # steps a stage leaves unused pass to the next one
            hw = working_hw(scaled_size(out_hw, stage.long_side))
            tracker.stage_index, tracker.size_hw = i, hw
            if tracker.cancelled():
                break
            tracker.report(phase="targets")
            with torch.no_grad():
                c_t = _resized_to_device(content, hw, device)
                stage_masks = region_masks.at(hw, device) if region_masks is not None else None
                targets = _style_targets(net, precision, c_t, styles, style_weights, max(hw), params.style_scale,
                                         device, stage_masks)
                keep = (stage_masks.keep, c_t) if stage_masks is not None else None
            if x is None:
                x = _initial_image(params, content, hw, device, seed, init_image)
            else:
                x = F.interpolate(x, size=hw, mode="bicubic", align_corners=False).clamp_(0, 1)
            objective = _Objective(net, targets, style_weight, params.tv_weight, precision, keep)
            runner = _run_lbfgs if params.optimizer == "lbfgs" else _run_adam
            x = runner(objective, x, stage_end, tracker)
            if tracker.cancelled():
                break
    except RuntimeError as exc:  # torch.OutOfMemoryError is one; MPS reports OOM as a plain RuntimeError
        if isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower():
            _empty_cache(device)
            raise _oom_error(device, params, out_hw) from None
        raise

    if x is None:  # cancelled before the first step
        x = _resized_to_device(content, out_hw, device)
    x = torch.nan_to_num(x.detach(), nan=0.5).clamp(0, 1)
    if tuple(x.shape[-2:]) != out_hw:
        x = F.interpolate(x, size=out_hw, mode="bicubic", align_corners=False, antialias=True).clamp(0, 1)
    if region_masks is not None:
        x = _composite(x, (region_masks.at(out_hw, device).keep, _resized_to_device(content, out_hw, device)))
    if params.preserve_colors == "luminance":
        x = color.recombine_luma(x, _resized_to_device(original_content, out_hw, device))
    image = tensor_to_pil(x)
    elapsed = time.perf_counter() - t0
    meta = run_metadata(params, weights, seed, tracker.step, elapsed, tracker.cancelled())
    meta["style_weights"] = list(style_weights)
    meta["continued"] = continued
    if region_masks is not None:
        meta["regions"] = masks_to_metadata(masks, keep_mask)  # the masks themselves, see provenance.py
    return StyleResult(
        image=image,
        cancelled=tracker.cancelled(),
        steps_done=tracker.step,
        content_loss=tracker.content,
        style_loss=tracker.style,
        elapsed_s=elapsed,
        metadata=meta,
    )


def run_metadata(
    params: StyleParams, weights: VGGWeights, seed: int, steps_done: int, elapsed_s: float, cancelled: bool
) -> dict[str, Any]:
    """The settings that made an image, for embedding in the saved file."""
    p = params.to_dict()
    p["seed"] = seed
    return {
        "program": "NST Desktop",
        "version": APP_VERSION,
        "params": p,
        "weights_name": weights.name,
        "steps_done": steps_done,
        "elapsed_s": round(elapsed_s, 2),
        "cancelled": cancelled,
    }


def _run_lbfgs(objective: _Objective, x0: torch.Tensor, budget_end: int, tracker: _Tracker) -> torch.Tensor:
    """L-BFGS with strong-Wolfe line search until ``tracker.step`` reaches ``budget_end``.

    Returns the best iterate (lowest loss) seen. If the loss becomes NaN/Inf, or the
    optimiser stops on its own before the budget is spent, it restarts from the best
    iterate with an empty history; after :data:`MAX_RESTARTS` restarts the stage ends.
    """
    best = _Best(x0)
    restarts = 0
    while tracker.step < budget_end and not tracker.cancelled() and restarts <= MAX_RESTARTS:
        x = best.x.clone().requires_grad_(True)
        opt = torch.optim.LBFGS(
            [x],
            lr=1.0,
            max_iter=2 * (budget_end - tracker.step),
            max_eval=budget_end - tracker.step,
            tolerance_grad=0.0,
            tolerance_change=0.0,
            history_size=LBFGS_HISTORY,
            line_search_fn="strong_wolfe",
        )
        before = tracker.step
        try:
            opt.step(_LbfgsClosure(objective, x, opt, tracker, budget_end, best))
        except _Stop:
            break
        except _NonFinite:
            pass
        if tracker.step == before:
            break  # no progress possible at this size
        restarts += 1
    if not math.isfinite(best.loss) and tracker.step > 0 and not tracker.cancelled():
        raise NumericalError("The optimisation produced NaN/Inf from the start.")
    return best.x


def _read_step(
    total: torch.Tensor, c: torch.Tensor, s: torch.Tensor, grad: torch.Tensor
) -> tuple[float, float, float, bool]:
    """The step's losses and whether loss and gradient are finite, in one device-to-host copy.

    On a GPU every ``float(tensor)`` waits for the device; reading all four at once
    costs one wait per step instead of four.
    """
    finite = torch.isfinite(total.detach()) & torch.isfinite(grad).all()
    values = torch.stack([total.detach().float(), c.detach().float(), s.detach().float(), finite.float()]).tolist()
    return values[0], values[1], values[2], values[3] == 1.0 and math.isfinite(values[0])


class _Best:
    """The lowest-loss iterate seen so far (a detached copy)."""

    def __init__(self, x0: torch.Tensor) -> None:
        self.x = x0.detach().clone()
        self.loss = math.inf

    def offer(self, x: torch.Tensor, loss: float) -> None:
        if loss < self.loss:
            self.loss = loss
            self.x = x.detach().clone()


class _LbfgsClosure:
    """Loss-and-gradient closure for ``torch.optim.LBFGS`` that also counts, reports and cancels."""

    def __init__(
        self,
        objective: _Objective,
        x: torch.Tensor,
        opt: torch.optim.Optimizer,
        tracker: _Tracker,
        budget_end: int,
        best: _Best,
    ) -> None:
        self.objective, self.x, self.opt = objective, x, opt
        self.tracker, self.budget_end, self.best = tracker, budget_end, best

    def __call__(self) -> torch.Tensor:
        tracker, x = self.tracker, self.x
        if tracker.cancelled() or tracker.step >= self.budget_end:
            raise _Stop
        self.opt.zero_grad(set_to_none=True)
        total, c, s = self.objective(x)
        total.backward()
        assert x.grad is not None
        value, c_value, s_value, finite = _read_step(total, c, s, x.grad)
        if not finite:
            raise _NonFinite
        tracker.step += 1
        tracker.work_done += x.shape[-1] * x.shape[-2]
        tracker.content, tracker.style, tracker.loss = c_value, s_value, value
        self.best.offer(x, value)
        tracker.report(lambda: self.objective.compose(x.detach()))
        return total


def _run_adam(objective: _Objective, x0: torch.Tensor, budget_end: int, tracker: _Tracker) -> torch.Tensor:
    """Adam until ``tracker.step`` reaches ``budget_end``; returns the EMA of the iterates."""
    x = x0.detach().clone().requires_grad_(True)
    ema = x0.detach().clone()
    opt = torch.optim.Adam([x], lr=ADAM_LR, betas=ADAM_BETAS)
    i = 0
    while tracker.step < budget_end and not tracker.cancelled():
        opt.zero_grad(set_to_none=True)
        total, c, s = objective(x)
        total.backward()
        assert x.grad is not None
        value, c_value, s_value, finite = _read_step(total, c, s, x.grad)
        if not finite:
            raise NumericalError("The loss became NaN/Inf during Adam optimisation.")
        opt.step()
        with torch.no_grad():
            x.clamp_(0, 1)
            decay = min(EMA_DECAY, (1 + i) / (10 + i))  # debiased start
            ema.mul_(decay).add_(x.detach(), alpha=1 - decay)
        tracker.step += 1
        tracker.work_done += x.shape[-1] * x.shape[-2]
        tracker.content, tracker.style, tracker.loss = c_value, s_value, value
        tracker.report(lambda: objective.compose(ema))
        i += 1
    return ema


def _empty_cache(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()


def _oom_error(device: torch.device, params: StyleParams, out_hw: tuple[int, int]) -> OutOfMemory:
    free = free_memory_bytes(device)
    fits = (
        memory.largest_fitting_long_side(int(free * 0.9), out_hw, params.optimizer) if free else None
    )
    hint = f" About {fits} px (long side) should fit." if fits else ""
    return OutOfMemory(
        f"The {device.type.upper()} ran out of memory at {params.size} px.{hint}",
        size=params.size,
        fits=fits,
    )



def evaluate(
    image: Image.Image,
    content: Image.Image,
    style: Image.Image | Sequence[Image.Image],
    params: StyleParams,
    weights: VGGWeights,
    style_weights: Sequence[float] | None = None,
    masks: Sequence[Image.Image] | None = None,
    keep_mask: Image.Image | None = None,
) -> tuple[float, float, float]:
    """Losses of a finished ``image`` at its own size: (content, style, total objective).

    The targets are derived as :func:`stylize` derives them at its final size (style
    blend and colour preservation included; with "luminance" the image's luma is
    judged), so results of different schedules, optimisers or continued runs can be
    compared on one scale. With ``masks`` / ``keep_mask`` (as given to :func:`stylize`)
    the style loss uses the regions' guided Gram targets and the image is judged as
    composited with the photo where the photo is kept, as during the run.
    """
    device = resolve_device(params.device)
    precision = Precision.choose("fp32", device)
    net = precision.prepare(VGGFeatures(weights, [losses.CONTENT_LAYER, *losses.STYLE_LAYERS], params.pooling))
    styles, style_weights = normalize_styles(style, style_weights)
    region_masks = prepare_masks((content.height, content.width), len(styles), masks, keep_mask)
    content, styles, image_seen = prepare_inputs(content, styles, params.preserve_colors, image)
    assert image_seen is not None
    long_side = max(image_seen.size)
    with torch.no_grad():
        hw = working_hw((image_seen.height, image_seen.width))
        c_t = _resized_to_device(content, hw, device)
        stage_masks = region_masks.at(hw, device) if region_masks is not None else None
        targets = _style_targets(net, precision, c_t, styles, style_weights, long_side, params.style_scale, device,
                                 stage_masks)
        keep = (stage_masks.keep, c_t) if stage_masks is not None else None
        objective = _Objective(net, targets, losses.STYLE_WEIGHT_AT_STRENGTH_1 * params.style_strength,
                               params.tv_weight, precision, keep)
        x = pil_to_tensor(image_seen).to(device)
        if tuple(x.shape[-2:]) != tuple(c_t.shape[-2:]):
            x = F.interpolate(x, size=c_t.shape[-2:], mode="bicubic", align_corners=False)
        total, c, s = objective(x)
    return float(c), float(s), float(total)


__all__ = ["stylize", "evaluate", "normalize_styles", "prepare_inputs", "prepare_masks", "mask_tensor",
           "run_metadata", "EngineError", "ProgressCallback"]
