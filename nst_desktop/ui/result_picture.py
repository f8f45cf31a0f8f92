"""The README's picture of a result beside its painting, from images the project makes itself.

Usage: ``python -m nst_desktop.ui.result_picture OUT.png [--size PX] [--seed N]``

Paints the generated landscape in the style of the generated strokes (:func:`screenshot.demo_content`,
:func:`screenshot.demo_style`: no file that is not the project's own) with the default settings, the
Balanced budget of the machine's default device, and writes photo | painting | result side by side at
the result's height, each under its label. Needs no display.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image, ImageDraw

from nst_desktop.engine.params import StyleInputs, StyleParams
from nst_desktop.ui.screenshot import demo_content, demo_style

#: Gap around and between the three pictures, and the height of a label above each, px.
GAP = 10
LABEL_HEIGHT = 24


def side_by_side(labelled: list[tuple[str, Image.Image]], height: int) -> Image.Image:
    """The pictures scaled to ``height`` px, left to right on white, each under its label."""
    scaled = [(text, im.convert("RGB").resize((max(1, round(im.width * height / im.height)), height),
                                              Image.Resampling.LANCZOS)) for text, im in labelled]
    width = sum(im.width for _, im in scaled) + GAP * (len(scaled) + 1)
    out = Image.new("RGB", (width, height + LABEL_HEIGHT + GAP), "white")
    draw = ImageDraw.Draw(out)
    x = GAP
    for text, im in scaled:
        out.paste(im, (x, LABEL_HEIGHT))
        draw.text((x, 6), text, fill="black")
        x += im.width + GAP
    return out


def make(out: Path, size: int, seed: int) -> Path:
    """Paint the generated pair with the default settings at ``size`` px and write the picture to ``out``."""
    from nst_desktop.engine.stylize import stylize  # loads torch: only when painting

    photo, painting = demo_content(), demo_style()
    result = stylize(StyleInputs(photo, painting), StyleParams(size=size, seed=seed))
    picture = side_by_side([("photo", photo), ("painting", painting), ("result (default settings)", result.image)],
                           result.image.height)
    out.parent.mkdir(parents=True, exist_ok=True)
    picture.save(out, optimize=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nst_desktop.ui.result_picture",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="PNG file to write")
    parser.add_argument("--size", type=int, default=StyleParams.size, help="result's long side, px")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ns = parser.parse_args(sys.argv[1:] if argv is None else argv)
    print(f"wrote {make(ns.out, ns.size, ns.seed)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
