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
Weights map recurrence to [0, 1] on an absolute scale (see :func:`weights_from_features`): a
painting that is all brushwork keeps every place, a portrait loses its face. A share of each
painting left out instead (the least recurring half, tried first) blurred seascapes and mosaics,
whose "least recurring" places are their strongest strokes (docs/quality.md).

Conventions: paintings are Pillow images or ``(1, 3, H, W)`` float RGB in [0, 1] (colour-matched
ones may be slightly outside), NCHW; weights are ``(1, 1, h, w)`` float32 in [0, 1] at a layer's
grid of cells, 1 = recurs (fully counted), 0 = one-off (left out of the target). The weights are
computed once per run from the painting as the run holds it, seen at a long side of
:data:`LONG_SIDE` px (:data:`SMALL_LONG_SIDE` for a small painting), so their pattern does not depend
on the run's stage; they are then resized bilinearly to each layer's grid. The last few paintings'
weights are kept for later runs in the process (:class:`Memo`): video frames, batch items and the
window's reruns reuse their painting.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from PIL import Image

from nst_desktop.engine.image.images import scaled_size
from nst_desktop.engine.image.inputs import Paintings, StyleSource, hw_of, to_device, working_hw
from nst_desktop.engine.net.precision import Precision
from nst_desktop.engine.net.vgg import VGGFeatures

#: The layers whose Gram targets are weighted (shallower layers hold colours and fine strokes,
#: which are not objects: their targets stay the plain Gram matrices).
LAYERS: tuple[str, ...] = ("relu3_1", "relu4_1", "relu5_1")
#: The layer whose activations decide how well a place recurs (deep enough to see objects).
SOURCE_LAYER = "relu5_1"
#: Long side (px) a painting is seen at to find where it recurs, enlarged or reduced to it: the
#: thresholds below were measured at this size. relu5_1 then has at most 32 x 32 cells, and the
#: similarity of all pairs of cells at most 32⁴ = 1 M floats.
LONG_SIDE = 512
#: A painting whose long side is below this (px) is seen at this size instead: a thumbnail enlarged
#: to 512 px is mostly blur, and the pass at 512 px cost 1.6-3 s on one float32 core for the same
#: weights on the small paintings measured; at 256 px relu5_1 still has 16 cells on the long side
#: (at 5 x 5 cells most places matched nothing and were "one-off").
SMALL_LONG_SIDE = 256
#: Share of the cells a position's match is ranked among: recurrence is the similarity of its
#: k-th best match, k = this share of the cells (one good match elsewhere is not recurring).
MATCH_SHARE = 0.1
#: Cells closer than this share of the grid's long side (and at least :data:`MIN_RADIUS_CELLS`)
#: are not matches: a stroke resembles its own neighbourhood.
RADIUS_SHARE = 0.06
#: The smallest exclusion radius, in cells.
MIN_RADIUS_CELLS = 2.0
#: A position whose k-th match elsewhere is at most this similar (cosine at :data:`SOURCE_LAYER`)
#: is one-off: weight 0. Measured on the painting at 512 px: the mosaic's places are all above
#: 0.39, Turner's Shipwreck and The Starry Night keep 95-99 % of theirs (their ship, stars and moon
#: are the places near it), Frida Kahlo's self-portrait loses 10 % below it and 42 % below 0.25
#: (her face, the monkey, the cat).
ONE_OFF_BELOW = 0.23
#: From this similarity up a position recurs: weight 1 (linear between the two).
RECURS_FROM = 0.28
#: How many paintings' weights :data:`MEMO` keeps (each at most 32 x 32 floats): a run's blend of
#: several, and the last run's.
MEMO_PAINTINGS = 8
#: The network's fingerprint (see :func:`_net_key`) samples its weights at every this many-th index
#: along each dimension (about 60,000 numbers): different weights differ in thousands of them, and
#: sampling keeps the fingerprint cheap next to the network pass it saves.
NET_SAMPLE_STRIDE = 5


class Memo:
    """The weights of the last :data:`MEMO_PAINTINGS` paintings seen, by what decides them (the
    painting's pixels, the size it is seen at, the network's weights and pooling, the number format
    and device): a painting reused by a later run (each video frame, a batch's items, the window's
    reruns) is not passed through the network again. Weights are kept on the CPU; thread-safe."""

    def __init__(self, size: int = MEMO_PAINTINGS) -> None:
        self._size = size
        self._kept: OrderedDict[tuple[object, ...], torch.Tensor] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...]) -> torch.Tensor | None:
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
            return found

    def put(self, key: tuple[object, ...], weights: torch.Tensor) -> None:
        with self._lock:
            self._kept[key] = weights.detach().to("cpu", copy=True)
            self._kept.move_to_end(key)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)


#: The process's memo (a cache, like the loaded network weights': it changes no result).
MEMO = Memo()


