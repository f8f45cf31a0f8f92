"""The images a run optimises against: working sizes, resizing onto the device, the
starting image, the style images and their weights, and colour preservation.

Images are RGB. As tensors they are ``(1, 3, H, W)`` float32 in [0, 1] (channel order
R, G, B; not normalised: the network subtracts its own mean, see :mod:`vgg`), except
colour-matched styles, which are unclamped floats (see :func:`prepare_inputs`). Sizes
are ``(height, width)`` in px.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from PIL import Image

from nst_desktop.engine.image import color
from nst_desktop.engine.image.images import load_image, pil_to_tensor, resize_long_side, scaled_size
from nst_desktop.engine.params import PreserveColors, StyleParams

#: Smallest side (px) the network is run at: relu5_1 is 16x smaller than the input.
MIN_SIDE = 16
#: Standard deviation of the noise init around mid-grey, in [0, 1] pixel units.
NOISE_STD = 0.25

#: A style image as the optimisation sees it: an RGB Pillow image, or a ``(1, 3, H, W)``
#: float tensor (colour-matched styles stay unclamped floats; see :func:`prepare_inputs`).
StyleSource = Image.Image | torch.Tensor


@dataclass(frozen=True)
class Paintings:
    """The paintings as a run makes its style targets from them: ``images`` (colour-preserved and
    reduced, see :func:`prepare_inputs` and :func:`shrink_inputs`), blended by ``weights`` (relative,
    checked by :class:`~nst_desktop.engine.params.StyleInputs`), each resized at a size of the run
    to ``scale`` x that size's long side (the brush strokes' size, ``StyleParams.style_scale``).
    ``leave_out_objects``: their deep Gram targets are weighted by where each recurs
    (``StyleParams.leave_out_objects``, see :mod:`nst_desktop.engine.net.recurring`); a run passes
    its params' value, False here gives the plain Gram targets."""

    images: Sequence[StyleSource]
    weights: Sequence[float]
    scale: float = 1.0
    leave_out_objects: bool = False
    #: Each painting's weights where it recurs (``recurring.painting_weights``), computed once for a
    #: run's every size (``recurring.with_weights``; None for a painting of weight 0); None: computed
    #: where the targets are made.
    recurrence: tuple[torch.Tensor | None, ...] | None = field(default=None, compare=False)

    def on_device(self, long_side: int, device: torch.device) -> Iterator[tuple[int, float, torch.Tensor]]:
        """``(index, weight, image)`` of each painting whose weight is above 0, one at a time: the
        image resized for a size of ``long_side`` px (:func:`style_long_side`), on ``device``.
        A weight of 0 contributes nothing; skipping it also keeps weights (1, 0) identical to one style."""
        for i, (img, w) in enumerate(zip(self.images, self.weights, strict=True)):
            if w > 0:
                yield i, w, to_device(img, style_long_side(img, long_side, self.scale), device)


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


def hw_of(img: StyleSource) -> tuple[int, int]:
    """``(height, width)`` of a Pillow image or an NCHW tensor."""
    return (img.height, img.width) if isinstance(img, Image.Image) else (int(img.shape[-2]), int(img.shape[-1]))


def style_long_side(style: StyleSource, long_side: int, style_scale: float) -> int:
    """Long side to resize the style image to: ``long_side * style_scale``, short side at least MIN_SIDE."""
    target = max(1, round(long_side * style_scale))
    return max(working_hw(scaled_size(hw_of(style), target)))


def resized_to_device(img: Image.Image, hw: tuple[int, int], device: torch.device) -> torch.Tensor:
    """``img`` resized to exactly ``hw`` (Lanczos) as a tensor on ``device``."""
    if (img.height, img.width) != hw:
        img = img.resize((hw[1], hw[0]), Image.Resampling.LANCZOS)
    return pil_to_tensor(img).to(device)


def to_device(img: StyleSource, long_side: int, device: torch.device) -> torch.Tensor:
    """``img`` resized to ``long_side`` (Lanczos for Pillow images, antialiased bicubic for tensors)."""
    if isinstance(img, Image.Image):
        return pil_to_tensor(resize_long_side(img, long_side)).to(device)
    hw = scaled_size(hw_of(img), long_side)
    if hw != hw_of(img):
        img = F.interpolate(img, size=hw, mode="bicubic", align_corners=False, antialias=True)
    return img.to(device)


def initial_image(
    params: StyleParams,
    content: Image.Image,
    hw: tuple[int, int],
    device: torch.device,
    seed: int,
    init_image: Image.Image | None = None,
) -> torch.Tensor:
    """The first iterate at ``hw``: ``init_image`` if given (a continue, or a start image file
    already loaded), else ``params.init`` ("content" or "palette": the photo, which the
    run's :class:`palette.Palette` then recolours; "noise" around mid-grey with ``seed``;
    or an image file)."""
    if init_image is not None:
        return resized_to_device(init_image, hw, device)
    if params.init in ("content", "palette"):
        return resized_to_device(content, hw, device)
    if params.init == "noise":
        gen = torch.Generator().manual_seed(seed)
        noise = torch.randn((1, 3, *hw), generator=gen) * NOISE_STD + 0.5
        return noise.clamp_(0, 1).to(device)
    init_img = load_image(params.init)
    return pil_to_tensor(init_img.resize((hw[1], hw[0]), Image.Resampling.LANCZOS)).to(device)


def shrink_inputs(
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
            long_side = style_long_side(img, max(final_hw), style_scale)
            if max(img.size) > long_side:
                img = resize_long_side(img, long_side)
        out.append(img)
    return content, out


def prepare_inputs(
    content: Image.Image,
    styles: Sequence[Image.Image],
    preserve_colors: PreserveColors,
    init_image: Image.Image | None = None,
) -> tuple[Image.Image, list[StyleSource], Image.Image | None]:
    """The images the optimisation actually sees, after colour preservation.

    "luminance": content, styles (luma matched to the content's mean/std) and init image
    become grey luma images; "match": the styles' colours are matched to the content's,
    kept as unclamped float tensors (VGG accepts values outside [0, 1]; clamping a
    saturated painting to the RGB cube would move its covariance by up to ~20%);
    "none": unchanged. See :mod:`nst_desktop.engine.image.color`.
    """
    if preserve_colors == "luminance":
        grey_init = color.luminance_image(init_image) if init_image is not None else None
        return color.luminance_image(content), [color.luminance_image(s, like=content) for s in styles], grey_init
    if preserve_colors == "match":
        content_t = pil_to_tensor(content)
        return content, [color.match_color_tensor(pil_to_tensor(s), content_t) for s in styles], init_image
    return content, list(styles), init_image
