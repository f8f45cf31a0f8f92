"""The README's result-beside-painting picture: made from the project's own generated images."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from nst_desktop.ui import result_picture
from nst_desktop.ui.screenshot import demo_content, demo_style


def test_side_by_side_scales_each_picture_to_the_height_in_order() -> None:
    red, blue = Image.new("RGB", (40, 20), "red"), Image.new("RGB", (10, 10), "blue")
    out = result_picture.side_by_side([("a", red), ("b", blue)], 30)
    gap, top = result_picture.GAP, result_picture.LABEL_HEIGHT
    assert out.size == (60 + 30 + 3 * gap, 30 + top + gap)
    assert out.getpixel((gap + 30, top + 15)) == (255, 0, 0)
    assert out.getpixel((2 * gap + 60 + 15, top + 15)) == (0, 0, 255)


def test_main_paints_the_generated_pair_and_writes_three_pictures(tmp_path: Path) -> None:
    out = tmp_path / "docs" / "beside.png"
    assert result_picture.main([str(out), "--size", "48", "--seed", "1"]) == 0
    picture = Image.open(out)
    photo, painting = demo_content(), demo_style()
    height = picture.height - result_picture.LABEL_HEIGHT - result_picture.GAP
    assert photo.width > photo.height and height == round(48 * photo.height / photo.width)
    result_width = 48  # the photo is landscape: the result's long side is its width
    expected = sum(round(im.width * height / im.height) for im in (photo, painting)) + result_width
    assert abs(picture.width - 4 * result_picture.GAP - expected) <= 2
    # the result is a painting, not a copy of the photo: it differs from the photo scaled alike
    strip = picture.crop((picture.width - result_picture.GAP - result_width, result_picture.LABEL_HEIGHT,
                          picture.width - result_picture.GAP, result_picture.LABEL_HEIGHT + height))
    scaled = photo.resize(strip.size)
    diff = sum(abs(a - b) for p, q in zip(strip.getdata(), scaled.getdata(), strict=True) for a, b in zip(p, q))
    assert diff / (strip.width * strip.height * 3) > 2
