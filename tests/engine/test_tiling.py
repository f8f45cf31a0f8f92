"""Print sizes: tiles agree with the whole image, the grid moves, memory decides, seamless wraps.

Real bundled weights at 64-200 px, float32 on the CPU (so agreement is to float tolerance).
"""

from __future__ import annotations

import dataclasses
import threading

import pytest
import torch
from PIL import Image

from nst_desktop.engine.device import host_memory
from nst_desktop.engine.image.images import pil_to_tensor
from nst_desktop.engine.image.inputs import Paintings
from nst_desktop.engine.image.masks import prepare_masks
from nst_desktop.engine.net import losses, recurring
from nst_desktop.engine.net.objective import LossTerms, Objective
from nst_desktop.engine.net.precision import Precision
from nst_desktop.engine.net.targets import style_targets
from nst_desktop.engine.net.vgg import VGGFeatures
from nst_desktop.engine.net.weights import VGGWeights
from nst_desktop.engine.params import Progress, StyleInputs, StyleParams
from nst_desktop.engine.plan import memory, sizing
from nst_desktop.engine.stylize import stylize
from nst_desktop.engine.tiling import grid as tiling
from nst_desktop.engine.tiling.objective import TiledObjective, Tiles, tiled_targets
from nst_desktop.engine.tiling.seams import rolled_half, seam_excess
from tests.helpers import make_content, make_one_off_painting, make_style

CPU = torch.device("cpu")
MARGIN = sizing.MARGIN


def _iterate(hw: tuple[int, int] = (104, 152)) -> tuple[torch.Tensor, torch.Tensor]:
    c_t = pil_to_tensor(make_content((hw[1], hw[0])))
    gen = torch.Generator().manual_seed(0)
    x = (c_t + 0.1 * torch.randn(c_t.shape, generator=gen)).requires_grad_(True)
    return c_t, x


def _close(a: torch.Tensor, b: torch.Tensor, rel: float = 2e-5) -> bool:
    return float((a - b).abs().max()) <= rel * float(b.abs().max())


# --- the margin and the grid --------------------------------------------------------------------------------


def test_the_margin_holds_the_deepest_layers_receptive_field() -> None:
    # relu5_1: 2 + 2x2 + 4x4 + 4x8 + 1x16 = 70 px beyond its cell, rounded up to 16.
    assert tiling.context_margin(["relu5_1"]) == 80
    assert tiling.context_margin(["relu4_2"]) == 48
    assert MARGIN == 80


@pytest.mark.parametrize("wrap", [False, True])
@pytest.mark.parametrize("hw", [(96, 128), (100, 130), (256, 64)])
def test_every_pixel_is_owned_by_exactly_one_tile_at_any_offset(hw: tuple[int, int], wrap: bool) -> None:
    if wrap and (hw[0] % 16 or hw[1] % 16):
        pytest.skip("wrapped images are multiples of 16 px")
    for offset in [(0, 0), (16, 32), (48, 48), (32, 0)]:
        owned = torch.zeros(hw, dtype=torch.int32)
        for t in tiling.tile_grid(hw, 64, MARGIN, offset, wrap):
            rows = torch.arange(t.rows.start, t.rows.stop) % hw[0]
            cols = torch.arange(t.cols.start, t.cols.stop) % hw[1]
            owned[rows[:, None], cols[None, :]] += 1
            assert t.rows.crop_start % 16 == 0 and t.cols.crop_start % 16 == 0
        assert bool((owned == 1).all()), offset


def test_the_random_grid_offset_covers_every_position() -> None:
    gen = torch.Generator().manual_seed(3)
    seen = {tiling.random_offset(128, gen) for _ in range(400)}
    assert {r for r, _ in seen} == set(range(0, 128, 16))
    assert {c for _, c in seen} == set(range(0, 128, 16))
    assert len(seen) == 64  # every (row, column) offset, not only each axis's


