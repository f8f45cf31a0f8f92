"""Content, style and total-variation losses: Gram matrices, zero at the targets, and the
normalisation that keeps the content/style balance independent of pixel count and scale."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from nst_desktop.engine.image.images import pil_to_tensor
from nst_desktop.engine.net import losses
from nst_desktop.engine.net.vgg import VGGFeatures
from nst_desktop.engine.net.weights import VGGWeights
from tests.helpers import make_content, make_style

TAPS = [losses.CONTENT_LAYER, *losses.STYLE_LAYERS]


@pytest.fixture(scope="module")
def net(bundled_weights: VGGWeights) -> VGGFeatures:
    return VGGFeatures(bundled_weights, TAPS)


def _feats(seed: int, hw: tuple[int, int] = (6, 5), scale: float = 1.0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {name: torch.rand(1, 4 + i, *hw, generator=g) * scale for i, name in enumerate(TAPS)}


# --- Gram matrix ------------------------------------------------------------------------------------


def test_gram_known_values() -> None:
    f = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 1, 2)  # 2 channels, 2 positions
    g = losses.gram(f)
    assert g.shape == (1, 2, 2)
    expected = torch.tensor([[1 + 4, 3 + 8], [3 + 8, 9 + 16]]) / 2.0
    assert torch.allclose(g[0], expected)


def test_gram_is_symmetric_and_batched() -> None:
    f = torch.rand(3, 5, 4, 7)
    g = losses.gram(f)
    assert g.shape == (3, 5, 5)
    assert torch.allclose(g, g.transpose(1, 2))
    assert torch.allclose(g[1], losses.gram(f[1:2])[0])


def test_gram_is_a_mean_over_positions() -> None:
    """Tiling a feature map (more pixels, same statistics) leaves the Gram matrix unchanged."""
    f = torch.rand(1, 8, 5, 6)
    assert torch.allclose(losses.gram(f.repeat(1, 1, 3, 2)), losses.gram(f), atol=1e-6)


def test_gram_is_float32_for_half_input() -> None:
    f = torch.rand(1, 4, 3, 3).to(torch.bfloat16)
    assert losses.gram(f).dtype == torch.float32


def _gram_grad(f: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    f = f.detach().requires_grad_(True)
    (losses.gram(f) * weight).sum().backward()
    return f.grad


@pytest.mark.parametrize("channels_last", [False, True])
def test_gram_gradient_is_the_gradient_of_f_ft(channels_last: bool) -> None:
    g = torch.Generator().manual_seed(0)
    f = torch.rand(2, 5, 4, 6, generator=g)
    if channels_last:
        f = f.contiguous(memory_format=torch.channels_last)
    weight = torch.rand(2, 5, 5, generator=g)  # not symmetric: the backward must symmetrise
    reference = f.detach().clone().requires_grad_(True)
    flat = reference.reshape(2, 5, 24)
    (torch.bmm(flat, flat.transpose(1, 2)) / 24 * weight).sum().backward()
    grad = _gram_grad(f, weight)
    assert grad.dtype == torch.float32 and grad.shape == f.shape
    assert torch.allclose(grad, reference.grad, atol=1e-6)


def test_gram_gradient_of_bfloat16_features_is_bfloat16_and_close_to_float32() -> None:
    """The Gram matrix itself stays float32; its gradient comes back in the features' dtype,
    within bfloat16 rounding of the float32 gradient of the same (bfloat16) values."""
    g = torch.Generator().manual_seed(1)
    f = torch.rand(1, 16, 8, 8, generator=g).to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    weight = torch.randn(1, 16, 16, generator=g)
    grad = _gram_grad(f, weight)
    exact = _gram_grad(f.float(), weight)
    assert grad.dtype == torch.bfloat16
    assert losses.gram(f).dtype == torch.float32
    assert torch.equal(losses.gram(f), losses.gram(f.float()))  # bfloat16 values are exact in float32
    rel = (grad.float() - exact).abs().max() / exact.abs().max()
    assert rel < 2e-2


def test_cpu_gram_of_bfloat16_in_blocks_equals_the_whole_product(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above CPU_GRAM_BLOCK positions a bfloat16 Gram matrix is summed block by block in float32;
    it equals the one float32 product up to float32 rounding, batch items kept apart."""
    g = torch.Generator().manual_seed(2)
    f = torch.rand(2, 8, 30, 31, generator=g).to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    whole = losses.gram(f.float())
    monkeypatch.setattr(losses, "CPU_GRAM_BLOCK", 100)  # 930 positions: 10 blocks, the last one short
    blocks = losses.gram(f)
    assert blocks.dtype == torch.float32 and blocks.shape == (2, 8, 8)
    assert torch.allclose(blocks, whole, rtol=1e-5, atol=0)
    assert not torch.allclose(blocks[0], blocks[1])
    grad = _gram_grad(f, torch.ones(2, 8, 8))
    assert grad.dtype == torch.bfloat16 and grad.shape == f.shape


