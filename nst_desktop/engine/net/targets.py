"""The targets at one size of the schedule: the content's activations and the styles' Gram matrices."""

from __future__ import annotations

import torch

from nst_desktop.engine.image.inputs import Paintings
from nst_desktop.engine.image.masks import Masks
from nst_desktop.engine.net import losses, recurring
from nst_desktop.engine.net.precision import Precision
from nst_desktop.engine.net.vgg import VGGFeatures


def style_targets(
    net: VGGFeatures,
    precision: Precision,
    content_t: torch.Tensor,
    paintings: Paintings,
    long_side: int,
    masks: Masks | None = None,
) -> losses.StyleTargets:
    """Targets at one size: content activations and the weighted mean of the paintings' Gram
    matrices; with ``masks`` (at this size), one guided region per painting (see :mod:`losses`).
    With ``paintings.leave_out_objects``, each painting's Gram matrices at :data:`recurring.LAYERS`
    are guided by where it recurs (:mod:`recurring`), so that its one-off objects are not targets;
    without, they are the plain Gram matrices (no weights are computed).

    ``content_t``: the content at this size, ``(1, 3, H, W)`` in [0, 1] on the precision's device;
    ``long_side``: this size's long side, px (each painting is resized to ``long_side *
    paintings.scale``)."""
    style_feats = []
    used_weights = []
    used_masks = []
    guides: list[dict[str, torch.Tensor]] | None = [] if paintings.leave_out_objects else None
    for i, w, s_t in paintings.on_device(long_side, precision.device):
        feats = precision.features(net, s_t)
        style_feats.append(feats)
        if guides is not None:
            recurs = recurring.weights_of(net, precision, paintings, i)
            guides.append(recurring.at_layers(recurs, {n: tuple(f.shape[-2:]) for n, f in feats.items()}))
        used_weights.append(w)
        if masks is not None and masks.styles is not None:
            used_masks.append(masks.styles[i : i + 1])
        del s_t
    # Masks are taken to every style layer's shape from the content's activations; without them
    # the content target needs nothing past its own layer.
    content_feats = precision.features(net, content_t, last=losses.CONTENT_LAYER if masks is None else None)
    if masks is not None and masks.styles is not None:
        return losses.make_region_targets(content_feats, style_feats, used_masks, style_weights=used_weights,
                                          guides=guides)
    targets = losses.make_targets(content_feats, style_feats, style_weights=used_weights, guides=guides)
    if masks is not None:  # only a keep mask: the blend applies where the photo is not kept
        apply = 1 - masks.keep
        if float(apply.mean()) > 0:
            region = losses.Region(losses.masks_at_layers(content_feats, apply), targets.grams,
                                   targets.gram_energies, 1.0)
            targets.regions = [region]
        else:
            targets.regions = []
    return targets
