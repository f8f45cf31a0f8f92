"""Where a painting repeats itself: its one-off objects weigh less in the deep Gram targets.

Real bundled weights, float32 on the CPU, generated paintings of 64-160 px.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from nst_desktop.engine.image.images import pil_to_tensor
from nst_desktop.engine.image.inputs import Paintings, to_device
from nst_desktop.engine.image.masks import prepare_masks
from nst_desktop.engine.net import losses, recurring
from nst_desktop.engine.net.precision import Precision
from nst_desktop.engine.net.targets import style_targets
from nst_desktop.engine.net.vgg import VGGFeatures
from nst_desktop.engine.net.weights import VGGWeights
from nst_desktop.engine.params import StyleInputs, StyleParams
from nst_desktop.engine.plan import sizing
from nst_desktop.engine.stylize import stylize
from nst_desktop.engine.tiling.objective import Tiles, tiled_targets
from tests.helpers import disc_box, make_content, make_one_off_painting, make_style

CPU = torch.device("cpu")


def _weights(net: VGGFeatures, fp32: Precision, img: Image.Image, **kw: int) -> torch.Tensor:
    return recurring.painting_weights(net, fp32, pil_to_tensor(img), **kw)


def test_a_one_off_object_weighs_less_than_the_texture_it_sits_on(net: VGGFeatures, fp32: Precision) -> None:
    img = make_one_off_painting((384, 384))  # relu5_1 (the source layer): 24 x 24 cells
    m = _weights(net, fp32, img)[0, 0]
    disc = Image.new("L", img.size, 0)
    ImageDraw.Draw(disc).ellipse(disc_box(img.size), fill=255)
    covered = F.interpolate(pil_to_tensor(disc.convert("RGB"))[:, :1], size=m.shape, mode="area")[0, 0]
    # relu5_1's cells see far: those within 3 cells of the disc or of the canvas's edge (the network's
    # zero padding) do not recur either; the texture is compared where it is alone.
    far = F.max_pool2d(covered[None, None], 7, 1, 3)[0, 0] == 0
    far[:3], far[-3:], far[:, :3], far[:, -3:] = False, False, False, False
    under, others = m[covered > 0.9], m[far]
    assert under.numel() >= 4 and others.numel() >= under.numel()
    assert float(others.min()) == 1.0  # the texture recurs everywhere
    # The disc's cells match only each other (a flat disc of 52 cells recurs a little within itself,
    # a face does not): a quarter and more left out, the rest counted in part.
    assert float((under == 0).float().mean()) >= 0.2 and float(under.mean()) < 0.7


def test_a_plain_repeated_texture_keeps_most_of_its_weight(net: VGGFeatures, fp32: Precision) -> None:
    for img in (make_one_off_painting((256, 256), disc=False), make_style((256, 256))):
        m = _weights(net, fp32, img)  # relu5_1: 16 x 16 cells, of which those near the edge recur less
        assert float((m == 1).float().mean()) > 0.5
        assert float((m[..., 3:-3, 3:-3] == 1).float().mean()) > 0.9
        assert float(m.min()) >= 0 and float(m.max()) <= 1


def test_the_weights_are_at_the_source_layers_grid_and_resize_to_each_layers(net: VGGFeatures,
                                                                             fp32: Precision) -> None:
    img = make_one_off_painting((120, 88))
    m = recurring.painting_weights(net, fp32, img, long_side=112)  # seen at 112 x 82 (enlarged)
    assert m.shape == (1, 1, 5, 7)
    with torch.no_grad():
        feats = fp32.features(net, pil_to_tensor(img))
    guides = recurring.at_layers(m, {n: tuple(f.shape[-2:]) for n, f in feats.items()})
    assert set(guides) == set(recurring.LAYERS)
    for name, g in guides.items():
        assert g.shape[-2:] == feats[name].shape[-2:]


def test_a_painting_is_seen_at_512_px_and_a_small_one_at_256(net: VGGFeatures, fp32: Precision) -> None:
    for size, grid in (((80, 64), (12, 16)), ((255, 200), (12, 16)), ((256, 200), (25, 32)), ((384, 288), (24, 32)),
                       ((1024, 768), (24, 32))):
        m = recurring.painting_weights(net, fp32, make_style(size))  # relu5_1: 1/16 of the side seen
        assert m.shape[-2:] == grid, size


def test_the_weights_do_not_depend_on_the_runs_size(net: VGGFeatures, fp32: Precision,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The painting is seen at one size whatever a run's size or stage: the targets of two sizes are
    guided by the same weights (their guides are one pattern resized); weights at another size differ."""
    img = make_one_off_painting((384, 288))
    c_t = pil_to_tensor(make_content((96, 64)))
    seen: list[torch.Tensor] = []
    real = recurring.painting_weights

    def spy(*args: object, **kw: object) -> torch.Tensor:
        seen.append(real(*args, **kw))  # type: ignore[arg-type]
        return seen[-1]

    monkeypatch.setattr(recurring, "painting_weights", spy)
    for side in (64, 160):
        style_targets(net, fp32, c_t, Paintings([img], [1.0], leave_out_objects=True), side)
    assert len(seen) == 2 and seen[0].shape == (1, 1, 24, 32) and torch.equal(seen[0], seen[1])  # at 512 px
    other = recurring.painting_weights(net, fp32, img, long_side=256)
    assert other.shape == (1, 1, 12, 16)