def test_cpu_gram_of_bfloat16_is_float32_accurate_and_restores_the_matmul_setting() -> None:
    """bfloat16 activations are multiplied at bfloat16 speed (oneDNN's bfloat16 fpmath mode for
    float32 products): the result must still be the float32 Gram matrix (against float64, to
    float32 accuracy), and the process-wide setting must be what it was before."""
    g = torch.Generator().manual_seed(7)
    for shape in ((1, 64, 40, 30), (1, 256, 150, 120)):  # one block; several blocks of CPU_GRAM_BLOCK
        f = torch.randn(*shape, generator=g).to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
        n, c, h, w = shape
        flat = f.double().reshape(n, c, h * w)
        exact = torch.bmm(flat, flat.transpose(1, 2)) / (h * w)
        got = losses.gram(f)
        assert got.dtype == torch.float32
        assert (got.double() - exact).abs().max() / exact.abs().max() < 1e-5
    matmul = getattr(torch.backends.mkldnn, "matmul", None)
    if matmul is not None and hasattr(matmul, "fp32_precision"):
        before = matmul.fp32_precision
        losses.gram(torch.rand(1, 8, 4, 4).to(torch.bfloat16))
        assert matmul.fp32_precision == before
        # float32 products outside Gram matrices keep full precision: values that are not
        # bfloat16-exact give the float32 result.
        a = torch.randn(64, 64, generator=g, dtype=torch.float64)
        assert ((a.float() @ a.float()).double() - a.float().double() @ a.float().double()).abs().max() < 1e-4


def _tapped_grads(
    f: torch.Tensor, weight: torch.Tensor, downstream: torch.Tensor | None, use_tap: bool
) -> torch.Tensor:
    """Gradient of ``sum(gram(f) * weight) + sum(f * downstream)`` (the second term: a use of ``f``
    by the layers above the tap), with the Gram matrix from a GramTap or from :func:`losses.gram`."""
    f = f.detach().clone().requires_grad_(True)
    x = f * 1.0  # the tap sees a non-leaf activation, as in the network
    if use_tap:
        tap = losses.GramTap(["relu1_1"])
        passed = tap("relu1_1", x)
        g = tap.grams["relu1_1"]
    else:
        passed, g = x, losses.gram(x)
    loss = (g * weight).sum()
    if downstream is not None:
        loss = loss + (passed.float() * downstream).sum()
    loss.backward()
    return f.grad


@pytest.mark.parametrize("with_downstream", [True, False])
def test_gram_tap_gives_the_gram_matrix_and_the_summed_gradient(with_downstream: bool) -> None:
    """The tap passes the activation on unchanged; its Gram matrix is gram(F); the gradient is the
    Gram matrix's plus that of the activation's other uses (or the Gram matrix's alone)."""
    g = torch.Generator().manual_seed(3)
    f = torch.rand(1, 6, 5, 7, generator=g).contiguous(memory_format=torch.channels_last)
    weight = torch.randn(1, 6, 6, generator=g)
    downstream = torch.randn(1, 6, 5, 7, generator=g) if with_downstream else None
    tap = losses.GramTap(["relu1_1"])
    assert torch.equal(tap("relu1_1", f), f)
    assert torch.equal(tap.grams["relu1_1"], losses.gram(f))
    assert tap("relu2_1", f) is f and "relu2_1" not in tap.grams
    fused = _tapped_grads(f, weight, downstream, use_tap=True)
    plain = _tapped_grads(f, weight, downstream, use_tap=False)
    assert torch.allclose(fused, plain, atol=1e-6)
    assert fused.abs().sum() > 0


