"""The temporal loss of Ruder, Dosovitskiy & Brox (GCPR 2016) as an :class:`objective.ExtraLoss`.

``weight * mean(c * (x - w)²)``: ``x`` the frame being painted, ``w`` the previous painted frame
warped onto it by the optical flow (:mod:`flow`), ``c`` the reliability mask (1 where the flow
can be trusted, 0 at disocclusions and motion boundaries). The mean is over the C x H x W values
(the paper's 1/D), in [0, 1] pixel units, so the weight does not depend on the image size.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from nst_desktop.engine.net.objective import Term


@dataclass(frozen=True, eq=False)
class TemporalLoss:
    """The term for one frame. ``warped``: ``(1, 3, H, W)`` float32 in [0, 1]; ``mask``:
    ``(1, 1, H, W)`` float32 in [0, 1], at the same size; ``weight`` >= 0 (0: no term)."""

    warped: torch.Tensor
    mask: torch.Tensor
    weight: float

    def __post_init__(self) -> None:
        if self.warped.shape[-2:] != self.mask.shape[-2:]:
            raise ValueError(f"warped frame {tuple(self.warped.shape[-2:])} and mask "
                             f"{tuple(self.mask.shape[-2:])} differ in size")
        if not self.weight >= 0:
            raise ValueError(f"temporal weight must be 0 or more, not {self.weight}")

    def at(self, hw: tuple[int, int], device: torch.device) -> Term | None:
        """The term for iterates of ``hw`` px on ``device``: warped frame and mask resized there
        (bilinear, antialiased when shrinking; the mask stays in [0, 1])."""
        if self.weight == 0:
            return None
        warped, mask = self.warped, self.mask
        if tuple(warped.shape[-2:]) != tuple(hw):
            warped = F.interpolate(warped, size=hw, mode="bilinear", align_corners=False, antialias=True)
            mask = F.interpolate(mask, size=hw, mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)
        warped = warped.to(device=device, dtype=torch.float32)
        mask = mask.to(device=device, dtype=torch.float32)
        weight = float(self.weight)

        def term(x: torch.Tensor) -> torch.Tensor:
            return weight * (mask * (x - warped).square()).mean()

        return term