def test_the_targets_are_guided_at_the_deep_layers_only(net: VGGFeatures, fp32: Precision) -> None:
    """One painting: plain Gram matrices at the shallow layers, weighted ones at the deep; a blend is
    the weighted mean of each painting's own; a region's targets are its painting's."""
    c_t = pil_to_tensor(make_content((96, 64)))
    one, other = make_one_off_painting((96, 96)), make_style((80, 96))
    t = style_targets(net, fp32, c_t, Paintings([one], [1.0], leave_out_objects=True), 96)
    with torch.no_grad():
        feats = fp32.features(net, pil_to_tensor(one))
    m = recurring.painting_weights(net, fp32, one)
    for name in losses.STYLE_LAYERS:
        plain = losses.gram(feats[name])
        if name in recurring.LAYERS:
            guide = F.interpolate(m, size=feats[name].shape[-2:], mode="bilinear", align_corners=False)
            assert torch.allclose(t.grams[name], losses.guided_gram(feats[name], guide), rtol=1e-5, atol=1e-6)
            assert float((t.grams[name] - plain).abs().max()) > 0.05 * float(plain.abs().max())
        else:
            assert torch.equal(t.grams[name], plain)
    t2 = style_targets(net, fp32, c_t, Paintings([other], [1.0], leave_out_objects=True), 96)
    blend = style_targets(net, fp32, c_t, Paintings([one, other], [1.0, 2.0], leave_out_objects=True), 96)
    for name in losses.STYLE_LAYERS:
        assert torch.allclose(blend.grams[name], (t.grams[name] + 2 * t2.grams[name]) / 3, rtol=1e-5, atol=1e-6)
    left = Image.new("L", (64, 96), 0)
    left.paste(255, (0, 0, 64, 50))
    right = Image.new("L", (64, 96), 0)
    right.paste(255, (0, 40, 64, 96))
    masks = prepare_masks((96, 64), 2, [left, right], None)
    assert masks is not None
    both = Paintings([one, other], [1.0, 2.0], leave_out_objects=True)
    regions = style_targets(net, fp32, c_t, both, 96, masks.at((96, 64), CPU))
    assert regions.regions is not None and len(regions.regions) == 2
    for r, single in zip(regions.regions, (t, t2), strict=True):
        for name in losses.STYLE_LAYERS:
            assert torch.allclose(r.grams[name], single.grams[name], rtol=1e-5, atol=1e-6)


