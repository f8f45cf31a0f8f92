"""How large a picture's brush strokes are, relative to the picture: the scale where its luma has
more detail than a photo's would.

Usage: ``python -m nst_desktop.engine.measure.strokes [--side 512] [--photo PHOTO] IMAGE [IMAGE ...]``

Each picture is taken to luma, resized (Lanczos) to ``side`` px on its long side (a larger result is
thus seen downscaled, as a viewer sees it beside a smaller one), its mean removed, Hann-windowed and
Fourier transformed. The power is averaged over rings of radial frequency f (cycles per long side),
in bins of :data:`BINS_PER_OCTAVE` per octave from :data:`LOWEST_CYCLES` cycles to Nyquist, and
multiplied by f²: the power per octave, flat for a photo's typical 1/f² spectrum, so it rises where
the picture has more detail than a photo: the strokes. Two numbers, as wavelengths in % of the long
side (larger = bolder strokes):

- peak: the bin of largest power per octave;
- centroid: the mean of log f weighted by that power (steadier than the peak when the spectrum is
  flat or has two humps).

With ``photo`` (the result's photo) the power is first divided by the photo's, ring by ring, and 1
is taken off (what the painting added to the photo, where it added anything): the composition
cancels out and only the added texture is measured.

Used to check that a result at 2048 px, downscaled to 512 px, reads as the same painting as the 512 px
result (docs/quality.md).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch

from nst_desktop.engine.image.images import load_image, pil_to_tensor, resize_long_side

#: Lowest radial frequency measured, cycles per long side (coarser is the composition, not strokes).
LOWEST_CYCLES = 4.0
#: Frequency bins per octave.
BINS_PER_OCTAVE = 6
#: The long side (px) pictures are compared at by default.
DEFAULT_SIDE = 512
#: Rec. 601 luma weights of R, G, B.
LUMA = (0.299, 0.587, 0.114)


def power_per_octave(path: str | Path, side: int = DEFAULT_SIDE) -> tuple[torch.Tensor, torch.Tensor]:
    """``(centres, power)``: each bin's centre frequency (cycles per long side) and the luma's mean
    power there times f², for the picture at ``path`` seen at ``side`` px on its long side."""
    rgb = pil_to_tensor(resize_long_side(load_image(path), side))[0].double()
    luma = sum(w * c for w, c in zip(LUMA, rgb, strict=True))
    luma = luma - luma.mean()
    h, w = luma.shape
    window = torch.outer(torch.hann_window(h, periodic=False, dtype=torch.float64),
                         torch.hann_window(w, periodic=False, dtype=torch.float64))
    power = torch.fft.fft2(luma * window).abs().pow(2)
    long = max(h, w)
    fy = torch.fft.fftfreq(h, dtype=torch.float64)[:, None] * long
    fx = torch.fft.fftfreq(w, dtype=torch.float64)[None, :] * long
    f = (fx.pow(2) + fy.pow(2)).sqrt()
    octaves = math.log2(long / 2 / LOWEST_CYCLES)
    edges = LOWEST_CYCLES * 2 ** (torch.arange(0, int(octaves * BINS_PER_OCTAVE) + 1, dtype=torch.float64)
                                  / BINS_PER_OCTAVE)
    centres, powers = [], []
    for lo, hi in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        ring = (f >= lo) & (f < hi)
        if bool(ring.any()):
            centre = math.sqrt(lo * hi)
            centres.append(centre)
            powers.append(float(power[ring].mean()) * centre**2)
    return torch.tensor(centres, dtype=torch.float64), torch.tensor(powers, dtype=torch.float64)


def stroke_scale(path: str | Path, side: int = DEFAULT_SIDE, photo: str | Path | None = None) -> tuple[float, float]:
    """``(peak, centroid)``: the strokes' wavelength, % of the long side (see the module's text)."""
    f, power = power_per_octave(path, side)
    if photo is not None:
        pf, pp = power_per_octave(photo, side)
        n = min(len(f), len(pf))
        f, power = f[:n], (power[:n] / pp[:n].clamp_min(1e-300) - 1.0).clamp_min(0.0)
    peak = float(f[int(power.argmax())])
    weight = float(power.sum())
    centroid = math.exp(float((f.log() * power).sum()) / weight) if weight > 0 else peak
    return 100.0 / peak, 100.0 / centroid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nst_desktop.engine.measure.strokes",
                                     description="Brush stroke size of pictures, % of the long side.")
    parser.add_argument("images", nargs="+", type=Path)
    parser.add_argument("--side", type=int, default=DEFAULT_SIDE, help=f"compare at this long side, px "
                        f"(default {DEFAULT_SIDE})")
    parser.add_argument("--photo", type=Path, help="the results' photo: measure only what the painting added")
    ns = parser.parse_args(argv)
    for path in ns.images:
        peak, centroid = stroke_scale(path, ns.side, ns.photo)
        print(f"{path}: peak {peak:.2f} %, centroid {centroid:.2f} % of the long side")
    return 0


if __name__ == "__main__":
    sys.exit(main())
