"""A seam measure: the per-row and per-column mean |Laplacian| of an image's luma.

A seam (an edge where tiles meet, or where a texture repeats) shows as a row or column whose
mean |Laplacian| stands out. :func:`seam_excess` compares an image's most prominent row or
column with a reference's (e.g. the untiled result of the same settings): 1.1 means 10 %
above the reference's largest.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from PIL import Image

from nst_desktop.engine.image.images import pil_to_tensor, tensor_to_pil

#: Rec. 601 luma weights of RGB.
_LUMA = (0.299, 0.587, 0.114)


def laplacian_profile(image: Image.Image) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean |Laplacian| (4-neighbour, luma in [0, 1]) of each row and each column, over the
    image's interior (the outermost pixels have no full neighbourhood)."""
    x = pil_to_tensor(image.convert("RGB"))
    luma = (x * torch.tensor(_LUMA).view(1, 3, 1, 1)).sum(1, keepdim=True)
    kernel = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]).view(1, 1, 3, 3)
    lap = F.conv2d(luma, kernel).abs()[0, 0]
    return lap.mean(dim=1), lap.mean(dim=0)


def seam_excess(image: Image.Image, reference: Image.Image) -> float:
    """Largest row or column mean |Laplacian| of ``image`` over the largest of ``reference``."""
    rows, cols = laplacian_profile(image)
    ref_rows, ref_cols = laplacian_profile(reference)
    return float(torch.cat([rows, cols]).max() / torch.cat([ref_rows, ref_cols]).max().clamp_min(1e-12))


def rolled_half(image: Image.Image) -> Image.Image:
    """``image`` rolled by half its width and height: its edges meet in the middle."""
    x = pil_to_tensor(image.convert("RGB"))
    h, w = x.shape[-2:]
    return tensor_to_pil(torch.roll(x, shifts=(h // 2, w // 2), dims=(-2, -1)))


#: How far from the tile's edges (a share of its width or height) the photo fades into its
#: half-rolled copies in :func:`periodic`; the middle half keeps the photo alone.
BLEND_BAND = 0.25


def _edge_weight(n: int, band: float = BLEND_BAND) -> torch.Tensor:
    """Weight of the unrolled photo along a side of ``n`` px: 0 at the edges, rising (raised
    cosine) to 1 at ``band * n`` from them, 1 in the middle; periodic (the same at both ends)."""
    to_edge = torch.minimum(torch.arange(n) + 0.5, n - 0.5 - torch.arange(n)) / (band * n)
    return torch.sin(torch.pi / 2 * to_edge.clamp(max=1.0)).pow(2)


def periodic(image: Image.Image) -> Image.Image:
    """``image`` made to continue across its edges when repeated, without a seam inside either
    (the start and the content of a seamless run).

    A cross-fade of four copies: the photo, and the photo rolled by half its width, half its
    height and both, ``sum over (a, b) of wy_a(y) * wx_b(x) * roll(image, a * H/2, b * W/2)``
    with ``wx_0 = p(x)``, ``wx_1 = 1 - p(x)`` and :func:`_edge_weight` ``p`` (likewise in y).
    Each copy is weighted 0 on its own wrap-around seam: the photo's lies at the tile's edges,
    where the rolled copies bring in its continuous middle; a rolled copy's lies through the
    middle, where only the photo shows. With one half-rolled copy, its seams showed as a hard
    cross through the middle of the tile; with symmetric weights (sin² and cos²) the tile
    repeated at half its size. The middle half keeps the photo; within ``BLEND_BAND`` of the
    edges it shows as a soft double image.
    """
    x = pil_to_tensor(image.convert("RGB"))
    h, w = x.shape[-2:]
    wy = _edge_weight(h).view(1, 1, h, 1)
    wx = _edge_weight(w).view(1, 1, 1, w)
    out = torch.zeros_like(x)
    for a, wy_a in ((0, wy), (1, 1 - wy)):
        for b, wx_b in ((0, wx), (1, 1 - wx)):
            out += wy_a * wx_b * torch.roll(x, shifts=(a * (h // 2), b * (w // 2)), dims=(-2, -1))
    return tensor_to_pil(out)
