"""Content, style and total-variation losses.

Normalisation (why the content/style balance does not drift with image size or
with the weights' activation scale):

- Gram matrix of activations ``F`` of shape ``(C, H*W)``: ``G = F Fᵀ / (H*W)``, the
  mean outer product over positions. It estimates a per-image statistic, so its
  expected value does not depend on the number of pixels.
- Content loss: ``mean((F - F_c)²) / mean(F_c²)`` at relu4_2, the squared error
  relative to the target's energy: dimensionless, independent of size and scale.
- Style loss per layer: ``mean((G - G_s)²) / mean(G_s²)``, likewise relative;
  the total is the weighted sum over layers (:data:`LAYER_WEIGHTS`).
- Total variation: mean squared difference of neighbouring pixels in [0, 1] RGB.
- Spatial control (Gatys et al. 2017, guided Gram matrices): see :func:`guided_gram`
  and :class:`Region`. Each region's loss is relative like the global one, and the
  regions' losses are averaged with weights proportional to their areas.

The objective is ``content + style_weight * style + tv_weight * tv``, where
``style_weight`` is the user's style strength times :data:`STYLE_WEIGHT_AT_STRENGTH_1`.
Gram matrices and losses are computed in float32 even when the network runs in
bfloat16 (only the Gram matrices' gradient is in the network's dtype: see :class:`_Gram`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import torch

from nst_desktop.engine.device.devices import mkldnn_bf16_supported

CONTENT_LAYER = "relu4_2"
_LAYER_NAMES = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
#: Each style layer's weight in the style term (the weighted sum of the layers' relative Gram errors),
#: by :data:`~nst_desktop.engine.params.LAYER_WEIGHTS` name:
#:
#: - "even": all five alike, summing to 1 (Gatys et al. 2016; results made before the choice).
#: - "fine" (the default): each layer half the one above it (relu1_1 : ... : relu5_1 =
#:   16 : 8 : 4 : 2 : 1), summing to 2. The deep layers carry a painting's objects and large forms,
#:   the fine ones its strokes' texture and colour: with less weight on the deep ones the photo's
#:   scene stays clean (no grey fur or stars pasted into it), and twice the total weight keeps
#:   the painting's strokes as strong. Blind raters preferred it to "even" (docs/quality.md).
LAYER_WEIGHTS: dict[str, dict[str, float]] = {
    "even": {name: 0.2 for name in _LAYER_NAMES},
    "fine": {name: 2 * 2.0 ** -i / sum(2.0 ** -k for k in range(5)) for i, name in enumerate(_LAYER_NAMES)},
}
#: The style layers (the network's taps; their order) with the "even" weights.
STYLE_LAYERS: dict[str, float] = LAYER_WEIGHTS["even"]
#: Style weight at style strength 1.0 (the default): gives a clearly stylised but
#: recognisable picture with the relative losses above.
STYLE_WEIGHT_AT_STRENGTH_1 = 10.0
_EPS = 1e-12


def _positions(t: torch.Tensor) -> torch.Tensor:
    """``(N, C, H, W)`` as ``(N, H*W, C)``: positions in rows (a free view of channels-last tensors)."""
    n, c, h, w = t.shape
    return t.permute(0, 2, 3, 1).reshape(n, h * w, c)


def _gram_forward(features: torch.Tensor) -> torch.Tensor:
    n, c, h, w = features.shape
    return _float32_gram_sum(_positions(features)) / (h * w)


def _gram_backward(features: torch.Tensor, grad: torch.Tensor, grad_features: torch.Tensor | None) -> torch.Tensor:
    """``grad_features + (dG + dGᵀ) F / (H*W)`` (``grad_features`` may be ``None``) in the features' dtype."""
    n, c, h, w = features.shape
    ft = _positions(features)
    sym = ((grad + grad.transpose(1, 2)) / (h * w)).to(ft.dtype)
    if grad_features is None:
        out = torch.bmm(ft, sym)
    else:
        out = torch.baddbmm(_positions(grad_features.to(ft.dtype)), ft, sym)
    return out.reshape(n, h, w, c).permute(0, 3, 1, 2)


