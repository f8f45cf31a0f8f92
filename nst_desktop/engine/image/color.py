"""Colour preservation (Gatys et al. 2017, "Controlling Perceptual Factors in Neural Style Transfer", sec. 5).

Two methods, chosen by ``StyleParams.preserve_colors``:

- ``"luminance"``: luminance-only transfer. The content and the style images are
  replaced by their luma Y (replicated to three channels); the style's Y is first
  given the mean and standard deviation of the content's Y. The usual optimisation
  runs on these grey images; the result's Y is then recombined with the content's
  chroma (Cb, Cr). See :func:`luminance_image` and :func:`recombine_luma`.
- ``"match"``: colour histogram matching to first and second order. Each style
  image's RGB colours are linearly transformed so that their mean and covariance
  equal the content's, before the run: ``x' = A (x - mu_s) + mu_c`` with
  ``A = C_c^(1/2) C_s^(-1/2)`` (symmetric matrix square roots from
  ``torch.linalg.eigh``). See :func:`match_color`.

Without colour preservation a run paints, by default, in the painting's palette
(``init="palette"``, :func:`in_palette`; where it is used: :mod:`palette`).

Colour space: full-range ITU-R BT.601 YCbCr as in JPEG/JFIF (the one Pillow's
``convert("YCbCr")`` uses), on tensors in [0, 1] with Cb and Cr offset by 0.5.
Tensors follow the engine's convention ``(1, 3, H, W)``, RGB, float32.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from PIL import Image

from nst_desktop.engine.image.images import pil_to_tensor, tensor_to_pil

#: RGB -> YCbCr (rows: Y, Cb, Cr), full range BT.601 (JFIF).
_RGB_TO_YCBCR = torch.tensor(
    [
        [0.299, 0.587, 0.114],
        [-0.168736, -0.331264, 0.5],
        [0.5, -0.418688, -0.081312],
    ]
)
_CHROMA_OFFSET = torch.tensor([0.0, 0.5, 0.5])
#: Added to covariance eigenvalues before the inverse square root (a flat-coloured image
#: has a singular covariance); in squared [0, 1] units.
COV_EPS = 1e-5
#: Pixels of a painting its colour distribution is read from (every k-th of a larger one).
PALETTE_SAMPLES = 1 << 20
#: Pixels recoloured at a time (their float64 temporaries: about 60 MB).
APPLY_CHUNK = 1 << 20


def rgb_to_ycbcr(t: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` RGB in [0, 1] -> YCbCr, Y in [0, 1], Cb/Cr in [0, 1] (0.5 = neutral)."""
    m = _RGB_TO_YCBCR.to(t)
    return torch.einsum("ij,njhw->nihw", m, t) + _CHROMA_OFFSET.to(t).view(1, 3, 1, 1)


