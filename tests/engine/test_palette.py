"""The start "palette": the photo recoloured to the painting's colour mean and covariance."""

from __future__ import annotations

import dataclasses
import importlib

import pytest
import torch
from PIL import Image

from nst_desktop.engine.image import color
from nst_desktop.engine.image.images import pil_to_tensor, tensor_to_pil
from nst_desktop.engine.image.masks import prepare_masks
from nst_desktop.engine.image.palette import Palette
from nst_desktop.engine.net.weights import VGGWeights
from nst_desktop.engine.params import StyleInputs, StyleParams
from nst_desktop.engine.stylize import evaluate, stylize
from tests.helpers import make_content, make_style, small_engine_params

stylize_mod = importlib.import_module("nst_desktop.engine.stylize")  # the module (the package exports the function)


def _stats_error(img: torch.Tensor, ref_mu: torch.Tensor, ref_cov: torch.Tensor) -> tuple[float, float]:
    mu, cov = color.color_stats(img)
    return float((mu - ref_mu).abs().max()), float((cov - ref_cov).norm() / ref_cov.norm())


def _soft(img: Image.Image) -> Image.Image:
    """Colours well inside the RGB cube, so that clamping does not move the statistics."""
    return Image.blend(img, Image.new("RGB", img.size, (128, 128, 128)), 0.5)


def _photo_like() -> torch.Tensor:
    """Colours spread in all three directions (a photo's covariance is of full rank), well inside the cube."""
    g = torch.Generator().manual_seed(0)
    img = 0.3 + 0.4 * torch.rand(1, 3, 64, 96, generator=g)
    img[:, 1] = 0.5 * img[:, 1] + 0.5 * img[:, 0]  # correlated channels, as in photos
    return img


def test_the_start_has_the_paintings_colour_mean_and_covariance() -> None:
    content, style = _photo_like(), pil_to_tensor(_soft(make_style()))
    out = color.in_palette(content, color.painting_colours([style], [1.0]))
    assert out.shape == content.shape and out.min() >= 0 and out.max() <= 1
    mu_err, cov_err = _stats_error(out, *color.color_stats(style))
    assert mu_err < 0.005 and cov_err < 0.05
    # ...and it is still the photo: the map is affine, so its pixels' order along a colour axis mostly stays.
    before, after = color.luma(content).flatten(), color.luma(out).flatten()
    assert torch.corrcoef(torch.stack([before, after]))[0, 1].abs() > 0.5


def test_the_transfer_map_moves_a_gaussian_onto_another() -> None:
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(3, 3, generator=gen, dtype=torch.float64)
    b = torch.randn(3, 3, generator=gen, dtype=torch.float64)
    cov_s, cov_t = a @ a.T + 0.1 * torch.eye(3, dtype=torch.float64), b @ b.T + 0.1 * torch.eye(3, dtype=torch.float64)
    mu_s, mu_t = torch.rand(3, generator=gen, dtype=torch.float64), torch.rand(3, generator=gen, dtype=torch.float64)
    m, t = color.transfer_map(mu_s, cov_s, mu_t, cov_t)
    assert torch.allclose(m @ mu_s + t, mu_t)
    assert torch.allclose(m @ cov_s @ m.T, cov_t, atol=1e-3)
    assert torch.allclose(m, m.T)  # the optimal-transport map between Gaussians is symmetric


def test_several_paintings_give_their_weighted_mixture_of_colours() -> None:
    red = torch.zeros(1, 3, 8, 8)
    red[:, 0] = torch.linspace(0.5, 1.0, 64).view(8, 8)
    blue = torch.zeros(1, 3, 8, 8)
    blue[:, 2] = torch.linspace(0.2, 0.9, 64).view(8, 8)
    mu, cov = color.mixture_stats([red, blue, red], [3.0, 1.0, 0.0])
    pooled = torch.cat([red.reshape(3, -1)] * 3 + [blue.reshape(3, -1)], dim=1).unsqueeze(-1).unsqueeze(0)
    ref_mu, ref_cov = color.color_stats(pooled)
    assert torch.allclose(mu, ref_mu) and torch.allclose(cov, ref_cov)


def test_with_regions_each_style_colours_its_region_and_kept_pixels_stay() -> None:
    content = _soft(make_content((64, 48)))
    warm, cold = Image.new("RGB", (32, 32), (220, 120, 40)), Image.new("RGB", (32, 32), (40, 90, 210))
    # Some texture, so the paintings' covariances are not zero.
    warm = Image.blend(warm, make_style((32, 32)), 0.2)
    cold = Image.blend(cold, make_style((32, 32)), 0.2)
    left, right, keep = (Image.new("L", (64, 48), 0) for _ in range(3))
    left.paste(255, (0, 0, 28, 48))
    right.paste(255, (36, 0, 64, 48))
    keep.paste(255, (28, 0, 36, 48))
    masks = prepare_masks((48, 64), 2, [left, right], keep)
    start = Palette.of([warm, cold], [1.0, 1.0], masks).recolour(pil_to_tensor(content))
    photo = pil_to_tensor(content)
    assert torch.allclose(start[..., 30:34], photo[..., 30:34], atol=1 / 255)
    for region, painting in ((start[..., :24], warm), (start[..., 40:], cold)):
        mu, _ = color.color_stats(region)
        ref, _ = color.color_stats(pil_to_tensor(painting))
        assert float((mu - ref).abs().max()) < 0.06