def _painting_key(painting: StyleSource) -> tuple[object, ...]:
    """What identifies a painting's pixels: its mode or dtype, size and a digest of its values."""
    if isinstance(painting, Image.Image):
        return painting.mode, painting.size, hashlib.blake2b(painting.tobytes(), digest_size=16).digest()
    t = painting.detach().to("cpu").contiguous()
    return str(t.dtype), tuple(t.shape), hashlib.blake2b(t.numpy().tobytes(), digest_size=16).digest()


def _net_key(net: VGGFeatures, precision: Precision) -> tuple[object, ...]:
    """What decides the network's activations besides the input: its layers (pooling included), a
    sample of its weights and preprocessing (:data:`NET_SAMPLE_STRIDE`), device and number format."""
    with torch.no_grad():
        tensors = [*net.parameters(), *net.buffers()]  # the buffers: the preprocessing's few numbers
        # Every k-th index along each dimension: a view, so only the sample is copied.
        sample = torch.cat([t.detach()[tuple(slice(None, None, NET_SAMPLE_STRIDE) for _ in t.shape)].reshape(-1)
                            .float().cpu() for t in tensors])
    layers = tuple(type(m).__name__ for m in net.layers)
    return (layers, hashlib.blake2b(sample.numpy().tobytes(), digest_size=16).digest(),
            str(precision.device), str(precision.compute_dtype))


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
    """``(1, C, h, w)`` activations of a painting -> ``(1, 1, h, w)`` weights in [0, 1]: 0 where
    :func:`recurrence` is at most :data:`ONE_OFF_BELOW`, 1 from :data:`RECURS_FROM` up, linear
    between."""
    t = recurrence(features)
    return ((t - ONE_OFF_BELOW) / (RECURS_FROM - ONE_OFF_BELOW)).clamp(0, 1)


def painting_weights(net: VGGFeatures, precision: Precision, painting: StyleSource,
                     long_side: int | None = None, memo: Memo | None = None) -> torch.Tensor:
    """Weights of ``painting`` (a Pillow image, or ``(1, 3, H, W)`` in [0, 1]) seen at ``long_side`` px
    (default: :data:`LONG_SIDE`, or :data:`SMALL_LONG_SIDE` for a painting smaller than that; resized
    as a run resizes its paintings, either way, its short side kept at least :data:`inputs.MIN_SIDE`):
    ``(1, 1, h, w)`` float32 at :data:`SOURCE_LAYER`'s grid, on the precision's device. ``net`` must
    tap :data:`SOURCE_LAYER`. Callers pass the painting as the run holds it (reduced to the run's
    final size at most), not as staged for one of its sizes, so that every size gets the same pattern.
    Weights already in ``memo`` (default: :data:`MEMO`) are not computed again."""
    memo = MEMO if memo is None else memo
    if long_side is None:
        long_side = LONG_SIDE if max(hw_of(painting)) >= SMALL_LONG_SIDE else SMALL_LONG_SIDE
    side = max(working_hw(scaled_size(hw_of(painting), long_side)))
    key = (_painting_key(painting), side, _net_key(net, precision))
    known = memo.get(key)
    if known is not None:
        return known.to(precision.device, copy=True)
    with torch.no_grad():
        seen = to_device(painting, side, precision.device)
        weights = weights_from_features(precision.features(net, seen, last=SOURCE_LAYER)[SOURCE_LAYER])
    memo.put(key, weights)
    return weights


def with_weights(net: VGGFeatures, precision: Precision, paintings: Paintings) -> Paintings:
    """``paintings`` with each one's weights (:func:`painting_weights`) computed once, for every size
    of a run (they do not depend on it; None for a painting of weight 0, which no target uses);
    unchanged without ``leave_out_objects`` or if already there."""
    if not paintings.leave_out_objects or paintings.recurrence is not None:
        return paintings
    weights = tuple(painting_weights(net, precision, img) if w > 0 else None
                    for img, w in zip(paintings.images, paintings.weights, strict=True))
    return dataclasses.replace(paintings, recurrence=weights)


def weights_of(net: VGGFeatures, precision: Precision, paintings: Paintings, i: int) -> torch.Tensor:
    """Painting ``i``'s weights: those :func:`with_weights` computed for the run, else computed now."""
    known = paintings.recurrence[i] if paintings.recurrence is not None else None
    return known if known is not None else painting_weights(net, precision, paintings.images[i])


def at_layers(weights: torch.Tensor, grids: Mapping[str, tuple[int, int]]) -> dict[str, torch.Tensor]:
    """``weights`` resized bilinearly to each of :data:`LAYERS`' grid of cells ``grids[name]``
    (``(h, w)``; layers not in ``grids`` are left out): the guides of the painting's Gram targets."""
    return {name: F.interpolate(weights, size=tuple(grids[name]), mode="bilinear", align_corners=False)
            for name in LAYERS if name in grids}