def test_gram_tap_without_a_use_of_its_gram_passes_the_gradient_through() -> None:
    f = torch.rand(1, 4, 3, 3, requires_grad=True)
    tap = losses.GramTap(["relu1_1"])
    (tap("relu1_1", f * 2.0) * 3.0).sum().backward()
    assert torch.allclose(f.grad, torch.full_like(f, 6.0))


def test_gram_tap_of_bfloat16_features_is_close_to_float32() -> None:
    g = torch.Generator().manual_seed(4)
    f = torch.rand(1, 16, 8, 8, generator=g).to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    weight = torch.randn(1, 16, 16, generator=g)
    downstream = torch.randn(1, 16, 8, 8, generator=g)
    fused = _tapped_grads(f, weight, downstream, use_tap=True)
    exact = _tapped_grads(f.float(), weight, downstream, use_tap=False)
    assert fused.dtype == torch.bfloat16
    assert (fused.float() - exact).abs().max() / exact.abs().max() < 2e-2


@pytest.mark.slow
def test_network_with_a_gram_tap_gives_the_same_loss_and_gradient(net: VGGFeatures) -> None:
    """The objective's path (Gram matrices from a GramTap in the network's forward) against
    Gram matrices computed from the returned activations."""
    content = pil_to_tensor(make_content((48, 40)))
    style = pil_to_tensor(make_style((40, 40)))
    t = losses.make_targets(net(content), net(style))
    results = []
    for use_tap in (True, False):
        x = torch.rand(1, 3, 40, 48, generator=torch.Generator().manual_seed(5)).requires_grad_(True)
        tap = losses.GramTap(losses.STYLE_LAYERS) if use_tap else None
        feats = net(x, tap)
        loss = losses.content_loss(feats, t) + losses.style_loss(feats, t, grams=tap.grams if tap else None)
        loss.backward()
        results.append((loss.detach(), x.grad))
    (l_tap, g_tap), (l_plain, g_plain) = results
    assert torch.allclose(l_tap, l_plain, rtol=1e-5)
    assert torch.allclose(g_tap, g_plain, rtol=1e-4, atol=1e-7)


def test_content_loss_gradient_keeps_the_features_layout_and_dtype() -> None:
    """The content loss's gradient comes back channels-last like the network's own gradients (a
    contiguous one made autograd's sum at relu4_2 a strided pass), and equals 2 (F - T) / (n E)."""
    g = torch.Generator().manual_seed(6)
    target = torch.rand(1, 8, 4, 5, generator=g).contiguous(memory_format=torch.channels_last)
    t = losses.make_targets({losses.CONTENT_LAYER: target, **{k: target for k in losses.STYLE_LAYERS}},
                            {k: target for k in losses.STYLE_LAYERS})
    for dtype in (torch.float32, torch.bfloat16):
        f = torch.rand(1, 8, 4, 5, generator=g).to(dtype).contiguous(memory_format=torch.channels_last)
        f.requires_grad_(True)
        loss = losses.content_loss({losses.CONTENT_LAYER: f}, t)
        loss.backward()
        expected = 2 * (f.detach().float() - target) / (f.numel() * t.content_energy)
        assert f.grad.dtype == dtype
        assert f.grad.is_contiguous(memory_format=torch.channels_last)
        assert torch.allclose(f.grad.float(), expected, rtol=1e-2 if dtype == torch.bfloat16 else 1e-6)
        plain = (f.detach().float() - target).pow(2).mean() / t.content_energy
        assert float(loss.detach()) == pytest.approx(float(plain))


# --- losses at their targets ----------------------------------------------------------------------------


def test_losses_are_zero_at_the_targets() -> None:
    c, s = _feats(1), _feats(2)
    t = losses.make_targets(c, s)
    assert float(losses.content_loss(c, t)) == 0.0
    assert float(losses.style_loss(s, t)) == pytest.approx(0.0, abs=1e-10)
    assert float(losses.content_loss(s, t)) > 0
    assert float(losses.style_loss(c, t)) > 0


