"""What is minimised at one size: content loss + style weight x style loss (+ total variation)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import torch

from nst_desktop.engine.image.masks import composite
from nst_desktop.engine.net import losses
from nst_desktop.engine.net.precision import Precision
from nst_desktop.engine.net.vgg import VGGFeatures

#: An extra term of the objective at one size: ``term(x)`` -> 0-d float32 tensor, added to the
#: total as it is (its own weight included). ``x`` is the composited iterate.
Term = Callable[[torch.Tensor], torch.Tensor]


class ExtraLoss(Protocol):
    """A further loss for a run, e.g. video's temporal loss (Ruder et al. 2016): at each size of
    the schedule the engine asks for the term at that size."""

    def at(self, hw: tuple[int, int], device: torch.device) -> Term | None:
        """The term for images of ``hw`` = (height, width) px on ``device`` (None: none at this size)."""
        ...


@dataclass(frozen=True)
class LossTerms:
    """What an objective at one size adds up, whole (:class:`Objective`) or tiled
    (:class:`~nst_desktop.engine.tiling.objective.TiledObjective`), besides its targets:
    the network ``net`` (prepared by ``precision``, which runs it), ``style_weight`` (the style
    term's weight: :data:`losses.STYLE_WEIGHT_AT_STRENGTH_1` x the style strength) and
    ``tv_weight``, ``keep = (mask, photo)`` (the pixels that show the photo, see
    :meth:`Objective.compose`), ``extra`` (a further term, see :class:`ExtraLoss`) and
    ``layer_weights`` (each style layer's weight, one of :data:`losses.LAYER_WEIGHTS`)."""

    net: VGGFeatures
    precision: Precision
    style_weight: float
    tv_weight: float
    keep: tuple[torch.Tensor, torch.Tensor] | None = None
    extra: Term | None = None
    layer_weights: Mapping[str, float] = dataclasses.field(default_factory=lambda: losses.STYLE_LAYERS)


class Objective:
    """Loss of an image at one size against fixed targets.

    Called with the iterate ``x`` (``(1, 3, H, W)`` float32 RGB, nominally in [0, 1]);
    returns ``(total, content, style)`` as 0-d float32 tensors on the device. With ``keep
    = (mask, photo)`` the network sees ``x`` composited with the photo (:meth:`compose`);
    ``extra`` (see :class:`ExtraLoss`) is added to the total (both from ``terms``).
    """

    def __init__(self, terms: LossTerms, targets: losses.StyleTargets) -> None:
        self.net, self.precision, self.keep, self.extra = terms.net, terms.precision, terms.keep, terms.extra
        self.style_weight, self.tv_weight = terms.style_weight, terms.tv_weight
        self.layer_weights = terms.layer_weights
        self.targets = targets

    tiled = False

    def compose(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` as the network sees it (and as the result shows it): kept pixels are the photo's."""
        return composite(x, self.keep)

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.compose(x)
        # Plain style targets: Gram matrices computed in the network's graph (see losses.GramTap).
        tap = losses.GramTap(losses.STYLE_LAYERS) if self.targets.regions is None else None
        feats = self.precision.features(self.net, x, tap)
        c = losses.content_loss(feats, self.targets)
        s = losses.style_loss(feats, self.targets, self.layer_weights, grams=tap.grams if tap is not None else None)
        total = c + self.style_weight * s
        if self.tv_weight:
            total = total + self.tv_weight * losses.tv_loss(x)
        if self.extra is not None:
            total = total + self.extra(x)
        return total, c, s

    def value_and_grad(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(total, content, style, d total / d x)`` at the leaf ``x`` (which requires grad); the
        gradient is in the network's memory layout (channels-last where it runs so), not always ``x``'s."""
        total, c, s = self(x)
        (grad,) = torch.autograd.grad(total, x)
        return total, c, s, grad


def read_step(
    total: torch.Tensor, c: torch.Tensor, s: torch.Tensor, grad: torch.Tensor
) -> tuple[float, float, float, bool]:
    """The step's losses and whether loss and gradient are finite, in one device-to-host copy.

    On a GPU every ``float(tensor)`` waits for the device; reading all four at once
    costs one wait per step instead of four.
    """
    finite = torch.isfinite(total.detach()) & torch.isfinite(grad).all()
    values = torch.stack([total.detach().float(), c.detach().float(), s.detach().float(), finite.float()]).tolist()
    return values[0], values[1], values[2], values[3] == 1.0 and math.isfinite(values[0])