def test_take_and_add_into_wrap_around() -> None:
    img = torch.arange(2 * 64 * 96, dtype=torch.float32).view(1, 2, 64, 96)
    (tile, *_rest) = tiling.tile_grid((64, 96), 16, 16, (0, 0), wrap=True)
    crop = tiling.take(img, tile)
    assert crop.shape[-2:] == (48, 48)
    assert torch.equal(crop[..., 0, 0], img[..., -16, -16])  # the margin comes from the opposite edges
    total = torch.zeros_like(img)
    tiling.add_into(total, tile, torch.ones_like(crop))
    assert float(total.sum()) == 2 * 48 * 48  # every value landed somewhere, wrapped ones included
    assert float(total[0, 0, -1, -1]) == 1.0 and float(total[0, 0, 0, 0]) == 1.0
    assert float(total[0, 0, 40, 40]) == 0.0


# --- exactness ----------------------------------------------------------------------------------------------


@pytest.mark.slow  # the network on a 152 x 104 px image, whole and in tiles
@pytest.mark.parametrize(("size", "gram_size"), [(48, 0), (64, 0), (48, 96), (48, 160)])
def test_tiles_give_the_whole_images_loss_and_gradient(net: VGGFeatures, fp32: Precision, size: int,
                                                        gram_size: int) -> None:
    """Also with the Gram pass and the targets in larger tiles than the gradient's, up to the whole image."""
    c_t, x = _iterate()
    style = make_style((120, 100))
    terms = LossTerms(net, fp32, 10.0, 1.0)
    whole = Objective(terms, style_targets(net, fp32, c_t, Paintings([style], [1.0]), 152))
    total, c, s, g = (t.detach() for t in whole.value_and_grad(x))
    tiles = Tiles(size, MARGIN, gram_size=gram_size)
    n, n_gram = len(tiles.grid((104, 152))), len(tiles.gram_grid((104, 152)))
    assert n_gram == {0: n, 96: 2, 160: 1}[gram_size]
    targets = tiled_targets(net, fp32, c_t, Paintings([style], [1.0]), 152, tiles)
    tiled = TiledObjective(terms, targets, tiles, torch.Generator().manual_seed(1))
    assert len(tiles.grid((104, 152))) >= 4
    total2, c2, s2, g2 = tiled.value_and_grad(x)
    assert float(total2) == pytest.approx(float(total), rel=1e-5)
    assert float(c2) == pytest.approx(float(c), rel=1e-5) and float(s2) == pytest.approx(float(s), rel=1e-5)
    assert _close(g2, g)


@pytest.mark.slow  # the network on a 152 x 104 px image, whole and in tiles
def test_tiles_agree_with_regions_and_a_keep_mask(net: VGGFeatures, fp32: Precision) -> None:
    c_t, x = _iterate()
    styles = [make_style((120, 100)), make_style((90, 90)).rotate(90)]
    left = Image.new("L", (152, 104), 0)
    left.paste(255, (0, 0, 90, 104))
    right = Image.new("L", (152, 104), 0)
    right.paste(255, (70, 0, 152, 104))
    keep = Image.new("L", (152, 104), 0)
    keep.paste(255, (0, 80, 50, 104))
    masks = prepare_masks((104, 152), 2, [left, right], keep)
    assert masks is not None
    m = masks.at((104, 152), CPU)
    keep_pair = (m.keep, c_t)
    terms = LossTerms(net, fp32, 10.0, 0.0, keep_pair)
    whole = Objective(terms, style_targets(net, fp32, c_t, Paintings(styles, [1.0, 2.0]), 152, m))
    total, _c, _s, g = (t.detach() for t in whole.value_and_grad(x))
    tiles = Tiles(64, MARGIN)
    targets = tiled_targets(net, fp32, c_t, Paintings(styles, [1.0, 2.0]), 152, tiles, m)
    tiled = TiledObjective(terms, targets, tiles, torch.Generator().manual_seed(2))
    total2, _c2, _s2, g2 = tiled.value_and_grad(x)
    assert float(total2) == pytest.approx(float(total), rel=1e-5)
    assert _close(g2, g)
    assert float(g2[..., 84:, :45].abs().max()) == 0.0  # kept pixels get no gradient


