"""The objective at one size computed tile by tile: print sizes, and seamless textures.

Same loss as :class:`objective.Objective` (content + style weight x style + TV weight x TV,
see :mod:`losses`), summed over the tiles of :mod:`tiling`: each tile adds the loss of the
cells it owns, so the sums are the whole image's. Per step:

1. **Gram pass** (no gradient): every tile's owned cells add ``sum m² f fᵀ`` (``m``: the
   region's mask at that layer, 1 without regions) to each style layer's sum; divided by
   ``sum m²`` these are the whole image's (guided) Gram matrices ``G``. The style loss and
   ``D = dL/dG`` follow (``C x C`` matrices).
2. **Gradient pass**: every tile again, forward and backward, where each style layer's
   activation gets the gradient ``m² (D + Dᵀ) f / sum m²`` at its owned cells (the
   derivative of ``<D, G>``: no Gram matrix is computed in this pass), and the content and
   TV terms of its owned cells their own. Each tile's input gradient (margin included) is
   added into the whole image's gradient.

The style term needs the whole image's Gram matrices before any tile's gradient, hence two
passes; the first is a forward pass only (about half of a step's work), in tiles as large as
the memory allows (:attr:`Tiles.gram_size`: it keeps no activations for a backward pass). The loss and the
gradient are exactly the whole image's (up to the order of float sums), so L-BFGS works as
on a whole image. The tile grid is shifted at every step (see :mod:`tiling`).

Targets at a size (:func:`tiled_targets`) are computed tile by tile too: the content's
relu4_2 activations for the whole image (kept, in the network's dtype) and each style
image's Gram matrices (accumulated, whatever the style image's size; with the paintings'
``leave_out_objects``, guided at the deep layers by where the painting recurs, as
:func:`targets.style_targets` does, see :mod:`recurring`).

With ``wrap`` (seamless) every tile, the content's and the iterate's, wraps around the
image's edges, so the result continues across them when repeated; the style images do not.
Images are ``(1, 3, H, W)`` float32 RGB in [0, 1], NCHW.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from nst_desktop.engine.device import host_memory
from nst_desktop.engine.image.inputs import Paintings
from nst_desktop.engine.image.masks import Masks, composite
from nst_desktop.engine.net import losses, recurring
from nst_desktop.engine.net.objective import LossTerms
from nst_desktop.engine.net.precision import Precision
from nst_desktop.engine.net.vgg import TAP_STRIDE, VGGFeatures
from nst_desktop.engine.tiling import grid as tiling
from nst_desktop.engine.tiling.grid import Span, Tile

_EPS = 1e-12


@dataclass(frozen=True)
class Tiles:
    """How one size is tiled: inner tile side (px) of the gradient pass, margin (px), whether
    the image wraps around, and the inner tile side of the passes without gradient (the Gram
    pass and the targets; 0: ``size``). A forward pass without gradient keeps no activations
    for a backward pass, so its tiles can be larger within the same memory, and the larger
    they are, the fewer margins are computed (``memory.plan_size`` chooses it)."""

    size: int
    margin: int
    wrap: bool = False
    gram_size: int = 0

    def grid(self, hw: tuple[int, int], offset: tuple[int, int] = (0, 0)) -> list[Tile]:
        return tiling.tile_grid(hw, self.size, self.margin, offset, self.wrap)

    def gram_grid(self, hw: tuple[int, int], offset: tuple[int, int] = (0, 0)) -> list[Tile]:
        """The tiles of the passes without gradient (see :attr:`gram_size`)."""
        return tiling.tile_grid(hw, max(self.size, self.gram_size), self.margin, offset, self.wrap)


@dataclass
class TiledRegion:
    """A region's style term: where (its mask per style layer at that layer's cells, None for
    everywhere), how much of it (``sum m²`` per layer), what (target Gram matrices and
    energies) and its share of the style loss."""

    masks: dict[str, torch.Tensor] | None
    areas: dict[str, float]
    grams: dict[str, torch.Tensor]
    energies: dict[str, torch.Tensor]
    weight: float


@dataclass
class TiledTargets:
    """Targets of a tiled size: the content's relu4_2 activations of the whole image (network
    dtype, ``(1, C, H/8, W/8)``), their energy, and the style regions."""

    content: torch.Tensor
    content_energy: torch.Tensor
    regions: list[TiledRegion]


def _owned(feat: torch.Tensor, tile: Tile, stride: int) -> torch.Tensor:
    r0, r1 = tile.rows.own_cells(stride)
    c0, c1 = tile.cols.own_cells(stride)
    return feat[..., r0:r1, c0:c1]


def _global(whole: torch.Tensor, tile: Tile, stride: int) -> torch.Tensor:
    """The owned cells of ``tile`` cut from a whole-image map of a layer of ``stride``."""
    h, w = whole.shape[-2:]

    def index(span: Span, n: int) -> torch.Tensor | slice:
        a, b = span.own_cells(stride)
        first = span.crop_start // stride
        if 0 <= first + a and first + b <= n:
            return slice(first + a, first + b)
        return torch.arange(first + a, first + b, device=whole.device) % n

    rows, cols = index(tile.rows, h), index(tile.cols, w)
    out = whole[..., rows, :] if isinstance(rows, slice) else whole.index_select(-2, rows)
    return out[..., cols] if isinstance(cols, slice) else out.index_select(-1, cols)


def _gram_sum(f: torch.Tensor) -> torch.Tensor:
    """``sum over positions of f fᵀ`` of ``(1, C, h, w)``, float32 ``(C, C)``."""
    return losses._float32_gram_sum(losses._positions(f))[0]


def _each_tile(net: VGGFeatures, precision: Precision, image: torch.Tensor, grid: list[Tile],  # noqa: ANN202
               last: str | None = None):
    """Yield ``(tile, features of its crop)`` under no_grad, one tile at a time (up to ``last``)."""
    for tile in grid:
        crop = tiling.take(image, tile)
        yield tile, precision.features(net, crop, last=last)


def whole_grams(net: VGGFeatures, precision: Precision, image: torch.Tensor, tiles: Tiles,
                layers: Sequence[str] = tuple(losses.STYLE_LAYERS),
                guides: Mapping[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """Gram matrices ``F Fᵀ / positions`` (float32) of ``image`` at ``layers``, tile by tile; at the
    layers of ``guides`` (position weights ``m``, ``(1, 1, h, w)`` at the layer's whole grid),
    guided ones, ``(m F)(m F)ᵀ / sum m²``, as :func:`losses.guided_gram` gives them."""
    hw = (int(image.shape[-2]), int(image.shape[-1]))
    guides = guides or {}
    sums: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for tile, feats in _each_tile(net, precision, image, tiles.gram_grid(hw)):
            for name in layers:
                f = _owned(feats[name], tile, TAP_STRIDE[name])
                if name in guides:
                    f = f.float() * _global(guides[name], tile, TAP_STRIDE[name])
                part = _gram_sum(f)
                sums[name] = part if name not in sums else sums[name] + part
    out = {}
    for name in layers:
        h, w = tiling.layer_hw(hw, TAP_STRIDE[name])
        area = guides[name].float().pow(2).sum().clamp_min(_EPS) if name in guides else h * w
        out[name] = (sums[name] / area).unsqueeze(0)
    return out


def whole_content(net: VGGFeatures, precision: Precision, image: torch.Tensor, tiles: Tiles) -> torch.Tensor:
    """relu4_2 activations of ``image`` for the whole image, in the network's dtype, tile by tile."""
    name = losses.CONTENT_LAYER
    stride = TAP_STRIDE[name]
    hw = (int(image.shape[-2]), int(image.shape[-1]))
    out: torch.Tensor | None = None
    with torch.no_grad():
        for tile, feats in _each_tile(net, precision, image, tiles.gram_grid(hw), last=name):
            f = _owned(feats[name], tile, stride)
            if out is None:
                out = torch.empty((1, f.shape[1], *tiling.layer_hw(hw, stride)), dtype=f.dtype, device=f.device)
            r0 = tile.rows.start // stride
            c0 = tile.cols.start // stride
            _put(out, f, r0, c0)
    assert out is not None
    return out


def _put(whole: torch.Tensor, part: torch.Tensor, r0: int, c0: int) -> None:
    """Write ``part`` into ``whole`` at cell (r0, c0), wrapping past the end."""
    h, w = whole.shape[-2:]
    rows = torch.arange(r0, r0 + part.shape[-2], device=whole.device) % h
    cols = torch.arange(c0, c0 + part.shape[-1], device=whole.device) % w
    whole[0][:, rows[:, None], cols[None, :]] = part[0]


def tiled_targets(
    net: VGGFeatures,
    precision: Precision,
    content_t: torch.Tensor,
    paintings: Paintings,
    long_side: int,
    tiles: Tiles,
    masks: Masks | None = None,
) -> TiledTargets:
    """Targets at one size as :func:`targets.style_targets` derives them, computed tile by tile.

    ``content_t``: the content at this size (the network's view of it: palette applied),
    ``(1, 3, H, W)``; ``masks``: the regions at this size. The paintings are not wrapped.
    """
    hw = (int(content_t.shape[-2]), int(content_t.shape[-1]))
    content = whole_content(net, precision, content_t, tiles)
    style_tiles = Tiles(tiles.size, tiles.margin, wrap=False, gram_size=tiles.gram_size)
    grams_of, used_weights, used_masks = [], [], []
    for i, w, s_t in paintings.on_device(long_side, precision.device):
        guides = None
        if paintings.leave_out_objects:  # guided by where the painting recurs, as untiled (see recurring)
            s_hw = (int(s_t.shape[-2]), int(s_t.shape[-1]))
            grids = {n: tiling.layer_hw(s_hw, TAP_STRIDE[n]) for n in losses.STYLE_LAYERS}
            guides = recurring.at_layers(recurring.weights_of(net, precision, paintings, i), grids)
        grams_of.append(whole_grams(net, precision, s_t, style_tiles, guides=guides))
        used_weights.append(float(w))
        if masks is not None and masks.styles is not None:
            used_masks.append(masks.styles[i : i + 1])
        del s_t
    energy = content.float().pow(2).mean().clamp_min(_EPS)
    layers = list(losses.STYLE_LAYERS)

    def region(grams: dict[str, torch.Tensor], mask: torch.Tensor | None, weight: float) -> TiledRegion:
        energies = {k: g.pow(2).mean().clamp_min(_EPS) for k, g in grams.items()}
        if mask is None:
            areas = {n: float(h * w) for n in layers for h, w in [tiling.layer_hw(hw, TAP_STRIDE[n])]}
            return TiledRegion(None, areas, grams, energies, weight)
        at = {n: F.interpolate(mask.float(), size=tiling.layer_hw(hw, TAP_STRIDE[n]), mode="area") for n in layers}
        areas = {n: float(m.pow(2).sum().clamp_min(_EPS)) for n, m in at.items()}
        return TiledRegion(at, areas, grams, energies, weight)

    if masks is not None and masks.styles is not None:  # one region per style (see make_region_targets)
        regions = []
        for grams, mask, w in zip(grams_of, used_masks, used_weights, strict=True):
            area = float(mask.float().mean())
            if area > 0:
                regions.append(region(grams, mask, area * w))
        total = sum(r.weight for r in regions)
        for r in regions:
            r.weight /= total
        return TiledTargets(content, energy, regions)
    total_w = sum(used_weights)
    blend = {n: sum((w / total_w) * g[n] for g, w in zip(grams_of, used_weights, strict=True)) for n in layers}
    if masks is None:
        return TiledTargets(content, energy, [region(blend, None, 1.0)])
    apply = 1 - masks.keep  # only a keep mask: the blend applies where the photo is not kept
    return TiledTargets(content, energy, [region(blend, apply, 1.0)] if float(apply.mean()) > 0 else [])


class _Pull(torch.autograd.Function):
    """An activation passed on unchanged, and a zero whose gradient ``k`` scales the style
    term's gradient that the activation gets at the tile's owned cells:
    ``k * sum_r m_r² ⊙ (f (D_r + D_rᵀ) / A_r)`` (``A_r = sum m_r²``), added to whatever
    the layers above send back. In the features' dtype and layout."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx, features: torch.Tensor, anchor: torch.Tensor,
        pulls: list[tuple[torch.Tensor, torch.Tensor | None]], own: tuple[int, int, int, int],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        ctx.save_for_backward(features)
        ctx.pulls, ctx.own = pulls, own  # type: ignore[attr-defined]
        ctx.set_materialize_grads(False)
        return features, anchor.new_zeros(())

    @staticmethod
    def backward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx, grad_features: torch.Tensor | None, grad_anchor: torch.Tensor | None
    ) -> tuple[torch.Tensor | None, None, None, None]:
        (features,) = ctx.saved_tensors  # type: ignore[attr-defined]
        if grad_anchor is None:
            return grad_features, None, None, None
        r0, r1, c0, c1 = ctx.own  # type: ignore[attr-defined]
        f = features[..., r0:r1, c0:c1]
        n, c, h, w = f.shape
        ft = losses._positions(f)
        add = None
        for sym, mask in ctx.pulls:  # type: ignore[attr-defined]
            part = torch.bmm(ft, (sym * grad_anchor).to(ft.dtype).unsqueeze(0))
            if mask is not None:  # the region's m² (its Gram sums weigh each position by m²)
                part = part * losses._positions(mask.pow(2).to(ft.dtype))
            add = part if add is None else add + part
        out = torch.zeros_like(features) if grad_features is None else grad_features.clone()
        assert add is not None
        out[..., r0:r1, c0:c1] += add.reshape(n, h, w, c).permute(0, 3, 1, 2)
        return out, None, None, None


class _PullTap:
    """A :data:`vgg.Tap` putting :class:`_Pull` on each style layer of one tile's forward."""

    def __init__(self, tile: Tile, pulls: dict[str, list[tuple[torch.Tensor, torch.Tensor | None]]],
                 anchor: torch.Tensor) -> None:
        self.tile, self.pulls, self.anchor = tile, pulls, anchor
        self.zeros: list[torch.Tensor] = []

    def __call__(self, name: str, features: torch.Tensor) -> torch.Tensor:
        if name not in self.pulls or not self.pulls[name]:
            return features
        s = TAP_STRIDE[name]
        own = (*self.tile.rows.own_cells(s), *self.tile.cols.own_cells(s))
        passed, zero = _Pull.apply(features, self.anchor, self.pulls[name], own)
        self.zeros.append(zero)
        return passed


class TiledObjective:
    """The loss of an image at one size against :class:`TiledTargets`, tile by tile (see the
    module docstring), with the network, weights, kept pixels and extra term of ``terms`` (as
    :class:`objective.Objective` takes them). :meth:`value_and_grad` gives what it gives:
    ``(total, content, style, gradient)``; ``generator`` draws the grid offsets, and
    ``on_tile(done, tiles)`` is called after each tile of each pass (``tiles``: both passes'),
    and may raise to stop the step (see :class:`progress.StepCancelled`). ``lagged``: see
    :meth:`value_and_grad`. ``trim_heap``: after each step, give the heap's free memory back
    to the system (a CPU run that does not keep it, see :mod:`host_memory`): the tiles' crops
    differ in shape from step to step as the grid moves, so without it the heap's free but
    unreturned blocks grew with every step (1536 px, 384 px tiles, Adam, bfloat16: the peak
    resident memory 1.84 -> 2.77 GiB over 8 steps; trimmed, 1.76 -> 2.06)."""

    tiled = True

    def __init__(
        self,
        terms: LossTerms,
        targets: TiledTargets,
        tiles: Tiles,
        generator: torch.Generator,
        on_tile: Callable[[int, int], None] | None = None,
        lagged: bool = False,
        trim_heap: bool = False,
    ) -> None:
        self.on_tile, self.lagged, self.trim_heap = on_tile, lagged, trim_heap
        self._previous: list[dict[str, torch.Tensor]] | None = None
        self.net, self.precision, self.keep, self.extra = terms.net, terms.precision, terms.keep, terms.extra
        self.style_weight, self.tv_weight = terms.style_weight, terms.tv_weight
        self.targets, self.tiles, self.generator = targets, tiles, generator
        self._layer_w = dict(terms.layer_weights)

    def compose(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` as the network sees it: kept pixels are the photo's."""
        return composite(x, self.keep)

    def _seen(self, crop: torch.Tensor, tile: Tile) -> torch.Tensor:
        """A tile's crop of the iterate as the network sees it (the keep mask's composite)."""
        if self.keep is None:
            return crop
        mask, photo = self.keep
        return composite(crop, (tiling.take(mask, tile), tiling.take(photo, tile)))

    def _tv(self, seen: torch.Tensor, tile: Tile, hw: tuple[int, int]) -> torch.Tensor:
        """Sum of the squared differences from each owned pixel to its right and lower neighbour
        (within the image, or across the edge when wrapping), over the whole image's counts."""
        h, w = hw
        r0, r1 = tile.rows.own
        c0, c1 = tile.cols.own
        hc, wc = seen.shape[-2:]
        block = seen[..., r0 : min(r1 + 1, hc), c0 : min(c1 + 1, wc)]
        dx = block[..., : r1 - r0, 1:] - block[..., : r1 - r0, :-1]
        dy = block[..., 1:, : c1 - c0] - block[..., :-1, : c1 - c0]
        nx = 3 * h * (w if self.tiles.wrap else w - 1)
        ny = 3 * (h if self.tiles.wrap else h - 1) * w
        return dx.pow(2).sum() / max(nx, 1) + dy.pow(2).sum() / max(ny, 1)

    def _content(self, feats: dict[str, torch.Tensor], tile: Tile) -> torch.Tensor:
        name = losses.CONTENT_LAYER
        s = TAP_STRIDE[name]
        f = _owned(feats[name], tile, s).float()
        t = _global(self.targets.content, tile, s).float()
        return (f - t).pow(2).sum() / (self.targets.content.numel() * self.targets.content_energy)

    def _style(self, sums: list[dict[str, torch.Tensor]]) -> tuple[torch.Tensor, list[dict[str, torch.Tensor]]]:
        """The style loss from the regions' Gram sums, and ``D = dL/dG`` of each."""
        grams = [{n: (s / r.areas[n]).requires_grad_(True) for n, s in rs.items()}
                 for rs, r in zip(sums, self.targets.regions, strict=True)]
        with torch.enable_grad():
            loss = torch.zeros((), device=self.targets.content.device)
            for g, r in zip(grams, self.targets.regions, strict=True):
                for n, gn in g.items():
                    err = (gn - r.grams[n][0]).pow(2).mean() / r.energies[n]
                    loss = loss + r.weight * self._layer_w[n] * err
            leaves = [gn for g in grams for gn in g.values()]
            d = torch.autograd.grad(loss, leaves) if leaves and loss.requires_grad else [torch.zeros_like(v)
                                                                                        for v in leaves]
        it = iter(d)
        return loss.detach(), [{n: next(it) for n in g} for g in grams]

    def _add_sums(self, sums: list[dict[str, torch.Tensor]], feats: dict[str, torch.Tensor], tile: Tile) -> None:
        """Add the owned cells' (guided) Gram sums of one tile's activations to ``sums``."""
        for rs, r in zip(sums, self.targets.regions, strict=True):
            for n in losses.STYLE_LAYERS:
                f = _owned(feats[n].detach(), tile, TAP_STRIDE[n])
                if r.masks is not None:
                    f = f * _global(r.masks[n], tile, TAP_STRIDE[n]).to(f.dtype)
                part = _gram_sum(f)
                rs[n] = part if n not in rs else rs[n] + part

    def _gram_pass(self, x: torch.Tensor, grid: list[Tile], report: Callable[[], None]
                   ) -> list[dict[str, torch.Tensor]]:
        """1. The whole image's (guided) Gram sums, tile by tile, without gradient."""
        sums: list[dict[str, torch.Tensor]] = [{} for _ in self.targets.regions]
        with torch.no_grad():
            for tile in grid:
                feats = self.precision.features(self.net, self._seen(tiling.take(x, tile), tile))
                self._add_sums(sums, feats, tile)
                del feats
                report()
        return sums

    def _gradient_pass(
        self, x: torch.Tensor, grid: list[Tile], d: list[dict[str, torch.Tensor]], report: Callable[[], None],
        sums: list[dict[str, torch.Tensor]] | None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """2. The gradient, tile by tile, with the style term's ``D = dL/dG``; and the content and
        TV terms' values. With ``sums``, this pass's Gram sums are added to it too."""
        hw = (int(x.shape[-2]), int(x.shape[-1]))
        pulls: dict[str, list[tuple[torch.Tensor, torch.Tensor | None]]] = {n: [] for n in losses.STYLE_LAYERS}
        for dr, r in zip(d, self.targets.regions, strict=True):
            for n in losses.STYLE_LAYERS:
                pulls[n].append(((dr[n] + dr[n].T) / r.areas[n], r.masks[n] if r.masks is not None else None))
        grad = torch.zeros_like(x)
        c = torch.zeros((), device=x.device)
        tv = torch.zeros((), device=x.device)
        anchor = torch.ones((), device=x.device)
        for tile in grid:
            crop = tiling.take(x, tile).requires_grad_(True)
            seen = self._seen(crop, tile)
            tile_pulls = {n: [(sym, None if mk is None else _global(mk, tile, TAP_STRIDE[n]))
                              for sym, mk in p] for n, p in pulls.items()}
            tap = _PullTap(tile, tile_pulls, anchor)
            feats = self.precision.features(self.net, seen, tap)
            if sums is not None:
                with torch.no_grad():
                    self._add_sums(sums, feats, tile)
            content = self._content(feats, tile)
            loss = content
            if tap.zeros:
                loss = loss + self.style_weight * torch.stack(tap.zeros).sum()
            if self.tv_weight:
                tv_part = self._tv(seen, tile, hw)
                loss = loss + self.tv_weight * tv_part
                tv = tv + tv_part.detach()
            c = c + content.detach()
            (g,) = torch.autograd.grad(loss, crop)
            tiling.add_into(grad, tile, g)
            del feats, loss, g, crop, seen, tap, content
            report()
        return grad, c, tv

    def value_and_grad(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Loss terms at ``x`` and the gradient of the total (shape of ``x``, float32).

        Exact (``lagged`` False): a Gram pass, then the gradient pass. Lagged: the gradient
        pass uses the Gram matrices of the previous call's image and collects this image's
        on the way, which gives this call's loss exactly (and the next call's ``D``); the
        first call of a size runs the Gram pass.
        """
        x = x.detach()
        hw = (int(x.shape[-2]), int(x.shape[-1]))
        offset = tiling.random_offset(self.tiles.size, self.generator)
        grid = self.tiles.grid(hw, offset)
        passes = 1 if self.lagged and self._previous is not None else 2
        gram_grid = self.tiles.gram_grid(hw, offset) if passes == 2 else []
        done = [0]

        def report() -> None:
            done[0] += 1
            if self.on_tile is not None:
                self.on_tile(done[0], len(gram_grid) + len(grid))

        if passes == 2:
            sums = self._gram_pass(x, gram_grid, report)
            s, d = self._style(sums)
            grad, c, tv = self._gradient_pass(x, grid, d, report, None)
            self._previous = sums if self.lagged else None
        else:
            assert self._previous is not None
            _s_prev, d = self._style(self._previous)
            sums = [{} for _ in self.targets.regions]
            grad, c, tv = self._gradient_pass(x, grid, d, report, sums)
            s, _d = self._style(sums)
            self._previous = sums
        total = c + self.style_weight * s + self.tv_weight * tv
        if self.extra is not None:  # a whole-image term (video's temporal loss): its own autograd
            xe = x.clone().requires_grad_(True)
            e = self.extra(self.compose(xe))
            (ge,) = torch.autograd.grad(e, xe)
            grad += ge
            total = total + e.detach()
        if self.trim_heap:
            host_memory.release_free_memory()
        return total, c, s, grad
