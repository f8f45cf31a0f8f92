"""Spatial control (Gatys et al. 2017): which style paints where, and where the photo is kept.

Masks are float32 in [0, 1] (1 = this style here / keep the photo here), ``(N, 1, H, W)``.

Feathering: a mask as given (hard-edged: painted labels, a drawn file) is blurred before use
(:func:`feathered`), so neighbouring regions, and a region and the kept photo, blend over a
short soft edge instead of meeting at a hard, jagged line. The width is a fraction of the
mask's long side, so it is the same on the picture at every output size; the masks stored in
a result's metadata are the ones given (a replay feathers them the same way).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from PIL import Image, ImageFilter

#: Standard deviation of the feathering blur, as a fraction of a mask's long side (10 px on a
#: 1024 px mask, so the blend between two regions is about 40 px wide there).
FEATHER = 0.01
#: Blurs narrower than this (px) are skipped: on a mask under 100 px the edge stays exact.
MIN_FEATHER_PX = 1.0


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
        """These masks resized to ``hw`` (antialiased bilinear) on ``device``."""
        def resize(m: torch.Tensor) -> torch.Tensor:
            if tuple(m.shape[-2:]) != hw:
                m = F.interpolate(m, size=hw, mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)
            return m.to(device)

        return Masks(None if self.styles is None else resize(self.styles), resize(self.keep))


def composite(x: torch.Tensor, keep: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
    """``x`` with the keep-the-photo pixels replaced by the photo (``keep = (mask, photo)``)."""
    if keep is None:
        return x
    mask, photo = keep
    return x * (1 - mask) + photo * mask


def feathered(mask: Image.Image, fraction: float = FEATHER) -> Image.Image:
    """``mask`` (grey, "L") with its edges softened: a Gaussian blur of ``fraction`` x its long
    side (none below :data:`MIN_FEATHER_PX`). Inside a region wider than a few blur widths the
    values stay 255 (or 0)."""
    radius = fraction * max(mask.size)
    return mask.filter(ImageFilter.GaussianBlur(radius)) if radius >= MIN_FEATHER_PX else mask


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
    """Checked, feathered masks at the content's size (see :class:`Masks` and the module's
    "Feathering"); None without any mask."""
    if masks is None and keep_mask is None:
        return None
    keep = mask_tensor(_soft(keep_mask), content_hw) if keep_mask is not None else torch.zeros(1, 1, *content_hw)
    if masks is None:
        return Masks(None, keep)
    masks = list(masks)
    if len(masks) != n_styles:
        raise ValueError(f"{n_styles} style images but {len(masks)} masks: give one mask per style")
    styles = torch.cat([mask_tensor(_soft(m), content_hw) for m in masks]) * (1 - keep)
    # The sum, not the largest: where two feathered regions meet, each is about half and together
    # they cover the pixel (the photo is not kept there); painted labels never overlap.
    covered = styles.sum(dim=0, keepdim=True).clamp(max=1)
    return Masks(styles, torch.maximum(keep, 1 - covered))


def _soft(mask: Image.Image) -> Image.Image:
    if not isinstance(mask, Image.Image):
        raise ValueError(f"a mask must be an image, not {type(mask).__name__}")
    return feathered(mask.convert("L"))