@pytest.mark.slow  # the network on 128 px paintings, whole and in tiles
@pytest.mark.parametrize("gram_size", [0, 96])
def test_tiles_give_the_paintings_weighted_gram_matrices(net: VGGFeatures, fp32: Precision, gram_size: int) -> None:
    """The deep layers' targets weighted by where each painting recurs (see recurring), tile by tile: the
    same as whole, for one painting with a one-off object and for a blend."""
    c_t = pil_to_tensor(make_content((96, 64)))
    one, other = make_one_off_painting((128, 112)), make_style((100, 120))
    tiles = Tiles(48, MARGIN, gram_size=gram_size)
    assert len(tiles.gram_grid((112, 128))) >= 2
    wholes = []
    for paintings in (Paintings([one], [1.0], leave_out_objects=True),
                      Paintings([one, other], [1.0, 2.0], leave_out_objects=True)):
        wholes.append(style_targets(net, fp32, c_t, paintings, 128))
        tiled = tiled_targets(net, fp32, c_t, paintings, 128, tiles)
        (region,) = tiled.regions
        for name in losses.STYLE_LAYERS:
            assert _close(region.grams[name], wholes[-1].grams[name]), name
    with torch.no_grad():
        feats = fp32.features(net, pil_to_tensor(one))
    for name in recurring.LAYERS:  # the deep targets are weighted, not the plain Gram matrices
        assert not _close(wholes[0].grams[name], losses.gram(feats[name]), rel=1e-2)


@pytest.mark.slow  # the network on a 128 x 96 px image, whole and in tiles
def test_wrapped_tiles_agree_with_one_wrapped_tile(net: VGGFeatures, fp32: Precision) -> None:
    c_t, x = _iterate((96, 128))
    style = make_style((120, 100))

    def run(size: int) -> tuple[torch.Tensor, torch.Tensor]:
        tiles = Tiles(size, MARGIN, wrap=True)
        targets = tiled_targets(net, fp32, c_t, Paintings([style], [1.0]), 128, tiles)
        total, _c, _s, g = TiledObjective(LossTerms(net, fp32, 10.0, 1.0), targets, tiles,
                                          torch.Generator().manual_seed(0)).value_and_grad(x)
        return total, g

    one_total, one_g = run(128)
    assert len(Tiles(128, MARGIN, True).grid((96, 128))) == 1
    many_total, many_g = run(64)
    assert float(many_total) == pytest.approx(float(one_total), rel=1e-5)
    assert _close(many_g, one_g)
    # And it is not the unwrapped loss: the edges see each other.
    whole = Objective(LossTerms(net, fp32, 10.0, 1.0), style_targets(net, fp32, c_t, Paintings([style], [1.0]), 128))
    assert not _close(whole.value_and_grad(x)[3], one_g, rel=1e-2)


# --- planning ------------------------------------------------------------------------------------------------


