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


def periodic(image: Image.Image) -> Image.Image:
    """``image`` cross-faded with itself rolled by half its width and height, so that it
    continues across its edges when repeated (the start and the content of a seamless run).

    ``w * image + (1 - w) * rolled``, ``w = sin²(pi y / H) * sin²(pi x / W)``-like (a product
    of two raised-cosine windows: 1 in the middle, 0 at the edges): at the edges only the rolled
    copy shows, whose edges are the original's middle, so the repeat has no jump. The middle
    keeps the photo; the blend shows as a soft double image towards the edges.
    """
    x = pil_to_tensor(image.convert("RGB"))
    h, w = x.shape[-2:]
    wy = torch.sin(torch.pi * (torch.arange(h) + 0.5) / h).pow(2).view(1, 1, h, 1)
    wx = torch.sin(torch.pi * (torch.arange(w) + 0.5) / w).pow(2).view(1, 1, 1, w)
    weight = wy * wx
    rolled = torch.roll(x, shifts=(h // 2, w // 2), dims=(-2, -1))
    return tensor_to_pil(weight * x + (1 - weight) * rolled)
