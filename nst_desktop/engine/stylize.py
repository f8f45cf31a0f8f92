"""The optimisation: Gatys et al. (2016) style transfer, coarse to fine.

The image is optimised directly in pixel space: an RGB tensor ``(1, 3, H, W)`` in
[0, 1] (unconstrained during L-BFGS, clamped after each Adam step; the output is
always clamped). At each size of the schedule the content and style targets are
re-derived from the original images resized to that size; the image is upsampled
(bicubic) to the next size and optimisation continues.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import math
import os
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
from nst_desktop.engine.devices import configure_threads, free_memory_bytes, mkldnn_bf16_supported, resolve_device
from nst_desktop.engine.errors import EngineError, NumericalError, OutOfMemory
from nst_desktop.engine.images import load_image, pil_to_tensor, resize_long_side, scaled_size, tensor_to_pil
from nst_desktop.engine.lbfgs import DeviceLBFGS
from nst_desktop.engine.params import DEFAULT_QUALITY, INITS, Progress, StyleParams, StyleResult, preset_steps
from nst_desktop.engine.provenance import masks_to_metadata
from nst_desktop.engine.vgg import Tap, VGGFeatures
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
#: Device types on which the L-BFGS curvature pairs are carried from one size of the
#: schedule to the next (:meth:`DeviceLBFGS.resized`). On the CPU it lowered the loss
#: of short schedules (cat x night at 256 px, 60 steps: 1.175 -> 1.130). Not yet measured
#: on GPUs, where the resampling also briefly needs the history of both sizes in memory
#: (beyond the peak that :mod:`memory` estimates).
CARRY_HISTORY = {"cpu"}
#: Least seconds between previews on GPUs (5 a second is smooth; more costs time).
GPU_PREVIEW_INTERVAL_S = 0.2
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
    #: Least seconds between two previews (on GPUs steps take milliseconds, and a
    #: preview costs a device-to-host copy and a Pillow conversion).
    min_preview_interval_s: float = 0.0
    last_preview: float = -math.inf

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
            now = time.perf_counter()
            if now - self.last_preview >= self.min_preview_interval_s:
                preview = tensor_to_pil(image())
                self.last_preview = now
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
        # Plain style targets: Gram matrices computed in the network's graph (see losses.GramTap).
        tap = losses.GramTap(losses.STYLE_LAYERS) if self.targets.regions is None else None
        feats = self.precision.features(self.net, x, tap)
        c = losses.content_loss(feats, self.targets)
        s = losses.style_loss(feats, self.targets, grams=tap.grams if tap is not None else None)
        total = c + self.style_weight * s
        if self.tv_weight:
            total = total + self.tv_weight * losses.tv_loss(x)
        return total, c, s


@dataclass(frozen=True)
class Precision:
    """How the network runs on a device: memory format, compute dtype, CUDA graphs.

    The network runs channels-last (faster on CUDA and with oneDNN on CPUs), with
    TF32 convolutions on CUDA, optionally in bfloat16 (``compute_dtype``: the weights
    are converted once, which computes what bfloat16 autocast would, see
    :meth:`VGGFeatures.to_compute_dtype`). Gram matrices, losses and the optimiser's
    inner products are always float32 (matmul TF32 is switched off; see :mod:`losses`). The optimised image stays
    float32, contiguous NCHW (the optimiser flattens it); it is converted on the way
    into the network. ``cuda_graphs``: capture each size's optimisation step as a CUDA
    graph (see :func:`_run_lbfgs`).
    """

    device: torch.device
    compute_dtype: torch.dtype | None
    channels_last: bool
    cuda_graphs: bool = False

    @staticmethod
    def choose(precision: str, device: torch.device) -> Precision:
        """``precision`` is "auto", "fp32", "tf32" or "bf16".

        "auto": TF32 convolutions on CUDA; a bfloat16 network on CPUs with AMX (where
        it is several times faster than float32 and keeps the quality target, see
        :data:`CPU_BF16_AUTO`); float32 elsewhere. "bf16" falls back to float32 where
        bfloat16 is not supported.
        """
        cuda = device.type == "cuda"
        if cuda:
            # cuDNN's heuristics, not autotuning: on an H100 autotuning made steps at most 2 %
            # faster (512-2048 px) but cost about 4.5 s at every new image size (each size
            # of the schedule, each new aspect ratio). NST_CUDNN_BENCHMARK=1 turns it on.
            torch.backends.cudnn.benchmark = os.environ.get("NST_CUDNN_BENCHMARK", "0") == "1"
            torch.backends.cudnn.allow_tf32 = precision in ("auto", "tf32", "bf16")
            torch.backends.cuda.matmul.allow_tf32 = False  # Gram matrices and L-BFGS stay float32
        if precision == "bf16":
            bf16 = bf16_supported(device)
        else:
            bf16 = precision == "auto" and device.type == "cpu" and CPU_BF16_AUTO and cpu_has_amx_bf16()
        graphs = cuda and os.environ.get("NST_CUDA_GRAPHS", "1") != "0"
        return Precision(device, torch.bfloat16 if bf16 else None, channels_last=device.type in ("cuda", "cpu"),
                         cuda_graphs=graphs)

    def prepare(self, net: VGGFeatures) -> VGGFeatures:
        net = net.to(self.device).to_compute_dtype(self.compute_dtype)
        return net.to(memory_format=torch.channels_last) if self.channels_last else net

    def features(self, net: VGGFeatures, x: torch.Tensor, tap: Tap | None = None) -> dict[str, torch.Tensor]:
        """The network's activations of ``x`` (RGB in [0, 1], float32, NCHW); in ``compute_dtype``.

        ``tap``: see :meth:`VGGFeatures.forward`.
        """
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return net(x, tap)


#: Run the network in bfloat16 on AMX CPUs under precision "auto" (see :meth:`Precision.choose`).
CPU_BF16_AUTO = True


def cpu_has_amx_bf16() -> bool:
    """True if this CPU has AMX bfloat16 tiles (Intel Sapphire Rapids and newer) and oneDNN uses them."""
    try:
        caps = torch._C._cpu._get_cpu_capability()
        return bool(caps.get("amx_bf16")) and mkldnn_bf16_supported()
    except (AttributeError, RuntimeError):
        return False


def bf16_supported(device: torch.device) -> bool:
    """True where a bfloat16 network is fast: CUDA GPUs of compute capability 8.0 (Ampere) and
    newer, and CPUs with AMX."""
    if device.type == "cpu":
        return cpu_has_amx_bf16()
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


def _shrink_inputs(
    content: Image.Image, styles: Sequence[StyleSource], final_hw: tuple[int, int], style_scale: float
) -> tuple[Image.Image, list[StyleSource]]:
    """Content and (Pillow) style images reduced once to the largest size any stage uses.

    Every stage resizes from these instead of from the originals (a 12-megapixel photo
    or a large scan of a painting would otherwise be resampled again at every size).
    The last stage sees what it would see without this (up to rounding of the style's
    aspect ratio).
    """
    if content.height * content.width > final_hw[0] * final_hw[1]:
        content = content.resize((final_hw[1], final_hw[0]), Image.Resampling.LANCZOS)
    out: list[StyleSource] = []
    for img in styles:
        if isinstance(img, Image.Image):
            long_side = _style_long_side(img, max(final_hw), style_scale)
            if max(img.size) > long_side:
                img = resize_long_side(img, long_side)
        out.append(img)
    return content, out


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
    resume: DeviceLBFGS | None = None,
    keep_state: bool = False,
) -> StyleResult:
    """Paint ``content`` in the style of ``style`` (RGB Pillow images).

    ``style`` is one image or several; with several, ``style_weights`` (default: equal)
    blend them: the style targets are the weighted mean of their Gram matrices,
    ``G = sum w_i G_i / sum w_i`` (a weight of 0 leaves that image out entirely).

    ``init_image`` (RGB) replaces ``params.init`` as the starting image, resized to the
    first size of the schedule: to *continue* from an earlier result, pass it here
    (usually with ``coarse_to_fine=False``, so that optimisation goes on at the final
    size). ``resume``: the optimiser state of that earlier run (``StyleResult.state``,
    returned when it ran with ``keep_state=True``); if it was at the size this run
    starts at (a continue at the same size, ``coarse_to_fine=False``), optimisation
    goes on from its unrounded image with its L-BFGS history; at another size it starts
    from ``init_image`` with the history resampled to that size
    (:meth:`DeviceLBFGS.resized`). At the same size on the device ``resume`` is
    on (the CPU: results keep their state there), an ``lbfgs`` run goes on with
    ``resume`` itself, in place: it is consumed (a copy would cost as much memory
    as the history, about 180 bytes per pixel); with ``keep_state`` the run's
    state is then ``StyleResult.state``, and after a failed run ``resume`` may be
    part-way and should be dropped. On another device it is copied there and
    left as it was.
    ``params.preserve_colors`` applies as described in :mod:`color`.

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
    params = dataclasses.replace(params, start_size=params.start_size or schedule.default_start(device.type),
                                 steps=params.steps or preset_steps(DEFAULT_QUALITY, device.type))
    stages = schedule.plan_for(device.type, params.size, params.steps, params.start_size, params.coarse_to_fine)
    content, styles = _shrink_inputs(content, styles, working_hw(out_hw), params.style_scale)
    tracker = _Tracker(
        total=sum(s.steps for s in stages),
        stages=stages,
        on_progress=on_progress,
        cancel=cancel,
        preview_every=params.preview_every,
        t0=t0,
        out_hw=out_hw,
        min_preview_interval_s=0.0 if device.type == "cpu" else GPU_PREVIEW_INTERVAL_S,
    )
    style_weight = losses.STYLE_WEIGHT_AT_STRENGTH_1 * params.style_strength

    precision = Precision.choose(params.precision, device)
    out_of_memory = False
    net: VGGFeatures | None = None
    x: torch.Tensor | None = None
    lbfgs_state: DeviceLBFGS | None = None
    resume_state: DeviceLBFGS | None = None
    try:
        net = precision.prepare(VGGFeatures(weights, [losses.CONTENT_LAYER, *losses.STYLE_LAYERS], params.pooling))
        first_hw = working_hw(scaled_size(out_hw, stages[0].long_side))
        resume_state = resume if resume is not None and tuple(resume.shape[-2:]) == first_hw else None
        resume_resized = resume if resume is not None and resume_state is None else None
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
            if x is None and resume_state is not None and params.optimizer == "lbfgs":
                if not _on_device(resume_state, device):
                    resume_state = resume_state.to(device)  # a copy there; the caller's stays as it was
                x = resume_state.x.detach()
            elif x is None:
                x = _initial_image(params, content, hw, device, seed, init_image)
                if resume_resized is not None and params.optimizer == "lbfgs":
                    # Continue at another size: a new state on x's device, resampled from the caller's
                    # wherever that is (no copy of the old size's history on this device).
                    resume_state = resume_resized.resized(x)
            else:
                x = F.interpolate(x, size=hw, mode="bicubic", align_corners=False).clamp_(0, 1)
            objective = _Objective(net, targets, style_weight, params.tv_weight, precision, keep)
            if params.optimizer == "lbfgs":
                if resume_state is None and lbfgs_state is not None and device.type in CARRY_HISTORY:
                    resume_state = lbfgs_state.resized(x)  # coarse to fine: keep the curvature pairs
                lbfgs_state = None  # the last size's state (carried or not) is not kept through this size
                x, lbfgs_state = _run_lbfgs(objective, x, stage_end, tracker, resume_state)
                resume_state = None
            elif params.optimizer == "lbfgs-wolfe":
                x = _run_lbfgs_wolfe(objective, x, stage_end, tracker)
            else:
                x = _run_adam(objective, x, stage_end, tracker)
            if tracker.cancelled():
                break

        if not keep_state:
            lbfgs_state = None  # frees its memory now
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
    except RuntimeError as exc:  # torch.OutOfMemoryError is one; MPS reports OOM as a plain RuntimeError
        if not is_out_of_memory(exc):
            raise
        out_of_memory = True
    if out_of_memory:
        # Measured only now, after the except block: until it ends, the exception's traceback
        # holds the failed step's frames (activations, gradients), and this frame holds the
        # network and the optimiser's state. The free memory that the size hint is computed
        # from must be what a retry would have.
        net = x = lbfgs_state = resume_state = None
        objective = targets = c_t = stage_masks = keep = None
        gc.collect()
        _empty_cache(device)
        raise _oom_error(device, params, out_hw, precision)
    elapsed = time.perf_counter() - t0
    meta = run_metadata(params, weights, seed, tracker.step, elapsed,
                        tracker.cancelled())
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
        state=_on_cpu(lbfgs_state),
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