def test_a_size_that_does_not_fit_is_tiled_and_one_that_cannot_is_refused() -> None:
    hw = (3072, 4096)
    untiled = memory.estimate_peak_bytes(*hw, "lbfgs", False, "cpu", True)
    plan = memory.plan_size(hw, untiled // 3, "lbfgs", True, 9, MARGIN)
    assert plan is not None and plan.tiled and plan.peak_bytes <= untiled // 3
    assert plan.history <= 9  # a fresh L-BFGS stores at most one pair per step
    assert memory.plan_size(hw, untiled + 1, "lbfgs", True, 9, MARGIN).tile == 0
    assert memory.plan_size(hw, 200 * 2**20, "lbfgs", True, 9, MARGIN) is None
    lean = memory.plan_size((6144, 8192), 9 * 2**30, "lbfgs", True, 9, MARGIN)
    assert lean is not None and lean.optimizer == "adam"  # no L-BFGS history fits beside the image


def test_refused_before_the_run_with_the_largest_size_that_fits(bundled_weights: VGGWeights) -> None:
    params = StyleParams(device="cpu", seed=0, preview_every=0, size=2048, steps=4, memory_limit_mb=300,
                         precision="fp32", start_size=256)
    reports: list[Progress] = []
    with pytest.raises(sizing.TooLarge) as err:
        stylize(StyleInputs(make_content((96, 64)), make_style()), params, bundled_weights, on_progress=reports.append)
    assert err.value.fits is not None and 64 <= err.value.fits < 2048
    assert "300 MB" in str(err.value)
    assert not [r for r in reports if r.phase == "optimise"]
    # The size it names does fit.
    ok = sizing.plan_run(dataclasses.replace(params, size=err.value.fits),
                         (64, 96), "cpu", False, 300_000_000)
    assert ok.stages[-1].long_side == err.value.fits


# --- whole runs ---------------------------------------------------------------------------------------------


def _run(weights: VGGWeights, **kw: object):
    base: dict[str, object] = {"device": "cpu", "seed": 0, "preview_every": 0, "size": 192, "steps": 24,
                               "start_size": 96, "precision": "fp32"}
    base.update(kw)
    return stylize(StyleInputs(make_content((192, 128)), make_style()), StyleParams(**base), weights)  # type: ignore[arg-type]


@pytest.mark.slow  # runs at 128 px
def test_a_forced_tile_runs_like_the_whole_image(bundled_weights: VGGWeights) -> None:
    # One size and fewer steps than the L-BFGS history: the tiled size's optimiser is the whole
    # image's, so only float rounding differs.
    whole = _run(bundled_weights, size=128, steps=5, coarse_to_fine=False)
    tiled = _run(bundled_weights, size=128, steps=5, coarse_to_fine=False, tile=64)
    assert tiled.metadata["tiles_used"] == [64]
    assert "tiles_used" not in whole.metadata
    assert tiled.style_loss == pytest.approx(whole.style_loss, rel=1e-3)
    assert tiled.content_loss == pytest.approx(whole.content_loss, rel=1e-3)
    diff = (pil_to_tensor(tiled.image) - pil_to_tensor(whole.image)).abs()
    assert float(diff.mean()) < 1 / 255


@pytest.mark.slow  # runs at 128 px
def test_a_run_short_of_memory_gives_the_heap_back_after_each_tiled_step(
    bundled_weights: VGGWeights, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tiles forced with memory to spare keep the freed memory (trimmed once, when the run ends);
    a run whose limit leaves no room for that trims the heap after every step instead."""
    trims: list[int] = []
    monkeypatch.setattr(host_memory, "release_free_memory", lambda: trims.append(1))
    roomy = _run(bundled_weights, size=128, steps=4, coarse_to_fine=False, tile=64)
    assert roomy.metadata["tiles_used"] == [64] and len(trims) <= 1
    params = StyleParams(size=128, steps=4, coarse_to_fine=False, tile=64, precision="fp32")
    peak = sizing.plan_run(params, (128, 192), "cpu", False, 1 << 40).plans[-1].peak_bytes
    limit_mb = int(peak * 1.2 / 1e6) + 1  # fits the plan, not the plan's growth when memory is kept
    trims.clear()
    short = _run(bundled_weights, size=128, steps=4, coarse_to_fine=False, tile=64, memory_limit_mb=limit_mb)
    assert short.metadata["tiles_used"] == [64] and short.steps_done == 4
    assert len(trims) == short.steps_done


def test_tiles_with_memory_to_spare_keep_the_whole_sizes_history() -> None:
    """Pairs carried from the last size fill a history longer than the size's own steps: where
    it fits with the same tiles, a tiled size keeps the whole size's; where not, its own steps'."""
    hw = (768, 1024)
    roomy = memory.plan_size(hw, 40 * 2**30, "lbfgs", True, 8, MARGIN, tile=384)
    assert roomy is not None and (roomy.tile, roomy.history) == (384, memory.LBFGS_HISTORY)
    own = memory.tiled_peak_bytes(hw, 384, MARGIN, "lbfgs", True, 8)
    assert own < memory.tiled_peak_bytes(hw, 384, MARGIN, "lbfgs", True, memory.LBFGS_HISTORY)
    tight = memory.plan_size(hw, own, "lbfgs", True, 8, MARGIN, tile=384)
    assert tight is not None and (tight.tile, tight.history) == (384, 8)


def test_the_passes_without_gradient_take_the_largest_tiles_that_fit() -> None:
    hw = (2048, 2048)
    forced = memory.plan_size(hw, 40 * 2**30, "lbfgs", False, 8, MARGIN, tile=512)
    assert forced is not None and forced.tile == 512 and forced.gram_tile == 2048  # one piece: no margins
    for budget in (4 * 2**30, 3 * 2**30):
        plan = memory.plan_size(hw, budget, "lbfgs", False, 8, MARGIN)
        assert plan is not None and plan.tiled and plan.tile < plan.gram_tile < 2048
        assert plan.peak_bytes <= budget
        assert memory.tiled_peak_bytes(hw, plan.gram_tile + 16, MARGIN, plan.optimizer, False, plan.history,
                                       forward_only=True) > budget
        assert sizing.step_cost(hw, plan) < sizing.step_cost(hw, dataclasses.replace(plan, gram_tile=0))


def test_a_memory_limit_tiles_the_sizes_that_do_not_fit_it() -> None:
    params = StyleParams(device="cpu", size=2048, steps=72, start_size=256)
    whole_1024 = memory.estimate_peak_bytes(768, 1024, "lbfgs", False, "cpu", True)
    plan = sizing.plan_run(params, (3000, 4000), "cpu", True, whole_1024 + 1)
    assert [st.long_side for st in plan.stages] == [256, 512, 1024, 2048]
    assert [p.tiled for p in plan.plans] == [False, False, False, True]
    assert plan.plans[-1].peak_bytes <= whole_1024
    costs = plan.costs()
    assert costs[:3] == [1.0, 1.0, 1.0] and 1.2 < costs[3] < 3.0  # margins and the Gram pass


@pytest.mark.slow  # a run at 192 px
def test_cancel_between_the_tiles_of_a_step(bundled_weights: VGGWeights) -> None:
    cancel = threading.Event()
    reports: list[Progress] = []

    def on_progress(p: Progress) -> None:
        reports.append(p)
        if p.tiles and p.tile == 3:
            cancel.set()

    params = StyleParams(device="cpu", seed=0, preview_every=0, size=192, steps=10, tile=64,
                         coarse_to_fine=False, precision="fp32")
    result = stylize(StyleInputs(make_content((192, 128)), make_style()), params, bundled_weights,
                     on_progress=on_progress, cancel=cancel)
    assert result.cancelled and result.steps_done == 0
    assert result.image.size == (192, 128)
    tile_reports = [r for r in reports if r.tiles]
    # A step is one Gram pass (the whole 192x128 image fits one tile without gradient) and at least 3x2
    # gradient tiles of 64 px: the cancel came in the middle of the step.
    assert tile_reports[-1].tile == 3 and tile_reports[-1].tiles >= 1 + 6


@pytest.mark.slow  # a run at 126 px
def test_seamless_result_repeats_without_a_seam(bundled_weights: VGGWeights) -> None:
    seamless = _run(bundled_weights, seamless=True, steps=12, size=126, coarse_to_fine=False)
    assert seamless.image.size == (128, 80)  # sides to multiples of 16
    assert seam_excess(rolled_half(seamless.image), seamless.image) <= 1.1
    # The measure does see the edge of an image that was not made to repeat.
    photo = make_content((128, 80))
    assert seam_excess(rolled_half(photo), photo) > 1.2


@pytest.mark.slow  # the network on a 152 x 104 px image in tiles
def test_lagged_gram_matrices_give_the_exact_loss_and_a_one_step_old_style_gradient(
    net: VGGFeatures, fp32: Precision
) -> None:
    c_t, x = _iterate()
    style = make_style((120, 100))
    tiles = Tiles(64, MARGIN)
    targets = tiled_targets(net, fp32, c_t, Paintings([style], [1.0]), 152, tiles)
    terms = LossTerms(net, fp32, 10.0, 0.0)
    exact = TiledObjective(terms, targets, tiles, torch.Generator().manual_seed(1))
    lagged = TiledObjective(terms, targets, tiles, torch.Generator().manual_seed(1), lagged=True)
    passes: list[int] = []
    lagged.on_tile = lambda done, total: passes.append(total)
    first = lagged.value_and_grad(x)  # the first call of a size: a Gram pass, exact
    assert _close(first[3], exact.value_and_grad(x)[3])
    replay = torch.Generator().manual_seed(1)  # the grids the lagged objective drew
    n1, n2 = (len(tiles.grid((104, 152), tiling.random_offset(64, replay))) for _ in range(2))
    assert passes == [2 * n1] * (2 * n1)  # two passes
    x2 = (x.detach() + 0.05).requires_grad_(True)
    passes.clear()
    total, _c, _s, g = lagged.value_and_grad(x2)
    assert passes == [n2] * n2  # one pass
    e_total, _ec, _es, e_g = exact.value_and_grad(x2)
    assert float(total) == pytest.approx(float(e_total), rel=1e-5)  # the loss is this image's
    assert not _close(g, e_g)  # the style gradient is the last image's
    again = lagged.value_and_grad(x2)  # same image again: its D is now this image's
    assert _close(again[3], e_g)