def test_targets_are_detached() -> None:
    c = {k: v.requires_grad_(True) for k, v in _feats(1).items()}
    t = losses.make_targets(c, c)
    assert not t.content.requires_grad
    assert all(not g.requires_grad for g in t.grams.values())


def test_losses_are_relative_to_the_targets_energy() -> None:
    """Scaling all activations (e.g. other weights, other preprocessing) does not change the losses."""
    c, s, x = _feats(1), _feats(2), _feats(3)
    t = losses.make_targets(c, s)
    k = 37.0
    tk = losses.make_targets({n: v * k for n, v in c.items()}, {n: v * k for n, v in s.items()})
    xk = {n: v * k for n, v in x.items()}
    assert float(losses.content_loss(xk, tk)) == pytest.approx(float(losses.content_loss(x, t)), rel=1e-4)
    assert float(losses.style_loss(xk, tk)) == pytest.approx(float(losses.style_loss(x, t)), rel=1e-4)


def test_losses_do_not_depend_on_pixel_count() -> None:
    """The same feature statistics over 4x the positions give the same losses."""
    c, s, x = _feats(1), _feats(2), _feats(3)
    t = losses.make_targets(c, s)
    t4 = losses.make_targets({n: v.repeat(1, 1, 2, 2) for n, v in c.items()}, s)
    x4 = {n: v.repeat(1, 1, 2, 2) for n, v in x.items()}
    assert float(losses.content_loss(x4, t4)) == pytest.approx(float(losses.content_loss(x, t)), rel=1e-5)
    assert float(losses.style_loss(x4, t4)) == pytest.approx(float(losses.style_loss(x, t)), rel=1e-5)


def test_style_target_of_another_size_and_aspect() -> None:
    """A style image of another shape than the output: only its statistics matter."""
    x = _feats(3, (6, 5))
    style = {n: v.repeat(1, 1, 3, 1) for n, v in x.items()}  # 18 x 5: same statistics as x
    t = losses.make_targets(x, style)
    assert float(losses.style_loss(x, t)) == pytest.approx(0.0, abs=1e-9)


def test_style_layer_weights_are_used_as_given() -> None:
    """Not normalised: a choice's total weight is part of it (see losses.LAYER_WEIGHTS)."""
    c, s, x = _feats(1), _feats(2), _feats(3)
    t = losses.make_targets(c, s)
    one = float(losses.style_loss(x, t, {"relu3_1": 1.0}))
    assert float(losses.style_loss(x, t, {"relu3_1": 5.0})) == pytest.approx(5 * one, rel=1e-6)
    a = float(losses.style_loss(x, t, {"relu1_1": 1.0}))
    both = float(losses.style_loss(x, t, {"relu1_1": 1.0, "relu3_1": 1.0}))
    assert both == pytest.approx(a + one, rel=1e-6)


def test_style_loss_has_a_gradient() -> None:
    c, s = _feats(1), _feats(2)
    x = {n: v.clone().requires_grad_(True) for n, v in _feats(3).items()}
    t = losses.make_targets(c, s)
    (losses.content_loss(x, t) + losses.style_loss(x, t)).backward()
    assert all(v.grad is not None and bool(torch.isfinite(v.grad).all()) for v in x.values())


# --- total variation -------------------------------------------------------------------------------------


def test_tv_loss() -> None:
    assert float(losses.tv_loss(torch.full((1, 3, 8, 8), 0.3))) == 0.0
    stripes = torch.zeros(1, 3, 4, 4)
    stripes[..., :, 1::2] = 1.0  # vertical stripes: every horizontal neighbour differs by 1
    assert float(losses.tv_loss(stripes)) == pytest.approx(1.0)
    assert float(losses.tv_loss(torch.rand(1, 3, 16, 16))) > 0.05


# --- with the real network --------------------------------------------------------------------------------


def _third_image(size: tuple[int, int]) -> Image.Image:
    """Neither the content nor the style: the scene mirrored under noise."""
    noise = Image.effect_noise(size, 40).convert("RGB")
    return Image.blend(make_content(size).transpose(Image.Transpose.FLIP_LEFT_RIGHT), noise, 0.3)


