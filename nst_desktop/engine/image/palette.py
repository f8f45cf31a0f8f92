"""Painting in the paintings' palette (``init="palette"``, the default without colour preservation).

The Gram loss moves a photo's colours towards the painting's only slowly, and the content
loss pulls them back (relu4_2 carries colour too), so at the presets' budgets a run from
the photo kept the photo's colours. With the palette, three things use the photo
recoloured to the paintings' palette (:func:`color.in_palette`) instead of the photo:

- the start (the first iterate, at the first size of the schedule);
- the content target at every size (so the content loss keeps the photo's structure, not
  its colours);
- each coarse-to-fine size's first iterate: the upsampled result of the size before is
  recoloured again, taking back the drift of the colours during that size.

The keep-the-photo composite still uses the photo itself (see :mod:`masks`). Images are
``(1, 3, H, W)`` RGB tensors in [0, 1] (see :mod:`inputs`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from PIL import Image

from nst_desktop.engine.image import color
from nst_desktop.engine.image.images import pil_to_tensor
from nst_desktop.engine.image.inputs import StyleSource
from nst_desktop.engine.image.masks import Masks
from nst_desktop.engine.params import StyleParams


@dataclass(frozen=True)
class Palette:
    """The paintings' colours, read once per run (every recolour of the run reuses them):
    ``colours``, all styles pooled by their relative weights (:func:`color.painting_colours`);
    with style regions, ``per_style`` (each style's own, None for a weight of 0); and the
    run's region ``masks`` (each style's palette in its own region; kept pixels stay the photo's)."""

    colours: color.PaintingColours
    per_style: tuple[color.PaintingColours | None, ...] | None
    masks: Masks | None

    @classmethod
    def of(cls, styles: Sequence[StyleSource], weights: Sequence[float], masks: Masks | None) -> Palette:
        """The palette of ``styles`` (RGB Pillow images or tensors) blended by ``weights``."""
        samples = [color.palette_sample(_point_sampled(s)) for s in styles]
        weights = [float(w) for w in weights]
        per_style = None
        if masks is not None and masks.styles is not None:
            per_style = tuple(color.painting_colours([s], [1.0]) if w > 0 else None
                              for s, w in zip(samples, weights, strict=True))
        return cls(color.painting_colours(samples, weights), per_style, masks)

    def recolour(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``(1, 3, H, W)`` in [0, 1] (any device) recoloured to this palette: fitted to
        ``x``'s own colours (in each style's region, with masks; outside the kept pixels, with a
        keep mask alone), on the CPU in float64; returned on ``x``'s device and dtype, clamped."""
        x_cpu = x.detach().to("cpu", torch.float32)
        at = self.masks.at(tuple(x.shape[-2:]), x_cpu.device) if self.masks is not None else None
        if at is not None and at.styles is not None and self.per_style is not None:
            out = color.in_palette(x_cpu, self.per_style, at.styles, at.keep)
        else:
            out = color.in_palette(x_cpu, self.colours, free=None if at is None else 1 - at.keep)
        return out.to(x.device, x.dtype)


def palette_for(
    params: StyleParams, styles: Sequence[StyleSource], weights: Sequence[float], masks: Masks | None
) -> Palette | None:
    """The run's palette where it paints in one: ``init="palette"`` without colour preservation
    (with it the photo's colours are the point, and the start stays the photo)."""
    if params.init != "palette" or params.preserve_colors != "none":
        return None
    return Palette.of(styles, weights, masks)


def _point_sampled(img: StyleSource) -> torch.Tensor:
    """A style as a tensor of at most about :data:`color.PALETTE_SAMPLES` of its own pixels
    (nearest-neighbour: a large scan is not converted whole, and no colours are blended)."""
    if isinstance(img, torch.Tensor):
        return img
    scale = math.sqrt(color.PALETTE_SAMPLES / (img.width * img.height))
    if scale < 1:
        img = img.resize((max(1, int(img.width * scale)), max(1, int(img.height * scale))), Image.Resampling.NEAREST)
    return pil_to_tensor(img)


__all__ = ["Palette", "palette_for"]
