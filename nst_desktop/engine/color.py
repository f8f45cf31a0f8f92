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

Without colour preservation the run starts, by default, from the photo recoloured to the
painting's palette (``init="palette"``, :func:`in_palette`): the Gram loss alone moves a
photo's colours only slowly towards the painting's, so at the budgets of the presets the
result kept the photo's colours.

Colour space: full-range ITU-R BT.601 YCbCr as in JPEG/JFIF (the one Pillow's
``convert("YCbCr")`` uses), on tensors in [0, 1] with Cb and Cr offset by 0.5.
Tensors follow the engine's convention ``(1, 3, H, W)``, RGB, float32.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from PIL import Image

from nst_desktop.engine.images import pil_to_tensor, tensor_to_pil

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


def color_stats(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean ``(3,)`` and covariance ``(3, 3)`` of the pixel colours of an RGB tensor (float64)."""
    x = t.reshape(3, -1).double() if t.dim() == 3 else t[0].reshape(3, -1).double()
    mu = x.mean(dim=1)
    xc = x - mu[:, None]
    return mu, xc @ xc.T / x.shape[1]


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


def in_palette(
    content: torch.Tensor,
    styles: Sequence[torch.Tensor],
    weights: Sequence[float],
    regions: torch.Tensor | None = None,
    keep: torch.Tensor | None = None,
) -> torch.Tensor:
    """The photo recoloured to the paintings' palette: ``content``'s colours moved to the
    mean and covariance of the ``styles`` (pooled by ``weights``; see :func:`mixture_stats`)
    with :func:`transfer_map`, clamped to [0, 1]. All ``(1, 3, H, W)`` RGB in [0, 1].

    With ``regions`` (``(S, 1, H, W)`` masks in [0, 1], one per style, at the content's size),
    each style's region gets that style's colours (its map fitted to the photo's colours in
    that region) and ``keep`` ``(1, 1, H, W)`` pixels stay the photo's.
    """
    def mapped(img: torch.Tensor, src: tuple[torch.Tensor, torch.Tensor], style_ts, ws) -> torch.Tensor:
        a, b = transfer_map(*src, *mixture_stats(style_ts, ws))
        return apply_map(img, a, b)

    if regions is None:
        return mapped(content, color_stats(content), styles, weights).clamp(0, 1)
    out = torch.zeros_like(content)
    cover = torch.zeros_like(content[:, :1])
    x = content[0].reshape(3, -1).double()
    for mask, style, w in zip(regions, styles, weights):
        m = mask.reshape(-1).double()
        if w <= 0 or float(m.sum()) <= 0:
            continue
        mu = (x * m).sum(1) / m.sum()  # the photo's colours where this style paints
        xc = x - mu[:, None]
        cov = (xc * m) @ xc.T / m.sum()
        out += mask.unsqueeze(0) * mapped(content, (mu, cov), [style], [1.0])
        cover += mask.unsqueeze(0)
    painted = cover.clamp_min(1e-6)
    out = torch.where(cover > 0, out / painted, content)
    if keep is not None:
        out = out * (1 - keep) + content * keep
    return out.clamp(0, 1)