def _recording_recolour(monkeypatch) -> list[tuple[int, int]]:
    """The sizes of the images :meth:`Palette.recolour` is given from now on (it still recolours them)."""
    sizes: list[tuple[int, int]] = []
    real = Palette.recolour

    def recording(self, x):
        sizes.append(tuple(x.shape[-2:]))
        return real(self, x)

    monkeypatch.setattr(Palette, "recolour", recording)
    return sizes


@pytest.mark.slow
def test_the_default_start_is_palette_and_recorded(bundled_weights: VGGWeights, monkeypatch) -> None:
    assert StyleParams().init == "palette"
    sizes = _recording_recolour(monkeypatch)
    params = dataclasses.replace(small_engine_params(steps=4), init=StyleParams.init)
    res = stylize(StyleInputs(make_content(), make_style()), params, bundled_weights)
    assert sizes and res.metadata["params"]["init"] == "palette"
    # With the photo's colours kept, the start (and the content target) stays the photo.
    sizes.clear()
    for preserve in ("luminance", "match"):
        res = stylize(StyleInputs(make_content(), make_style()), dataclasses.replace(params, preserve_colors=preserve),
                      bundled_weights)
        assert sizes == [] and res.metadata["params"]["init"] == "palette"


@pytest.mark.slow
def test_the_content_target_is_the_photo_in_the_palette(bundled_weights: VGGWeights) -> None:
    """So the content loss keeps the photo's structure without pulling its colours back: the
    palette start itself has no content loss under the palette's objective, and the photo has."""
    content, style = make_content((64, 48)), make_style()
    params = small_engine_params(steps=4, size=64, init="palette")
    start = tensor_to_pil(Palette.of([style], [1.0], None).recolour(pil_to_tensor(content)))
    loss_of_start = evaluate(start, StyleInputs(content, style), params, bundled_weights)[0]
    loss_of_photo = evaluate(content, StyleInputs(content, style), params, bundled_weights)[0]
    assert loss_of_start < 0.01 * loss_of_photo  # not 0: the start was rounded to 8 bits
    # From the photo ("content"), the target is the photo.
    as_photo = dataclasses.replace(params, init="content")
    assert evaluate(content, StyleInputs(content, style), as_photo, bundled_weights)[0] < 1e-9


@pytest.mark.slow
def test_a_higher_style_strength_gives_a_lower_style_loss(bundled_weights: VGGWeights) -> None:
    losses = []
    for strength in (0.25, 1.0, 4.0):
        params = small_engine_params(steps=40, size=64, style_strength=strength, init="palette")
        losses.append(stylize(StyleInputs(make_content(), make_style()), params, bundled_weights).style_loss)
    assert losses[0] > losses[1] > losses[2]


def test_the_start_has_the_paintings_distribution_along_its_colour_axes() -> None:
    """Beyond mean and covariance: a painting of two colour groups (dark blue, bright yellow)
    gives a start whose quantiles along the painting's main colour axis are the painting's."""
    style = torch.zeros(1, 3, 32, 32)
    style[..., :24, :] = torch.tensor([0.1, 0.15, 0.4]).view(1, 3, 1, 1)
    style[..., 24:, :] = torch.tensor([0.95, 0.85, 0.2]).view(1, 3, 1, 1)
    style += 0.02 * torch.randn(style.shape, generator=torch.Generator().manual_seed(1))
    out = color.in_palette(_photo_like(), color.painting_colours([style], [1.0]))
    _, cov = color.color_stats(style)
    axis = torch.linalg.eigh(cov)[1][:, -1].float()
    q = torch.tensor([0.1, 0.5, 0.7, 0.9])
    along = lambda img: torch.quantile(axis @ img[0].reshape(3, -1), q)  # noqa: E731
    assert torch.allclose(along(out), along(style), atol=0.05)
    mk_only = color.apply_map(_photo_like(), *color.transfer_map(*color.color_stats(_photo_like()),
                                                                  *color.color_stats(style)))
    assert not torch.allclose(along(mk_only), along(style), atol=0.05)  # mean and covariance alone are not it


def test_equal_colours_stay_equal() -> None:
    """A clipped white sky or a flat background gets one colour, not a ramp in scan order."""
    photo = _photo_like()
    photo[..., :32, :] = 1.0
    out = color.in_palette(photo, color.painting_colours([pil_to_tensor(_soft(make_style()))], [1.0]))
    sky = out[..., :32, :].reshape(3, -1)
    assert float(sky.std(dim=1).max()) < 1e-6
    flat = color.in_palette(torch.full((1, 3, 16, 16), 0.4),
                            color.painting_colours([pil_to_tensor(make_style())], [1.0]))
    assert float(flat.reshape(3, -1).std(dim=1).max()) < 1e-6


@pytest.mark.slow  # a run at 96 px
def test_the_palette_is_applied_at_each_size_of_the_run(monkeypatch) -> None:
    """Per size: the content target, then the first iterate (the start at the first size; the
    upsampled result of the size before at the next), all at that size."""
    sizes = _recording_recolour(monkeypatch)
    stylize_mod.stylize(StyleInputs(make_content((96, 64)), make_style()), dataclasses.replace(
        small_engine_params(steps=8, size=96), init="palette", coarse_to_fine=True, start_size=48), None)
    assert sizes == [(32, 48), (32, 48), (64, 96), (64, 96)]