def _run_lbfgs_wolfe(objective: _Objective, x0: torch.Tensor, budget_end: int, tracker: _Tracker) -> torch.Tensor:
    """``torch.optim.LBFGS`` with strong-Wolfe line search until ``tracker.step`` reaches ``budget_end``.

    The reference optimiser of ``nst-desktop-cli bench --reference`` (optimizer
    "lbfgs-wolfe"); it reads values back to the host several times per step.

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


#: Steps run eagerly at each size before the step is captured as a CUDA graph (cuDNN
#: autotuning and the allocator settle during these; they are real steps).
GRAPH_WARMUP_STEPS = 3
#: On CUDA the host reads the losses back every this many steps (unless previews come
#: more often); in between, steps are queued without waiting for the GPU.
SYNC_EVERY = 10


class _LbfgsStage:
    """One size's optimisation with :class:`DeviceLBFGS`: the step as a function of device
    tensors only, run eagerly or replayed as a CUDA graph, with losses recorded on the
    device and read back in batches."""

    def __init__(self, objective: _Objective, opt: DeviceLBFGS, steps: int) -> None:
        self.objective, self.opt = objective, opt
        dev = opt.x.device
        #: Per step: total loss, content loss, style loss, 1 if finite.
        self.stats = torch.zeros(max(1, steps), 4, device=dev)
        self.index = torch.zeros(1, dtype=torch.long, device=dev)
        self.graph: torch.cuda.CUDAGraph | None = None

    def body(self) -> None:
        x = self.opt.x
        total, c, s = self.objective(x)
        (grad,) = torch.autograd.grad(total, x)
        with torch.no_grad():
            ok = self.opt.update(total, grad)
            row = torch.stack([total.detach().float(), c.detach().float(), s.detach().float(), ok])
            self.stats.index_copy_(0, self.index, row.view(1, 4))
            self.index.add_(1)

    def capture(self) -> bool:
        """Capture :meth:`body` as a CUDA graph; False (and eager from then on) if capture fails.

        Captured on a stream of the state's own device (torch's default capture stream
        belongs to whichever device was current when it was first made). Running out of
        memory during capture is raised as such (the caller retries at a smaller size);
        any other failure leaves the steps eager. Either way the thread's current stream
        is restored: a capture that fails inside ``torch.cuda.graph`` can leave it set to
        the capture stream.
        """
        device = self.opt.x.device
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()  # the graph's private pool can take over the eager steps' cached blocks
        graph = torch.cuda.CUDAGraph()
        previous = torch.cuda.current_stream(device)
        try:
            with torch.cuda.graph(graph, stream=torch.cuda.Stream(device)):
                self.body()
        except Exception as exc:  # noqa: BLE001 - any capture failure: fall back to eager steps
            torch.cuda.set_stream(previous)
            torch.cuda.synchronize(device)
            if is_out_of_memory(exc):
                raise
            return False
        self.graph = graph
        return True

    def step(self) -> None:
        if self.graph is not None:
            self.graph.replay()
        else:
            self.body()


def _run_lbfgs(
    objective: _Objective, x0: torch.Tensor, budget_end: int, tracker: _Tracker,
    resume: DeviceLBFGS | None = None,
) -> tuple[torch.Tensor, DeviceLBFGS]:
    """L-BFGS on the device (:class:`DeviceLBFGS`) until ``tracker.step`` reaches ``budget_end``.

    Returns the best iterate (lowest loss seen) and the optimiser (to continue later).
    ``resume``: an optimiser of the same size to go on with (its history is kept).
    On CUDA (``precision.cuda_graphs``) the step is captured as a graph after
    :data:`GRAPH_WARMUP_STEPS` eager steps, and losses are read back every
    :data:`SYNC_EVERY` steps; elsewhere every step is read at once.
    """
    device = x0.device
    if resume is not None and resume.shape == x0.shape:
        opt = resume
        opt.best_loss.fill_(math.inf)  # judged afresh: the objective may have changed since
        opt.best_x.copy_(opt.x.detach())
    else:
        opt = DeviceLBFGS(x0, LBFGS_HISTORY)
    steps = budget_end - tracker.step
    stage = _LbfgsStage(objective, opt, steps)
    cuda = device.type == "cuda"
    use_graph = cuda and objective.precision.cuda_graphs
    every = min(tracker.preview_every or SYNC_EVERY, SYNC_EVERY) if cuda else 1
    side = torch.cuda.Stream(device) if use_graph else None
    if side is not None:
        side.wait_stream(torch.cuda.current_stream(device))
    queued = read = 0
    hw = x0.shape[-1] * x0.shape[-2]
    # On the state's own device: graph capture and stream waits otherwise use the current one.
    with torch.cuda.device(device) if cuda else contextlib.nullcontext():
        try:
            while queued < steps and not tracker.cancelled():
                if use_graph and queued == GRAPH_WARMUP_STEPS and stage.graph is None:
                    torch.cuda.current_stream(device).wait_stream(side)
                    side = None
                    use_graph = stage.capture()
                if side is not None:
                    with torch.cuda.stream(side):
                        stage.step()
                else:
                    stage.step()
                queued += 1
                latest = tracker.step + queued - read  # the number of the step just queued
                if _read_back_due(latest, every, tracker.preview_every) or queued == steps:
                    if side is not None:  # the warm-up steps' losses and image are written on the side stream
                        torch.cuda.current_stream(device).wait_stream(side)
                    read = _read_back(stage, read, queued, tracker, hw)
        finally:
            if side is not None:
                torch.cuda.current_stream(device).wait_stream(side)
    if read < queued:
        _read_back(stage, read, queued, tracker, hw)
    if not math.isfinite(float(opt.best_loss)) and tracker.step > 0 and not tracker.cancelled():
        raise NumericalError("The optimisation produced NaN/Inf from the start.")
    return opt.best_x.clone(), opt


def _read_back_due(step: int, every: int, preview_every: int) -> bool:
    """Whether the losses are read back after step number ``step`` is queued: every ``every``
    steps, and at every preview step (a preview is made only when its step is read back)."""
    return step % every == 0 or (preview_every > 0 and step % preview_every == 0)


def _read_back(stage: _LbfgsStage, read: int, queued: int, tracker: _Tracker, hw: int) -> int:
    """Report steps ``read..queued`` from the device's loss record (one device-to-host copy)."""
    rows = stage.stats[read:queued].tolist()
    opt = stage.opt
    for i, (total, c, s, ok) in enumerate(rows):
        tracker.step += 1
        tracker.work_done += hw
        if ok == 1.0:
            tracker.content, tracker.style, tracker.loss = c, s, total
        last = i == len(rows) - 1
        tracker.report((lambda: stage.objective.compose(opt.best_x)) if last else None)
    return queued


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


