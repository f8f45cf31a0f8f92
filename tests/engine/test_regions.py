"""Spatial control (Gatys et al. 2017, guided Gram matrices) with the real bundled weights at 64 px:
keep-the-photo regions stay the photo, each style lands in its own region, and the CLI's
--mask / --keep-mask options (with one-line errors for bad mask files)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image, ImageChops, ImageDraw, ImageStat

from nst_desktop import cli
from nst_desktop.engine.image.images import read_metadata
from nst_desktop.engine.image.masks import prepare_masks
from nst_desktop.engine.net import losses
from nst_desktop.engine.net.weights import VGGWeights
from nst_desktop.engine.params import StyleInputs
from nst_desktop.engine.provenance import masks_from_metadata
from nst_desktop.engine.stylize import stylize
from tests.helpers import make_content, small_engine_params

_params = small_engine_params


def stripes(c1: tuple[int, int, int], c2: tuple[int, int, int], size: int = 64) -> Image.Image:
    img = Image.new("RGB", (size, size), c1)
    d = ImageDraw.Draw(img)
    for i in range(-size, size, 8):
        d.line((i, 0, i + size, size), fill=c2, width=3)
    return img


def box_mask(size: tuple[int, int], box: tuple[int, int, int, int]) -> Image.Image:
    m = Image.new("L", size, 0)
    ImageDraw.Draw(m).rectangle(box, fill=255)
    return m


RED = stripes((200, 30, 20), (250, 120, 40))
BLUE = stripes((20, 60, 200), (40, 200, 220))
PHOTO = make_content((64, 64))


def _mean(img: Image.Image, box: tuple[int, int, int, int]) -> list[float]:
    return ImageStat.Stat(img.crop(box)).mean


def test_guided_gram_of_a_full_mask_is_the_gram_and_of_a_half_the_gram_of_that_half() -> None:
    f = torch.randn(1, 8, 6, 10)
    assert torch.allclose(losses.guided_gram(f, torch.ones(1, 1, 6, 10)), losses.gram(f), atol=1e-5)
    half = torch.zeros(1, 1, 6, 10)
    half[..., :5] = 1
    assert torch.allclose(losses.guided_gram(f, half), losses.gram(f[..., :5]), atol=1e-5)


def test_masks_are_resized_and_uncovered_or_kept_pixels_keep_the_photo() -> None:
    left = box_mask((20, 10), (0, 0, 9, 9))  # 20 x 10 px, resized to the content's 64 x 32
    keep = box_mask((64, 32), (0, 0, 63, 3))
    m = prepare_masks((32, 64), 2, [left, Image.new("L", (5, 5), 0)], keep)
    assert m is not None and m.styles is not None and m.styles.shape == (2, 1, 32, 64)
    assert float(m.styles[0, 0, 10, :28].min()) == 1.0 and float(m.styles[1].max()) == 0.0
    assert float(m.styles[0, 0, :4].max()) == 0.0  # the keep mask wins over a style mask
    assert float(m.keep[0, 0, 10, 40:].min()) == 1.0  # no style mask covers the right half
    with pytest.raises(ValueError, match="one mask per style"):
        prepare_masks((32, 64), 2, [left], None)


@pytest.mark.slow
def test_keep_region_stays_the_photo(bundled_weights: VGGWeights) -> None:
    content = make_content((96, 64))  # output 64 x 43: the mask is resampled
    keep = box_mask(content.size, (0, 0, 95, 24))
    res = stylize(StyleInputs(content, RED, keep_mask=keep), _params(), bundled_weights)
    photo = content.resize(res.image.size, Image.Resampling.LANCZOS)
    diff = ImageChops.difference(res.image, photo)
    h = res.image.height
    kept = max(_mean(diff, (0, 0, 64, round(h * 25 / 64) - 1)))
    painted = max(_mean(diff, (0, round(h * 25 / 64) + 1, 64, h)))
    assert kept < 3.0, kept  # mean abs diff in 0-255 levels
    assert painted > 15.0, painted  # the rest is painted
    regions = res.metadata["regions"]
    assert (regions["style_masks"], regions["keep_mask"]) == (0, True)
    assert masks_from_metadata(res.metadata)[1].size == keep.size  # the mask itself is stored (96 x 64 px)


@pytest.mark.slow
def test_each_style_lands_in_its_own_region(bundled_weights: VGGWeights) -> None:
    left, right = box_mask((64, 64), (0, 0, 31, 63)), box_mask((64, 64), (32, 0, 63, 63))
    res = stylize(StyleInputs(PHOTO, [RED, BLUE], masks=[left, right]), _params(), bundled_weights)
    red_minus_blue = [a - b for a, b in zip(_mean(RED, (0, 0, 64, 64)), _mean(BLUE, (0, 0, 64, 64)), strict=True)]

    def towards_red(box: tuple[int, int, int, int]) -> float:
        """How far the region's mean colour moved from the photo's along (red style - blue style)."""
        moved = [a - b for a, b in zip(_mean(res.image, box), _mean(PHOTO, box), strict=True)]
        norm = sum(d * d for d in red_minus_blue) ** 0.5
        return sum(m * d for m, d in zip(moved, red_minus_blue, strict=True)) / norm

    left_shift, right_shift = towards_red((0, 0, 30, 64)), towards_red((34, 0, 64, 64))
    assert left_shift > 20 and right_shift < -20, (left_shift, right_shift)
    # a style with an empty mask paints nowhere: the uncovered half keeps the photo
    res2 = stylize(StyleInputs(PHOTO, [RED, BLUE], masks=[left, Image.new("L", (8, 8))]), _params(steps=10),
                   bundled_weights)
    assert max(_mean(ImageChops.difference(res2.image, PHOTO), (32, 0, 64, 64))) < 3.0
    assert max(_mean(ImageChops.difference(res2.image, PHOTO), (0, 0, 30, 64))) > 15.0


@pytest.mark.slow
def test_cli_masks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c, s1, s2 = tmp_path / "photo.png", tmp_path / "red.png", tmp_path / "blue.png"
    PHOTO.save(c)
    RED.save(s1)
    BLUE.save(s2)
    m1, m2, keep = tmp_path / "left.png", tmp_path / "none.png", tmp_path / "keep.png"
    box_mask((32, 32), (0, 0, 15, 31)).save(m1)  # resized to the content
    Image.new("L", (64, 64), 0).save(m2)
    box_mask((64, 64), (0, 0, 63, 15)).convert("RGB").save(keep)
    out = tmp_path / "r.png"
    base = ["stylize", str(c), str(s1), str(s2), "-o", str(out), "--size", "64", "--steps", "3", "--quiet",
            "--no-coarse-to-fine"]
    assert cli.main([*base, "--mask", str(m1), "--mask", str(m2), "--keep-mask", str(keep)]) == 0
    meta = read_metadata(out)
    assert meta is not None and (meta["regions"]["style_masks"], meta["regions"]["keep_mask"]) == (2, True)
    stored, stored_keep = masks_from_metadata(meta)
    assert stored is not None and [m.size for m in stored] == [(32, 32), (64, 64)] and stored_keep is not None
    assert meta["inputs"]["masks"][0] == m1.name  # file names only by default
    with Image.open(out) as img:
        assert max(_mean(ImageChops.difference(img.convert("RGB"), PHOTO), (32, 16, 64, 64))) < 3.0
    capsys.readouterr()
    assert cli.main([*base, "--mask", str(m1)]) == 1
    err = capsys.readouterr().err
    assert "1 --mask files but 2 STYLE images" in err and err.count("\n") == 1
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    assert cli.main([*base, "--mask", str(m1), "--mask", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "--mask" in err and "notes.png" in err and err.count("\n") == 1
    assert cli.main([*base, "--keep-mask", str(tmp_path / "missing.png")]) == 1
    err = capsys.readouterr().err
    assert "--keep-mask" in err and "missing.png" in err and err.count("\n") == 1