def _ratio(net: VGGFeatures, content: torch.Tensor, style: torch.Tensor, x: torch.Tensor) -> float:
    with torch.no_grad():
        t = losses.make_targets(net(content), net(style))
        f = net(x)
        return float(losses.content_loss(f, t)) / float(losses.style_loss(f, t))


@pytest.mark.slow
def test_content_style_balance_same_at_64_and_128_px(net: VGGFeatures) -> None:
    """content_loss / style_loss of one image pair at 64 px and at 128 px differ by less than 2x.

    The 128 px images are the 64 px ones tiled 2 x 2, so the picture statistics are the
    same and only the number of pixels changes (a plain resize also changes what the
    picture looks like to the network, e.g. thin strokes blur away). A loss summed
    instead of averaged over positions would move the ratio by 4x.
    """
    content = pil_to_tensor(make_content((64, 48)))
    style = pil_to_tensor(make_style((48, 48)))
    x = pil_to_tensor(_third_image((64, 48)))
    r64 = _ratio(net, content, style, x)
    r128 = _ratio(net, *(t.repeat(1, 1, 2, 2) for t in (content, style, x)))
    assert 0.5 < r64 / r128 < 2.0, (r64, r128)
    assert 0.8 < r64 / r128 < 1.25, (r64, r128)  # in fact the two agree closely


@pytest.mark.slow
def test_real_losses_are_finite_and_ordered(net: VGGFeatures) -> None:
    content = pil_to_tensor(make_content((96, 64)))
    style = pil_to_tensor(make_style((80, 80)))
    with torch.no_grad():
        t = losses.make_targets(net(content), net(style))
        fc, fs = net(content), net(style)
        fx = net(pil_to_tensor(_third_image((96, 64))))
    assert float(losses.content_loss(fc, t)) == 0.0
    assert float(losses.style_loss(fs, t)) < 1e-6
    for f in (fc, fx):
        assert torch.isfinite(losses.content_loss(f, t))
    for f in (fc, fs, fx):
        assert torch.isfinite(losses.style_loss(f, t))
    # Relative losses are dimensionless and of order one for unrelated pictures.
    assert 0.05 < float(losses.style_loss(fc, t)) < 100
    assert 0.05 < float(losses.content_loss(fx, t)) < 100


# --- layer weights ----------------------------------------------------------------------------------------


def test_each_layer_weights_choice_has_its_weights() -> None:
    from nst_desktop.engine.params import LAYER_WEIGHTS

    assert set(losses.LAYER_WEIGHTS) == set(LAYER_WEIGHTS)
    for weights in losses.LAYER_WEIGHTS.values():
        assert list(weights) == list(losses.STYLE_LAYERS)  # the same layers, in the network's order
    assert sum(losses.LAYER_WEIGHTS["even"].values()) == pytest.approx(1.0)
    fine = list(losses.LAYER_WEIGHTS["fine"].values())
    assert sum(fine) == pytest.approx(2.0)
    assert all(a == pytest.approx(2 * b) for a, b in zip(fine, fine[1:]))  # each layer half the one above


def test_the_style_term_is_the_weighted_sum_of_the_layers_errors() -> None:
    """"even" is the mean of the layers' relative errors (the loss before the choice); "fine" their
    sum with its weights."""
    c, s, x = _feats(1), _feats(2), _feats(3)
    t = losses.make_targets(c, s)
    errors = {n: float((losses.gram(x[n]) - t.grams[n]).pow(2).mean() / t.gram_energies[n])
              for n in losses.STYLE_LAYERS}
    even = float(losses.style_loss(x, t, losses.LAYER_WEIGHTS["even"]))
    fine = float(losses.style_loss(x, t, losses.LAYER_WEIGHTS["fine"]))
    assert even == pytest.approx(sum(errors.values()) / 5, rel=1e-5)
    assert fine == pytest.approx(sum(losses.LAYER_WEIGHTS["fine"][n] * e for n, e in errors.items()), rel=1e-5)
    assert float(losses.style_loss(x, t)) == even  # the default of the function: the network's layers, even