class _Gram(torch.autograd.Function):
    """``F Fᵀ / (H*W)`` in float32 with a backward of one matrix product.

    Written as ``bmm(f, fᵀ)``, autograd would compute two products (one per operand)
    and add them; here ``dF = (dG + dGᵀ) F / (H*W)`` is one. Positions are taken in
    channels-last order (``(N, H*W, C)``), which is a free view of channels-last
    activations.

    The forward (the Gram matrix itself) is float32 whatever the features' dtype. The
    backward runs in the features' dtype and layout: under bfloat16 the gradient that
    flows back into the network is bfloat16 anyway, so rounding the ``C x C`` factor to
    bfloat16 first adds an error of the same size as that final rounding, while the
    product runs at bfloat16 speed (3-6x faster than float32 on AMX CPUs, plus two
    fewer casts of the largest activations; the product still accumulates in float32).
    Only the features, which the network keeps anyway, are saved for it.
    """

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, features: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(features)
        return _gram_forward(features)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        (features,) = ctx.saved_tensors  # type: ignore[attr-defined]
        return _gram_backward(features, grad, None)


class _TapGram(torch.autograd.Function):
    """``(F, gram(F))``: the activation passed on unchanged, and its Gram matrix.

    The same Gram matrix and gradient as :class:`_Gram`, but one autograd node sees
    both uses of the activation (the layers above it, and the Gram matrix), so the
    Gram matrix's gradient is added into the network's in the same matrix product
    (``baddbmm``) instead of autograd adding two activation-sized gradients. Measured
    on a 2-core CPU at relu1_1 of a 512x384 image (64 x 384 x 512, bfloat16): 5.0 ms
    against 26.7 ms for the product and the separate sum.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx, features: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        ctx.save_for_backward(features)
        ctx.set_materialize_grads(False)
        return features, _gram_forward(features)

    @staticmethod
    def backward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx, grad_features: torch.Tensor | None, grad_gram: torch.Tensor | None
    ) -> torch.Tensor | None:
        (features,) = ctx.saved_tensors  # type: ignore[attr-defined]
        if grad_gram is None:
            return grad_features
        return _gram_backward(features, grad_gram, grad_features)


class GramTap:
    """A :data:`~nst_desktop.engine.net.vgg.Tap` that computes the Gram matrices of ``layers``.

    Pass it to the network's forward; afterwards :attr:`grams` holds ``gram(F)`` of each
    of those layers (float32, ``(N, C, C)``), computed in the network's autograd graph
    so that their gradient costs no separate pass (see :class:`_TapGram`). One
    instance per forward.
    """

    def __init__(self, layers: Iterable[str]) -> None:
        self.layers = frozenset(layers)
        self.grams: dict[str, torch.Tensor] = {}

    def __call__(self, name: str, features: torch.Tensor) -> torch.Tensor:
        if name not in self.layers:
            return features
        passed, self.grams[name] = _TapGram.apply(features)
        return passed


#: Positions per block when a CPU Gram matrix is summed from bfloat16 activations: casting
#: a block at a time keeps its float32 copy in cache instead of writing a copy of the whole
#: activation. Measured on a 2-core AMX CPU, 64 channels of 512x384 positions: 52 ms whole,
#: 13-15 ms in blocks of 4096-65536 positions.
CPU_GRAM_BLOCK = 16384


#: Serialises :func:`_bfloat16_products` blocks (their save/restore of a process-wide setting).
_PRODUCTS_LOCK = threading.Lock()


@contextlib.contextmanager
def _bfloat16_products() -> Iterator[None]:
    """Within this block, float32 matrix products on the CPU may multiply in bfloat16 (oneDNN's
    "fpmath mode"), accumulating and returning float32.

    Used only for Gram matrices of bfloat16 activations: their float32 copies hold bfloat16
    values exactly, so rounding them to bfloat16 changes nothing, and the product of two
    bfloat16 values is exact in float32: the result is the float32 Gram matrix of those
    activations (up to the order of summation) at AMX speed. Measured on a 2-core AMX CPU,
    512 channels x 3072 positions: 8.2 ms in float32, 3.8 ms this way, relative error
    against float64 1e-6 and 4e-7.

    The setting is process-wide (PyTorch has no narrower one): it is restored on exit,
    also after an exception, and a lock keeps two threads from interleaving their
    save/restore. While it is set, float32 CPU products in *other* threads would also run
    in bfloat16: the engine runs one optimisation at a time and the GUI thread does no
    tensor work, so none do.
    """
    matmul = getattr(torch.backends.mkldnn, "matmul", None)
    if matmul is None or not hasattr(matmul, "fp32_precision") or not mkldnn_bf16_supported():
        yield
        return
    with _PRODUCTS_LOCK:
        before = matmul.fp32_precision
        matmul.fp32_precision = "bf16"
        try:
            yield
        finally:
            matmul.fp32_precision = before


def _float32_gram_sum(ft: torch.Tensor) -> torch.Tensor:
    """``ftᵀ ft`` per batch item in float32 for ``ft`` of shape ``(N, positions, C)``, any float dtype.

    On CPUs, bfloat16 activations are multiplied at bfloat16 speed into a float32 result
    (see :func:`_bfloat16_products`), a block of :data:`CPU_GRAM_BLOCK` positions at a time.
    """
    if ft.device.type != "cpu" or ft.dtype != torch.bfloat16:
        f = ft.float()
        return torch.bmm(f.transpose(1, 2), f)
    n, positions, c = ft.shape
    out = torch.zeros(n, c, c, dtype=torch.float32)
    with _bfloat16_products():
        for b in range(n):  # mm, not bmm: bmm does not take oneDNN's bfloat16 path (measured 3x slower)
            for start in range(0, positions, CPU_GRAM_BLOCK):
                block = ft[b, start : start + CPU_GRAM_BLOCK].float()
                out[b].addmm_(block.t(), block)
    return out


def gram(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix ``F Fᵀ / (H*W)`` per batch item, shape ``(N, C, C)``, float32."""
    return _Gram.apply(features)