def ycbcr_to_rgb(t: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rgb_to_ycbcr` (not clamped)."""
    m = torch.linalg.inv(_RGB_TO_YCBCR.double()).to(t)
    return torch.einsum("ij,njhw->nihw", m, t - _CHROMA_OFFSET.to(t).view(1, 3, 1, 1))


def luma(t: torch.Tensor) -> torch.Tensor:
    """Y of an RGB tensor, shape ``(N, 1, H, W)``."""
    return rgb_to_ycbcr(t)[:, :1]


def luminance_image(img: Image.Image, like: Image.Image | None = None) -> Image.Image:
    """``img``'s luma as a grey RGB image (Y in all three channels).

    With ``like``, Y is first shifted and scaled to have the mean and standard
    deviation of ``like``'s Y (the paper's luminance matching of the style to the
    content), then clamped to [0, 1].
    """
    y = luma(pil_to_tensor(img))
    if like is not None:
        ref = luma(pil_to_tensor(like))
        y = (y - y.mean()) / y.std(correction=0).clamp_min(1e-6) * ref.std(correction=0) + ref.mean()
    return tensor_to_pil(y.clamp(0, 1).expand(-1, 3, -1, -1))


def recombine_luma(result: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """RGB image with the luma of ``result`` and the chroma of ``content`` (same shape), clamped to [0, 1].

    ``result`` is an RGB tensor (grey when optimised on luminance images; its Y is used).
    Where the combination falls outside the RGB cube, clamping changes the chroma a little.
    """
    out = rgb_to_ycbcr(content)
    out[:, :1] = luma(result)
    return ycbcr_to_rgb(out).clamp(0, 1)


def color_stats(t: torch.Tensor, weights: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean ``(3,)`` and covariance ``(3, 3)`` of the pixel colours of an RGB tensor (float64):
    ``(1, 3, H, W)``, ``(3, H, W)`` or ``(3, N)``; with ``weights`` (one per pixel, e.g. a
    region's mask) the weighted ones."""
    x = t[0].reshape(3, -1).double() if t.dim() == 4 else t.reshape(3, -1).double()
    if weights is None:
        mu = x.mean(dim=1)
        xc = x - mu[:, None]
        return mu, xc @ xc.T / x.shape[1]
    w = weights.reshape(-1).double()
    total = w.sum()
    mu = (x * w).sum(1) / total
    xc = x - mu[:, None]
    return mu, (xc * w) @ xc.T / total


def _sym_pow(c: torch.Tensor, power: float, eps: float = COV_EPS) -> torch.Tensor:
    """``c ** power`` of a symmetric positive semi-definite matrix (``eps`` added to its eigenvalues)."""
    vals, vecs = torch.linalg.eigh(c)
    vals = vals.clamp_min(0) + eps
    return vecs @ torch.diag(vals.pow(power)) @ vecs.T


def match_color_tensor(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """``style``'s colours moved to ``content``'s mean and covariance (not clamped)."""
    mu_s, cov_s = color_stats(style)
    mu_c, cov_c = color_stats(content)
    a = _sym_pow(cov_c, 0.5) @ _sym_pow(cov_s, -0.5)
    x = style[0].reshape(3, -1).double()
    y = a @ (x - mu_s[:, None]) + mu_c[:, None]
    return y.reshape_as(style[0]).unsqueeze(0).to(style.dtype)


def match_color(style: Image.Image, content: Image.Image) -> Image.Image:
    """``style`` with its colour mean and covariance matched to ``content``'s (8-bit RGB, clamped).

    Clamping to the RGB cube and rounding move the statistics slightly off the target
    where the transform pushes colours outside it.
    """
    return tensor_to_pil(match_color_tensor(pil_to_tensor(style), pil_to_tensor(content)))


def mixture_stats(
    images: Sequence[torch.Tensor], weights: Sequence[float]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean ``(3,)`` and covariance ``(3, 3)`` (float64) of the colours of several RGB images
    pooled with relative ``weights`` (each image counts by its weight, not by its pixel count):
    the moments of the mixture, ``mu = sum w_i mu_i``, ``C = sum w_i (C_i + mu_i mu_i^T) - mu mu^T``."""
    total = float(sum(weights))
    mu = torch.zeros(3, dtype=torch.float64)
    second = torch.zeros(3, 3, dtype=torch.float64)
    for img, w in zip(images, weights):
        if w <= 0:
            continue
        m, c = color_stats(img)
        mu += (w / total) * m
        second += (w / total) * (c + torch.outer(m, m))
    return mu, second - torch.outer(mu, mu)


def transfer_map(
    mu_s: torch.Tensor, cov_s: torch.Tensor, mu_t: torch.Tensor, cov_t: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The affine map ``x -> A x + b`` that gives colours of mean ``mu_s`` and covariance ``cov_s``
    the mean ``mu_t`` and covariance ``cov_t``, moving them least (the Monge-Kantorovich optimal
    transport map between the two Gaussians, ``A = C_s^(-1/2) (C_s^(1/2) C_t C_s^(1/2))^(1/2) C_s^(-1/2)``):
    of all such maps it keeps the most of the source's own colour relations (a red roof
    stays the reddest thing). Returns ``(A, b)``, float64."""
    root = _sym_pow(cov_s, 0.5)
    inv_root = _sym_pow(cov_s, -0.5)
    # No floor inside: this product's eigenvalues are squares of colour variances (~1e-6),
    # which COV_EPS would swamp; it is only square-rooted, never inverted.
    a = inv_root @ _sym_pow(root @ cov_t @ root, 0.5, eps=0.0) @ inv_root
    return a, mu_t - a @ mu_s


def apply_map(img: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a x + b`` for every pixel ``x`` of an RGB tensor ``(1, 3, H, W)`` (not clamped, ``img``'s dtype)."""
    x = img[0].reshape(3, -1).double()
    return (a @ x + b[:, None]).reshape_as(img[0]).unsqueeze(0).to(img.dtype)


def _weighted_cdf(
    values: torch.Tensor, weights: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The distinct ``values`` (ascending) that carry weight, and the cumulative share of
    ``weights`` at the middle and at the end of each one's run (in (0, 1]): one quantile per
    value, so that equal colours (a clipped sky, a flat background) stay equal."""
    v, order = values.sort()
    w = weights[order]
    distinct, counts = torch.unique_consecutive(v, return_counts=True)
    group = torch.repeat_interleave(torch.arange(distinct.numel()), counts)
    gw = torch.zeros(distinct.numel(), dtype=w.dtype).index_add_(0, group, w)
    cum = gw.cumsum(0)
    mid, end = (cum - gw / 2) / cum[-1], cum / cum[-1]
    carried = gw > 0
    return distinct[carried], mid[carried], end[carried]


def _interp(x: torch.Tensor, xp: torch.Tensor, fp: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear ``f(x)`` through the points ``(xp, fp)`` (``xp`` ascending), constant beyond its ends."""
    if xp.numel() == 1:
        return fp.expand_as(x).clone()
    hi = torch.searchsorted(xp, x.contiguous()).clamp(1, xp.numel() - 1)
    lo = hi - 1
    t = ((x - xp[lo]) / (xp[hi] - xp[lo]).clamp_min(1e-12)).clamp(0, 1)
    return fp[lo] + t * (fp[hi] - fp[lo])


def palette_sample(img: torch.Tensor) -> torch.Tensor:
    """At most :data:`PALETTE_SAMPLES` of an RGB tensor's pixels (every k-th), as ``(3, N, 1)``
    float64: enough to read a palette from, and :func:`color_stats` takes it."""
    pixels = img[0].reshape(3, -1)
    return pixels[:, :: max(1, pixels.shape[1] // PALETTE_SAMPLES)].double().unsqueeze(-1)


@dataclass(frozen=True)
class PaintingColours:
    """The paintings' side of :func:`match_palette`, read once per run (float64, CPU).

    ``mu`` ``(3,)`` and ``cov`` ``(3, 3)``: the pooled colour mean and covariance (RGB in
    [0, 1]); ``axes`` ``(3, 3)``: the covariance's eigenvectors (columns); ``quantiles``:
    along each axis, the distinct projected colours (ascending) and the cumulative weight
    share at the end of each one's run (see :func:`_weighted_cdf`).
    """

    mu: torch.Tensor
    cov: torch.Tensor
    axes: torch.Tensor
    quantiles: tuple[tuple[torch.Tensor, torch.Tensor], ...]


def painting_colours(styles: Sequence[torch.Tensor], weights: Sequence[float]) -> PaintingColours:
    """The palette of ``styles`` (RGB tensors ``(1, 3, H, W)`` or :func:`palette_sample` s, at
    most :data:`PALETTE_SAMPLES` pixels of each are read) pooled by relative ``weights``: each
    painting counts by its weight, not by its pixel count."""
    samples = [s if s.dim() == 3 and s.shape[-1] == 1 else palette_sample(s) for s in styles]
    mu, cov = mixture_stats(samples, weights)
    _, axes = torch.linalg.eigh(cov)
    refs = [(s[..., 0], w / s.shape[1]) for s, w in zip(samples, weights) if w > 0]
    ref = axes.T @ torch.cat([r for r, _ in refs], dim=1)
    ref_w = torch.cat([torch.full((r.shape[1],), w, dtype=torch.float64) for r, w in refs])
    quantiles = []
    for k in range(3):
        ref_v, _, ref_end = _weighted_cdf(ref[k], ref_w)
        quantiles.append((ref_v, ref_end))
    return PaintingColours(mu, cov, axes, tuple(quantiles))


def match_palette(x: torch.Tensor, x_weights: torch.Tensor, colours: PaintingColours) -> torch.Tensor:
    """Colours ``x`` ``(3, N)`` (weighted by ``x_weights`` ``(N,)``, e.g. a region's mask) given
    the paintings' palette ``colours``: first their mean and covariance (:func:`transfer_map`),
    then, along each principal axis of that covariance, their distribution (quantile matching,
    as in Pitie et al.'s N-dimensional pdf transfer, with the paintings' own axes and one pass).
    The mapping is a function of the colour, fitted in float64 on at most
    :data:`PALETTE_SAMPLES` pixels of ``x`` and applied :data:`APPLY_CHUNK` pixels at a time
    (so that a print-size image needs no image-sized float64 temporaries). Returns ``(3, N)``
    in ``x``'s dtype, not clamped."""
    step = max(1, x.shape[1] // PALETTE_SAMPLES)
    xs, xs_w = x[:, ::step].double(), x_weights[::step].double()
    mu_x, cov_x = color_stats(xs, xs_w)
    a, b = transfer_map(mu_x, cov_x, colours.mu, colours.cov)
    axes = colours.axes
    m, shift = axes.T @ a, (axes.T @ b)[:, None]  # x -> its mapped colour in the axes' coordinates
    proj_s = m @ xs + shift
    curves = []
    for k, (ref_v, ref_end) in enumerate(colours.quantiles):
        src_v, src_q, _ = _weighted_cdf(proj_s[k], xs_w)
        # The painting's value at each of the photo's quantiles (its inverse CDF: no blends of
        # its colours), then linear between the photo's own colours.
        curves.append((src_v, ref_v[torch.searchsorted(ref_end, src_q).clamp(max=ref_v.numel() - 1)]))
    out = torch.empty_like(x)
    for i in range(0, x.shape[1], APPLY_CHUNK):
        proj = m @ x[:, i : i + APPLY_CHUNK].double() + shift
        for k, (src_v, at) in enumerate(curves):
            proj[k] = _interp(proj[k], src_v, at)
        out[:, i : i + APPLY_CHUNK] = axes @ proj
    return out


def in_palette(
    content: torch.Tensor,
    colours: PaintingColours | Sequence[PaintingColours | None],
    regions: torch.Tensor | None = None,
    keep: torch.Tensor | None = None,
    free: torch.Tensor | None = None,
) -> torch.Tensor:
    """The photo recoloured to the paintings' palette (:func:`match_palette`), clamped to
    [0, 1]. All ``(1, 3, H, W)`` RGB in [0, 1]; ``colours``: :func:`painting_colours`.

    With ``regions`` (``(S, 1, H, W)`` masks in [0, 1], one per style, at the content's size),
    ``colours`` is one :class:`PaintingColours` per style (None: the style is left out), each
    style's region gets that style's colours (fitted to the photo's colours in that region)
    and ``keep`` ``(1, 1, H, W)`` pixels stay the photo's. Without regions, ``free``
    ``(1, 1, H, W)`` weights the photo's pixels the map is fitted to (1 - a keep mask).
    """
    x = content[0].reshape(3, -1)
    if regions is None:
        assert isinstance(colours, PaintingColours)
        fit = torch.ones(1).expand(x.shape[1]) if free is None else free.reshape(-1)  # no image-sized copy
        y = match_palette(x, fit, colours)
        return y.reshape_as(content[0]).unsqueeze(0).to(content.dtype).clamp(0, 1)
    assert not isinstance(colours, PaintingColours)
    out = torch.zeros_like(content)
    cover = torch.zeros_like(content[:, :1])
    for mask, style_colours in zip(regions, colours, strict=True):
        m = mask.reshape(-1)
        if style_colours is None or float(m.sum()) <= 0:
            continue
        y = match_palette(x, m, style_colours).reshape_as(content[0]).unsqueeze(0).to(content.dtype)
        out += mask.unsqueeze(0) * y
        cover += mask.unsqueeze(0)
    out = torch.where(cover > 0, out / cover.clamp_min(1e-6), content)
    if keep is not None:
        out = out * (1 - keep) + content * keep
    return out.clamp(0, 1)
