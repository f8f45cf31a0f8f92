"""Helpers shared by the tests (not a test module): small synthetic images and quick engine parameters."""

from __future__ import annotations

from PIL import Image, ImageDraw


def make_content(size: tuple[int, int] = (96, 64)) -> Image.Image:
    """A small synthetic 'photo': sky, ground, a sun and a house."""
    w, h = size
    img = Image.new("RGB", size, (135, 180, 235))
    d = ImageDraw.Draw(img)
    d.rectangle((0, h * 2 // 3, w, h), fill=(70, 140, 60))
    d.ellipse((w // 10, h // 10, w // 10 + h // 4, h // 10 + h // 4), fill=(250, 220, 80))
    d.rectangle((w // 2, h // 3, w * 3 // 4, h * 2 // 3), fill=(180, 60, 50))
    return img


def make_style(size: tuple[int, int] = (80, 80)) -> Image.Image:
    """A small synthetic 'painting': coloured diagonal strokes."""
    w, h = size
    img = Image.new("RGB", size, (20, 30, 90))
    d = ImageDraw.Draw(img)
    colours = [(240, 210, 60), (230, 90, 40), (60, 160, 200)]
    for i in range(-h, w, 6):
        d.line((i, 0, i + h, h), fill=colours[(i // 6) % 3], width=3)
    return img


def disc_box(size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The box of :func:`make_one_off_painting`'s disc: centred, radius 3/16 of the short side."""
    w, h = size
    r = min(w, h) * 3 // 16
    return w // 2 - r, h // 2 - r, w // 2 + r, h // 2 + r


def make_one_off_painting(size: tuple[int, int] = (128, 128), disc: bool = True) -> Image.Image:
    """A 'painting' of light blue strokes repeated on blue, with one large red disc in the middle
    (a one-off object, see engine/net/recurring.py) if ``disc``."""
    w, h = size
    img = Image.new("RGB", size, (30, 50, 150))
    d = ImageDraw.Draw(img)
    for x in range(-h, w, 8):
        d.line((x, 0, x + h // 2, h), fill=(120, 170, 240), width=3)
    if disc:
        d.ellipse(disc_box(size), fill=(220, 30, 30))
    return img


def small_engine_params(**kwargs: object):
    """StyleParams for a quick single-size CPU run (64 px, 20 steps, seed 0), overridable."""
    from nst_desktop.engine import StyleParams

    base: dict[str, object] = {
        "device": "cpu", "seed": 0, "preview_every": 0, "size": 64, "steps": 20, "coarse_to_fine": False,
    }
    base.update(kwargs)
    return StyleParams(**base)  # type: ignore[arg-type]