@pytest.mark.slow  # whole runs at 96 px
@pytest.mark.parametrize("kind", ["one", "blend", "regions", "tiles"])
def test_a_run_paints_with_guided_targets(bundled_weights: VGGWeights, kind: str) -> None:
    content = make_content((96, 72))
    one, other = make_one_off_painting((96, 96)), make_style((80, 96))
    paintings = [one] if kind in ("one", "tiles") else [one, other]
    masks = None
    if kind == "regions":
        top = Image.new("L", content.size, 0)
        top.paste(255, (0, 0, 96, 40))
        bottom = Image.new("L", content.size, 0)
        bottom.paste(255, (0, 32, 96, 72))
        masks = [top, bottom]
    params = StyleParams(device="cpu", seed=0, preview_every=0, size=96, steps=6, coarse_to_fine=False,
                         precision="fp32", tile=64 if kind == "tiles" else 0, leave_out_objects=True)
    res = stylize(StyleInputs(content, paintings, masks=masks), params, bundled_weights)
    assert res.image.size == (96, 72) and res.steps_done == 6 and not res.cancelled
    assert math.isfinite(res.style_loss) and math.isfinite(res.content_loss) and res.style_loss > 0
    assert (res.metadata.get("tiles_used") == [64]) == (kind == "tiles")
    changed = (pil_to_tensor(res.image) - pil_to_tensor(content)).abs().mean()
    assert float(changed) > 2 / 255


def test_without_the_option_the_targets_are_the_plain_gram_matrices(net: VGGFeatures, fp32: Precision) -> None:
    """``leave_out_objects`` off (``--no-leave-out-objects``; on is the default of a run's StyleParams):
    exactly the plain Gram targets, untiled and tiled, as :func:`losses.make_targets` builds them without
    guides; on, the deep layers differ."""
    c_t = pil_to_tensor(make_content((96, 64)))
    one, other = make_one_off_painting((96, 96)), make_style((80, 96))
    assert StyleParams().leave_out_objects and not Paintings([one], [1.0]).leave_out_objects
    with torch.no_grad():
        content_feats = fp32.features(net, c_t)
        feats = [fp32.features(net, to_device(img, 96, CPU)) for img in (one, other)]
    plain = losses.make_targets(content_feats, feats, style_weights=[1.0, 2.0])
    off = style_targets(net, fp32, c_t, Paintings([one, other], [1.0, 2.0]), 96)
    on = style_targets(net, fp32, c_t, Paintings([one, other], [1.0, 2.0], leave_out_objects=True), 96)
    tiles_off = tiled_targets(net, fp32, c_t, Paintings([one, other], [1.0, 2.0]), 96, Tiles(48, sizing.MARGIN))
    for name in losses.STYLE_LAYERS:
        assert torch.equal(off.grams[name], plain.grams[name]), name
        tiled = tiles_off.regions[0].grams[name]
        assert float((tiled - plain.grams[name]).abs().max()) <= 2e-5 * float(plain.grams[name].abs().max()), name
        assert torch.equal(on.grams[name], plain.grams[name]) == (name not in recurring.LAYERS), name


