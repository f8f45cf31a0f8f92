"""The stroke-size measure: stripes of a known period, the same picture at two sizes, what a painting
added to its photo, and the command's output."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFilter

from nst_desktop.engine.measure import strokes


def _stripes(size: tuple[int, int], period: float, base: Image.Image | None = None) -> Image.Image:
    """Soft diagonal stripes every ``period`` px (over ``base`` if given, else grey)."""
    img = base.copy() if base is not None else Image.new("RGB", size, (128, 128, 128))
    draw = ImageDraw.Draw(img)
    w, h = size
    x = -h
    while x < w:
        draw.line((x, 0, x + h, h), fill=(230, 200, 60), width=max(1, round(period / 3)))
        x += period * math.sqrt(2)  # diagonal: the period across the stripes is ``period``
    return img.filter(ImageFilter.GaussianBlur(period / 8))


def _photo(size: tuple[int, int]) -> Image.Image:
    """A 'photo': a sky over a hill with grain at every scale (a real photo's power falls off as
    1/f², not to nothing)."""
    img = Image.new("RGB", size, (90, 140, 220))
    w, h = size
    ImageDraw.Draw(img).ellipse((-w // 2, h // 2, w * 3 // 2, h * 2), fill=(60, 120, 50))
    img = img.filter(ImageFilter.GaussianBlur(4))
    for octave in range(1, 8):  # noise at each scale, weaker at the finer ones
        side = 2**octave
        grain = Image.effect_noise((side, max(1, side * h // w)), 40 / octave).resize(size, Image.Resampling.BICUBIC)
        img = Image.blend(img, Image.merge("RGB", [grain] * 3), 0.08)
    return img


@pytest.mark.parametrize("period", [8, 16, 32])
def test_stripes_measure_their_period(tmp_path: Path, period: int) -> None:
    path = tmp_path / "stripes.png"
    _stripes((512, 384), period).save(path)
    peak, centroid = strokes.stroke_scale(path, side=512)
    expected = 100 * period / 512
    assert peak == pytest.approx(expected, rel=0.13)  # bins are 1/6 octave (12 %) wide
    assert centroid == pytest.approx(expected, rel=0.3)


def test_a_picture_four_times_larger_seen_at_the_same_side_measures_the_same(tmp_path: Path) -> None:
    small, large = tmp_path / "512.png", tmp_path / "2048.png"
    _stripes((512, 384), 16).save(small)
    _stripes((2048, 1536), 64).save(large)  # the same picture, four times the pixels
    a, b = strokes.stroke_scale(small), strokes.stroke_scale(large)
    assert b[0] == pytest.approx(a[0], rel=0.13) and b[1] == pytest.approx(a[1], rel=0.1)
    finer = tmp_path / "finer.png"
    _stripes((2048, 1536), 16).save(finer)  # the same strokes in px, on a larger picture: finer
    assert strokes.stroke_scale(finer)[1] < 0.5 * a[1]


def test_with_the_photo_only_what_the_painting_added_counts(tmp_path: Path) -> None:
    photo, result = tmp_path / "photo.png", tmp_path / "result.png"
    base = _photo((512, 384))
    base.save(photo)
    _stripes((512, 384), 24, base).save(result)
    peak, centroid = strokes.stroke_scale(result, photo=photo)
    assert peak == pytest.approx(100 * 24 / 512, rel=0.13)
    assert centroid == pytest.approx(100 * 24 / 512, rel=0.3)


def test_the_command_prints_one_line_per_picture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = [tmp_path / "a.png", tmp_path / "b.png"]
    for p, period in zip(paths, (8, 32), strict=True):
        _stripes((256, 192), period).save(p)
    assert strokes.main([str(p) for p in paths] + ["--side", "256"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and all(str(p) in line and "centroid" in line for p, line in zip(paths, lines, strict=True))
