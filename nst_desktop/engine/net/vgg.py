"""VGG19 feature extractor with named taps at ReLU outputs.

Input: ``(N, 3, H, W)`` float RGB in [0, 1]. The network applies the preprocessing
its weights expect (see :mod:`nst_desktop.engine.net.weights`) as its first operation,
runs torchvision's ``vgg19().features`` architecture cut after the deepest tap in
use, and returns a dict from tap name (``relu1_1`` ... ``relu5_4``) to activations.
All parameters are frozen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

from nst_desktop.engine.net.weights import (
    CAFFE,
    CAFFE_MEAN_BGR,
    CONV_CHANNELS,
    CONV_INDICES,
    IMAGENET_MEAN_RGB,
    IMAGENET_STD_RGB,
    VGGWeights,
)
from nst_desktop.engine.params import POOLINGS, PoolingName

#: Tap name → index in torchvision's ``features`` of the ReLU that produces it.
RELU_INDEX: dict[str, int] = {}
_per_block = (2, 2, 4, 4, 4)
_i = 0
for _b, _n in enumerate(_per_block, start=1):
    for _c in range(1, _n + 1):
        RELU_INDEX[f"relu{_b}_{_c}"] = CONV_INDICES[_i] + 1
        _i += 1
del _i, _b, _n, _c

#: Indices of the max-pooling layers in torchvision's ``features``.
POOL_INDICES = (4, 9, 18, 27, 36)

#: Each tap's channel count and downsampling factor (relative to the input).
TAP_CHANNELS = {name: CONV_CHANNELS[i] for i, name in enumerate(RELU_INDEX)}
TAP_STRIDE = {name: 2 ** (int(name[4]) - 1) for name in RELU_INDEX}
#: ``tap(layer name, activation) -> activation``: see :meth:`VGGFeatures.forward`.
Tap = Callable[[str, torch.Tensor], torch.Tensor]


class Preprocess(nn.Module):
    """RGB [0, 1] → the input convention of the weights (Caffe BGR 0-255 minus mean, or ImageNet)."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        if kind == CAFFE:
            # x_bgr * 255 - mean_bgr, written as (x_rgb[perm] - shift) * scale.
            perm = torch.tensor([2, 1, 0])
            scale = torch.full((3,), 255.0)
            shift = torch.tensor(CAFFE_MEAN_BGR) / 255.0
        else:
            perm = torch.tensor([0, 1, 2])
            scale = 1.0 / torch.tensor(IMAGENET_STD_RGB)
            shift = torch.tensor(IMAGENET_MEAN_RGB)
        self.register_buffer("perm", perm, persistent=False)
        self.register_buffer("scale", scale.view(1, 3, 1, 1), persistent=False)
        self.register_buffer("shift", shift.view(1, 3, 1, 1), persistent=False)
        self.identity_perm = kind != CAFFE

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.identity_perm:
            x = x.flip(1)
        return (x - self.shift) * self.scale


class VGGFeatures(nn.Module):
    """Frozen VGG19 conv stack returning activations at the requested ReLU taps.

    ``pooling`` is ``"max"`` (default, as trained) or ``"average"`` (Gatys et al. found
    it gives slightly smoother results). :meth:`to_compute_dtype` runs the conv stack in
    another dtype (bfloat16); the preprocessing always runs in float32.
    """

    def __init__(self, weights: VGGWeights, taps: Iterable[str], pooling: PoolingName = "max") -> None:
        super().__init__()
        taps = list(dict.fromkeys(taps))
        unknown = [t for t in taps if t not in RELU_INDEX]
        if unknown:
            raise ValueError(f"unknown layer(s) {unknown}; known: {list(RELU_INDEX)}")
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be {' or '.join(map(repr, POOLINGS))}, not {pooling!r}")
        self.taps = taps
        self.preprocess = Preprocess(weights.preprocessing)
        last = max(RELU_INDEX[t] for t in taps)
        layers: list[nn.Module] = []
        in_ch = 3
        conv_i = 0
        for idx in range(last + 1):
            if idx in CONV_INDICES:
                out_ch = CONV_CHANNELS[conv_i]
                # On the meta device: no random init of tensors that load_state_dict replaces.
                layers.append(nn.Conv2d(in_ch, out_ch, 3, padding=1, device="meta"))
                in_ch = out_ch
                conv_i += 1
            elif idx in POOL_INDICES:
                layers.append(nn.MaxPool2d(2, 2) if pooling == "max" else nn.AvgPool2d(2, 2))
            else:
                layers.append(nn.ReLU(inplace=False))
        self.layers = nn.Sequential(*layers)
        sd = {
            k.replace("features.", "", 1): v
            for k, v in weights.state_dict.items()
            if int(k.split(".")[1]) <= last
        }
        self.layers.load_state_dict(sd, assign=True)
        self._tap_at = {RELU_INDEX[t]: t for t in taps}
        self.compute_dtype: torch.dtype | None = None
        self.requires_grad_(False)
        self.eval()

    def to_compute_dtype(self, dtype: torch.dtype | None) -> VGGFeatures:
        """Keep the conv weights in ``dtype`` (``None``: float32) and run the stack in it.

        The input is preprocessed in float32 and then cast once. For bfloat16 this
        computes exactly what ``torch.autocast`` would (convolutions in bfloat16, ReLU
        and pooling in their input's dtype) without casting the weights at every call.
        The returned activations are in ``dtype``.
        """
        self.layers.to(dtype or torch.float32)
        self.compute_dtype = dtype
        return self

    def forward(self, x: torch.Tensor, tap: Tap | None = None, last: str | None = None) -> dict[str, torch.Tensor]:
        """Activations at the taps of ``x`` (RGB in [0, 1], NCHW, float32); with ``last`` (a
        tap) only up to that one, and the layers after it are not run (a content target needs
        relu4_2 only: a quarter less work than to relu5_1).

        ``tap(name, activation)``, if given, is called at each tap and its result flows
        on down the network (and is what is returned for that tap): a hook for an
        operation that must see every use of an activation in one autograd node, such
        as a Gram matrix whose backward adds into the network's gradient (see
        :class:`nst_desktop.engine.net.losses.GramTap`). It must return a tensor equal to
        the activation, and the activation it returns must not be modified in place (it
        may be a view of the layer's output).
        """
        out: dict[str, torch.Tensor] = {}
        stop = RELU_INDEX[last] if last is not None else len(self.layers) - 1
        x = self.preprocess(x)
        if self.compute_dtype is not None:
            x = x.to(self.compute_dtype)
        for idx, layer in enumerate(self.layers):
            x = layer(x)
            name = self._tap_at.get(idx)
            if name is not None:
                if tap is not None:
                    x = tap(name, x)
                out[name] = x
            if idx == stop:
                break
        return out