@pytest.mark.slow  # a whole run at 64 px
def test_a_run_finds_where_each_painting_recurs_once_for_all_its_sizes(bundled_weights: VGGWeights,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    real = recurring.painting_weights

    def counted(*args: object, **kw: object) -> torch.Tensor:
        calls.append(args[2])
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(recurring, "painting_weights", counted)
    one, other = make_one_off_painting((96, 96)), make_style((80, 96))
    params = StyleParams(device="cpu", seed=0, preview_every=0, size=64, steps=4, start_size=32, precision="fp32")
    assert params.leave_out_objects  # the default
    phases: list[str] = []
    res = stylize(StyleInputs(make_content((64, 48)), [one, other], style_weights=[1.0, 1.0]), params,
                  bundled_weights, on_progress=lambda p: phases.append(p.phase))
    assert res.steps_done == 4 and phases.count("targets") == 2  # two sizes (32 and 64 px)
    assert len(calls) == 2  # once per painting, not per size
    calls.clear()
    stylize(StyleInputs(make_content((64, 48)), [one, other], style_weights=[1.0, 0.0]), params, bundled_weights)
    assert [c.size for c in calls] == [(64, 64)]  # only the first (96 px, held at 64): weight 0 is no target


def _counting_passes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A fresh process memo, and a list that grows by one for each painting the network sees."""
    monkeypatch.setattr(recurring, "MEMO", recurring.Memo())
    passes: list[int] = []
    real = recurring.weights_from_features

    def counted(features: torch.Tensor) -> torch.Tensor:
        passes.append(1)
        return real(features)

    monkeypatch.setattr(recurring, "weights_from_features", counted)
    return passes


def test_a_painting_seen_again_is_not_passed_through_the_network_again(
        net: VGGFeatures, fp32: Precision, bundled_weights: VGGWeights, monkeypatch: pytest.MonkeyPatch) -> None:
    passes = _counting_passes(monkeypatch)
    img = make_one_off_painting((128, 96))
    first = recurring.painting_weights(net, fp32, img)
    again = recurring.painting_weights(net, fp32, img.copy())  # the same pixels, another image
    assert len(passes) == 1 and torch.equal(first, again)
    again[...] = 0  # a copy: what the memo holds is not changed by a caller
    assert torch.equal(recurring.painting_weights(net, fp32, img), first) and len(passes) == 1
    recurring.painting_weights(net, fp32, pil_to_tensor(img))  # as a tensor it is resized otherwise: another key
    assert len(passes) == 2
    # Whatever decides the weights is part of the key: a pixel, the size it is seen at, the network.
    changed = img.copy()
    changed.putpixel((5, 5), (255, 0, 0))
    recurring.painting_weights(net, fp32, changed)
    recurring.painting_weights(net, fp32, img, long_side=128)
    average = fp32.prepare(VGGFeatures(bundled_weights, [recurring.SOURCE_LAYER], pooling="average"))
    recurring.painting_weights(average, fp32, img)
    other_weights = VGGWeights({k: v * 1.01 for k, v in bundled_weights.state_dict.items()},
                               bundled_weights.preprocessing, bundled_weights.name)
    recurring.painting_weights(fp32.prepare(VGGFeatures(other_weights, [recurring.SOURCE_LAYER])), fp32, img)
    assert len(passes) == 6


def test_the_memo_keeps_the_last_few_paintings(net: VGGFeatures, fp32: Precision,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    passes = _counting_passes(monkeypatch)
    memo = recurring.Memo(size=2)
    a, b, c = (make_style(size) for size in ((64, 64), (64, 80), (80, 64)))
    for img in (a, b, a, c):  # a is used again before c comes: b is the one let go
        recurring.painting_weights(net, fp32, img, memo=memo)
    assert len(passes) == 3
    recurring.painting_weights(net, fp32, a, memo=memo)
    assert len(passes) == 3
    recurring.painting_weights(net, fp32, b, memo=memo)
    assert len(passes) == 4


@pytest.mark.slow  # two whole runs at 64 px
def test_a_second_run_with_the_same_painting_reuses_its_weights(bundled_weights: VGGWeights,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    passes = _counting_passes(monkeypatch)
    params = StyleParams(device="cpu", seed=0, preview_every=0, size=64, steps=3, precision="fp32")
    inputs = StyleInputs(make_content((64, 48)), [make_one_off_painting((96, 96))])
    first = stylize(inputs, params, bundled_weights)
    second = stylize(inputs, params, bundled_weights)
    assert len(passes) == 1
    assert first.image.tobytes() == second.image.tobytes()
    monkeypatch.setattr(recurring, "MEMO", recurring.Memo())  # as a new process would paint it
    assert stylize(inputs, params, bundled_weights).image.tobytes() == first.image.tobytes()
    assert len(passes) == 2
