"""Where a painting repeats itself: per-position weights for its deep Gram targets.

Gram statistics of a painting's deep layers (relu3_1 and below) hold its one-off objects as
well as its brushwork: a face, an eye or a moon is then reproduced wherever the photo is flat.
Brushwork recurs across the canvas; such objects do not. So each position of the painting is
weighted by how well it recurs elsewhere in the painting, and the deep layers' targets are the
painting's guided Gram matrices with those weights (Gatys et al. 2017, "Controlling Perceptual
Factors in Neural Style Transfer", eq. 6-7; see :func:`losses.guided_gram`).

Recurrence of a position (a cell of :data:`SOURCE_LAYER`): the cosine similarity of its
activation vector to that of its k-th most similar cell farther away than a radius (so a
stroke's own neighbourhood does not count), k being :data:`MATCH_SHARE` of the cells.
Weights map recurrence to [0, 1] relative to the painting's own distribution (see
:func:`weights_from_features`).

Conventions: paintings are ``(1, 3, H, W)`` float RGB in [0, 1] (colour-matched ones may be
slightly outside), NCHW, on the run's device; weights are ``(1, 1, h, w)`` float32 in [0, 1] at a
layer's grid of cells, 1 = recurs (fully counted), 0 = one-off (left out of the target). The
weights are computed from the painting seen at a long side of at most :data:`MAX_LONG_SIDE` px,
so their cost and their pattern do not depend on the run's size; they are then resized
bilinearly to each layer's grid.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F

from nst_desktop.engine.image.images import scaled_size
from nst_desktop.engine.image.inputs import working_hw
from nst_desktop.engine.net.precision import Precision
from nst_desktop.engine.net.vgg import VGGFeatures

#: The layers whose Gram targets are weighted (shallower layers hold colours and fine strokes,
#: which are not objects: their targets stay the plain Gram matrices).
LAYERS: tuple[str, ...] = ("relu3_1", "relu4_1", "relu5_1")
#: The layer whose activations decide how well a place recurs (deep enough to see objects).
SOURCE_LAYER = "relu5_1"
#: Long side (px) at most of the painting the weights are computed from: relu5_1 then has at most
#: 32 x 32 cells, and the similarity of all pairs of cells at most 32⁴ = 1 M floats.
MAX_LONG_SIDE = 512
#: Share of the cells a position's match is ranked among: recurrence is the similarity of its
#: k-th best match, k = this share of the cells (one good match elsewhere is not recurring).
MATCH_SHARE = 0.1
#: Cells closer than this share of the grid's long side (and at least :data:`MIN_RADIUS_CELLS`)
#: are not matches: a stroke resembles its own neighbourhood.
RADIUS_SHARE = 0.06
#: The smallest exclusion radius, in cells.
MIN_RADIUS_CELLS = 2.0
#: Share of the positions left out: weight 0 below this quantile of the painting's recurrence.
SHARE_LEFT_OUT = 0.5
#: The weights rise linearly from 0 at quantile :data:`SHARE_LEFT_OUT` to 1 at this many
#: quantiles above it (0.5 + 0.3: weight 1 from the 80 % quantile up).
RISE = 0.3
#: A position whose k-th match is at least this similar (cosine) recurs, whatever the quantiles:
#: a painting that is one repeated texture keeps its weight (the real paintings measured recur
#: far less, 95 % quantile 0.58-0.75 at 512 px, so the quantiles decide there).
SURELY_RECURS = 0.9


def recurrence(features: torch.Tensor) -> torch.Tensor:
    """``(1, C, h, w)`` activations -> ``(1, 1, h, w)`` float32: each cell's cosine similarity to
    its k-th best match farther than the radius (-1 where no cell is that far)."""
    f = features[0].float()
    c, h, w = f.shape
    v = F.normalize(f.reshape(c, h * w).T, dim=1)
    sim = v @ v.T
    yy, xx = torch.meshgrid(torch.arange(h, device=f.device), torch.arange(w, device=f.device), indexing="ij")
    pos = torch.stack([yy.reshape(-1), xx.reshape(-1)], 1).float()
    radius = max(MIN_RADIUS_CELLS, RADIUS_SHARE * max(h, w))
    sim.masked_fill_(torch.cdist(pos, pos) <= radius, -1.0)
    k = max(1, int(MATCH_SHARE * h * w))
    return sim.topk(k, dim=1).values[:, -1].reshape(1, 1, h, w)


def weights_from_features(features: torch.Tensor) -> torch.Tensor:
    """``(1, C, h, w)`` activations of a painting -> ``(1, 1, h, w)`` weights in [0, 1].

    0 below the :data:`SHARE_LEFT_OUT` quantile of :func:`recurrence`, rising linearly to 1 at
    the quantile :data:`RISE` above it, and 1 wherever recurrence reaches that quantile or
    :data:`SURELY_RECURS` (ties at the top, e.g. a texture that repeats exactly, count as 1)."""
    t = recurrence(features)
    flat = t.reshape(-1)
    lo = torch.quantile(flat, SHARE_LEFT_OUT)
    hi = torch.quantile(flat, min(1.0, SHARE_LEFT_OUT + RISE))
    m = ((t - lo) / (hi - lo).clamp_min(1e-6)).clamp(0, 1)
    return torch.where((t >= hi) | (t >= SURELY_RECURS), torch.ones_like(m), m)


def painting_weights(net: VGGFeatures, precision: Precision, painting: torch.Tensor,
                     features: Mapping[str, torch.Tensor] | None = None,
                     max_long_side: int = MAX_LONG_SIDE) -> torch.Tensor:
    """Weights of ``painting`` ``(1, 3, H, W)`` at :data:`SOURCE_LAYER`'s grid of the painting
    reduced to ``max_long_side`` px (antialiased bicubic) if larger (its short side kept at least
    :data:`inputs.MIN_SIDE`); ``(1, 1, h, w)`` float32 on the painting's device. ``net`` must tap
    :data:`SOURCE_LAYER`. ``features``: the painting's activations if the caller has them (used,
    instead of a forward pass, when the painting needs no reduction)."""
    hw = (int(painting.shape[-2]), int(painting.shape[-1]))
    with torch.no_grad():
        if max(hw) > max_long_side:
            size = working_hw(scaled_size(hw, max_long_side))
            painting = F.interpolate(painting.float(), size=size, mode="bicubic", align_corners=False, antialias=True)
        elif features is not None and SOURCE_LAYER in features:
            return weights_from_features(features[SOURCE_LAYER].detach())
        feats = precision.features(net, painting, last=SOURCE_LAYER)
        return weights_from_features(feats[SOURCE_LAYER])


def at_layers(weights: torch.Tensor, grids: Mapping[str, tuple[int, int]]) -> dict[str, torch.Tensor]:
    """``weights`` resized bilinearly to each of :data:`LAYERS`' grid of cells ``grids[name]``
    (``(h, w)``; layers not in ``grids`` are left out): the guides of the painting's Gram targets."""
    return {name: F.interpolate(weights, size=tuple(grids[name]), mode="bilinear", align_corners=False)
            for name in LAYERS if name in grids}