def guided_gram(features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Gram matrix of ``features`` guided by ``mask`` (Gatys et al. 2017, eq. 6-7).

    ``mask`` has shape ``(N, 1, H, W)`` (the features' size), values in [0, 1]. With
    ``F_m = F * m`` (each position weighted by the mask),
    ``G = F_m F_mᵀ / sum(m²)``: for a binary mask, the mean outer product over the
    region's positions, so it is on the same scale as :func:`gram` of a whole image
    (a mask of all ones gives exactly ``gram(features)``). Shape ``(N, C, C)``, float32.
    """
    n, c, h, w = features.shape
    m = mask.float()
    fm = features.float() * m
    area = m.reshape(n, 1, h * w).pow(2).sum(dim=2, keepdim=True).clamp_min(_EPS)
    return gram(fm) * (h * w) / area


@dataclass
class Region:
    """One region of a spatially controlled run: where (a mask per style layer, at
    that layer's resolution) and what (the Gram targets of that region's style).

    ``weight`` is the region's share of the style loss (its mean mask value times the
    style's weight, normalised over the regions).
    """

    masks: dict[str, torch.Tensor]
    grams: dict[str, torch.Tensor]
    gram_energies: dict[str, torch.Tensor]
    weight: float


@dataclass
class StyleTargets:
    """Precomputed targets: content activations and style Gram matrices with their energies.

    With ``regions`` (spatial control) the style loss uses the regions' guided Gram
    matrices instead of ``grams``.
    """

    content: torch.Tensor
    content_energy: torch.Tensor
    grams: dict[str, torch.Tensor]
    gram_energies: dict[str, torch.Tensor]
    regions: list[Region] | None = None


def masks_at_layers(
    feats: Mapping[str, torch.Tensor], mask: torch.Tensor, style_layers: Mapping[str, float] = STYLE_LAYERS
) -> dict[str, torch.Tensor]:
    """``mask`` ``(1, 1, H, W)`` area-averaged down to each style layer's resolution."""
    return {
        name: torch.nn.functional.interpolate(mask.float(), size=feats[name].shape[-2:], mode="area").detach()
        for name in style_layers
    }


#: Per style image, what guides its Gram targets (see :func:`painting_grams`): a map from some
#: style layers to position weights ``(1, 1, h, w)`` at that layer's grid, or None for none.
Guides = Sequence[Mapping[str, torch.Tensor] | None]


def painting_grams(
    feats: Mapping[str, torch.Tensor], style_layers: Mapping[str, float], guide: Mapping[str, torch.Tensor] | None
) -> dict[str, torch.Tensor]:
    """A style image's Gram targets: :func:`guided_gram` with ``guide[name]`` at the layers it
    has (the places of the painting that recur, see :mod:`recurring`), :func:`gram` elsewhere."""
    return {
        name: (guided_gram(feats[name], guide[name]) if guide and name in guide else gram(feats[name])).detach()
        for name in style_layers
    }


def make_region_targets(
    content_feats: Mapping[str, torch.Tensor],
    style_feats: Sequence[Mapping[str, torch.Tensor]],
    masks: Sequence[torch.Tensor],
    style_layers: Mapping[str, float] = STYLE_LAYERS,
    style_weights: Sequence[float] | None = None,
    guides: Guides | None = None,
) -> StyleTargets:
    """Targets for spatial control: style ``i`` is matched inside ``masks[i]`` only.

    ``masks[i]`` is ``(1, 1, H, W)`` in [0, 1] at the size of the image fed to the
    network; it is downsampled to each style layer's resolution by area averaging
    (the fraction of each feature cell's pixels that belong to the region). Each
    region's target is the Gram matrix of its whole style image (guided by ``guides[i]``,
    see :func:`painting_grams`). Regions with an empty mask or weight 0 are left out; if
    none is left, the style loss is 0.
    """
    c = content_feats[CONTENT_LAYER].detach().float()
    ws = [1.0] * len(style_feats) if style_weights is None else [float(w) for w in style_weights]
    gs = [None] * len(style_feats) if guides is None else list(guides)
    if len(ws) != len(style_feats) or len(masks) != len(style_feats) or len(gs) != len(style_feats):
        raise ValueError("make_region_targets needs one mask, one weight and one guide (or None) per style")
    regions = []
    for feats, mask, w, guide in zip(style_feats, masks, ws, gs, strict=True):
        area = float(mask.float().mean())
        if area <= 0 or w <= 0:
            continue
        layer_masks = masks_at_layers(content_feats, mask, style_layers)
        grams = painting_grams(feats, style_layers, guide)
        regions.append(Region(layer_masks, grams, {k: g.pow(2).mean().clamp_min(_EPS) for k, g in grams.items()},
                              area * w))
    total = sum(r.weight for r in regions)
    for r in regions:
        r.weight /= total
    return StyleTargets(content=c, content_energy=c.pow(2).mean().clamp_min(_EPS), grams={}, gram_energies={},
                        regions=regions)


def make_targets(
    content_feats: Mapping[str, torch.Tensor],
    style_feats: Mapping[str, torch.Tensor] | Sequence[Mapping[str, torch.Tensor]],
    style_layers: Mapping[str, float] = STYLE_LAYERS,
    style_weights: Sequence[float] | None = None,
    guides: Guides | None = None,
) -> StyleTargets:
    """Targets from the content image's and the style image(s)' activations.

    With several style images the Gram targets are their weighted mean,
    ``G = sum w_i G_i / sum w_i`` (``style_weights`` default to equal; a single
    image with weight w gives exactly its own Gram matrices). ``guides[i]`` guides
    image i's Gram matrices (see :func:`painting_grams`; default: none).
    """
    c = content_feats[CONTENT_LAYER].detach().float()
    feats_list = [style_feats] if isinstance(style_feats, Mapping) else list(style_feats)
    ws = [1.0] * len(feats_list) if style_weights is None else [float(w) for w in style_weights]
    gs = [None] * len(feats_list) if guides is None else list(guides)
    if not feats_list or len(ws) != len(feats_list) or sum(ws) <= 0:
        raise ValueError("make_targets needs at least one style with a positive total weight")
    if len(gs) != len(feats_list):
        raise ValueError("make_targets needs one guide (or None) per style")
    if len(feats_list) == 1:
        grams = painting_grams(feats_list[0], style_layers, gs[0])
    else:
        total = sum(ws)
        each = [painting_grams(f, style_layers, g) for f, g in zip(feats_list, gs, strict=True)]
        grams = {name: sum((w / total) * g[name] for g, w in zip(each, ws, strict=True)) for name in style_layers}
    return StyleTargets(
        content=c,
        content_energy=c.pow(2).mean().clamp_min(_EPS),
        grams=grams,
        gram_energies={k: g.pow(2).mean().clamp_min(_EPS) for k, g in grams.items()},
    )


class _RelativeSquaredError(torch.autograd.Function):
    """``mean((F - T)²) / energy`` in float32, with a gradient in ``F``'s dtype and layout.

    Written with autograd ops, the gradient of the mean comes back as a contiguous NCHW
    tensor; against the network's channels-last gradient it made the accumulation at
    relu4_2 a strided pass (measured on a 2-core CPU at 512x384: about 20 ms of a 600 ms
    step in the sum, the multiply and the casts). Here the backward is one pass over the
    saved float32 difference, in the features' layout.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx, features: torch.Tensor, target: torch.Tensor, energy: torch.Tensor
    ) -> torch.Tensor:
        diff = features.float() - target
        ctx.save_for_backward(diff, energy)
        ctx.dtype = features.dtype  # type: ignore[attr-defined]
        return diff.pow(2).mean() / energy

    @staticmethod
    def backward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor
    ) -> tuple[torch.Tensor, None, None]:
        diff, energy = ctx.saved_tensors  # type: ignore[attr-defined]
        scale = grad * 2.0 / (diff.numel() * energy)
        return (diff * scale).to(ctx.dtype), None, None  # type: ignore[attr-defined]


def content_loss(feats: Mapping[str, torch.Tensor], targets: StyleTargets) -> torch.Tensor:
    """Relative squared error of relu4_2 activations (dimensionless)."""
    return _RelativeSquaredError.apply(feats[CONTENT_LAYER], targets.content, targets.content_energy)


def style_loss(
    feats: Mapping[str, torch.Tensor],
    targets: StyleTargets,
    style_layers: Mapping[str, float] = STYLE_LAYERS,
    grams: Mapping[str, torch.Tensor] | None = None,
) -> torch.Tensor:
    """Weighted sum over layers of the relative squared Gram error (dimensionless), with the
    weights of ``style_layers`` (one of :data:`LAYER_WEIGHTS`; "even" sums to 1: the mean).

    ``grams``: Gram matrices already computed for some layers (by a :class:`GramTap`
    in the forward that gave ``feats``); the others are computed here. With regions,
    the weighted mean over regions of the same with guided Gram matrices (``grams``
    is not used then).
    """
    loss = torch.zeros((), device=targets.content.device)
    if targets.regions is not None:
        for r in targets.regions:
            for name, w in style_layers.items():
                g = guided_gram(feats[name], r.masks[name])
                err = (g - r.grams[name]).pow(2).mean() / r.gram_energies[name]
                loss = loss + r.weight * w * err
        return loss
    for name, w in style_layers.items():
        g = grams[name] if grams is not None and name in grams else gram(feats[name])
        loss = loss + w * (g - targets.grams[name]).pow(2).mean() / targets.gram_energies[name]
    return loss


def tv_loss(img: torch.Tensor) -> torch.Tensor:
    """Total variation: mean squared difference of neighbouring pixels (image in [0, 1])."""
    dx = img[..., :, 1:] - img[..., :, :-1]
    dy = img[..., 1:, :] - img[..., :-1, :]
    return dx.pow(2).mean() + dy.pow(2).mean()