def _on_device(state: DeviceLBFGS, device: torch.device) -> bool:
    """Whether ``state`` is on ``device`` already (``cuda`` and ``cuda:0`` count as one)."""
    here = state.x.device
    return here.type == device.type and (device.index is None or here.index == device.index)


def _on_cpu(state: DeviceLBFGS | None) -> DeviceLBFGS | None:
    """``state`` on the CPU (a result's state is kept there between runs); no copy if it is there already."""
    cpu = torch.device("cpu")
    if state is None or _on_device(state, cpu):
        return state
    return state.to(cpu)


#: Lower-case fragments of the messages of errors that mean "out of memory": PyTorch's own
#: (CUDA, MPS), and cuBLAS/cuDNN failing to allocate their workspace.
OOM_MESSAGES = ("out of memory", "cublas_status_alloc_failed", "cudnn_status_alloc_failed")


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc``, or an error it was raised from or while handling, reports that the
    device ran out of memory (a failed CUDA graph capture can raise its own error while the
    out-of-memory error that broke it is only its context)."""
    seen: set[int] = set()
    error: BaseException | None = exc
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, torch.OutOfMemoryError):
            return True
        if isinstance(error, RuntimeError) and any(m in str(error).lower() for m in OOM_MESSAGES):
            return True
        error = error.__cause__ or error.__context__
    return False


def _empty_cache(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()


def _oom_error(
    device: torch.device, params: StyleParams, out_hw: tuple[int, int], precision: Precision
) -> OutOfMemory:
    free = free_memory_bytes(device)
    fits = (
        memory.largest_fitting_long_side(int(free * 0.9), out_hw, params.optimizer, graphs=precision.cuda_graphs,
                                         device_type=device.type, half=precision.compute_dtype is not None)
        if free else None
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
    the targets are the regions' guided Gram targets, as in the run. The image is
    judged as it is, not composited with the photo again: the network saw
    ``x * (1 - keep) + photo * keep`` during the run and :func:`stylize` returns exactly
    that composite, which compositing again would change at soft mask edges.
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
        objective = _Objective(net, targets, losses.STYLE_WEIGHT_AT_STRENGTH_1 * params.style_strength,
                               params.tv_weight, precision)
        x = pil_to_tensor(image_seen).to(device)
        if tuple(x.shape[-2:]) != tuple(c_t.shape[-2:]):
            x = F.interpolate(x, size=c_t.shape[-2:], mode="bicubic", align_corners=False)
        total, c, s = objective(x)
    return float(c), float(s), float(total)


__all__ = ["stylize", "evaluate", "normalize_styles", "prepare_inputs", "prepare_masks", "mask_tensor",
           "run_metadata", "EngineError", "ProgressCallback"]
