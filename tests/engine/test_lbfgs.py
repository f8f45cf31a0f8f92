"""The on-device L-BFGS (engine/optim/device_lbfgs.py) and continuing a run with its optimiser state."""

from __future__ import annotations

import math

import pytest
import torch

from nst_desktop.engine.optim.device_lbfgs import DeviceLBFGS
from nst_desktop.engine.params import RunOptions, StyleInputs, StyleParams
from nst_desktop.engine.resume import Resume
from nst_desktop.engine.stylize import evaluate, stylize
from tests.helpers import make_content, make_style


def _problem(n: int = 40, seed: int = 0):
    """A smooth, non-quadratic test function of an image-shaped tensor."""
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(n, n, generator=gen)
    a = q @ q.T / n + 0.1 * torch.eye(n)
    b = torch.randn(n, generator=gen)

    def f(x: torch.Tensor) -> torch.Tensor:
        v = x.reshape(-1)
        return 0.5 * v @ a @ v - b @ v + 0.05 * v.pow(4).sum()

    return f


def _run_device(f, x0: torch.Tensor, steps: int, history: int) -> DeviceLBFGS:
    opt = DeviceLBFGS(x0, history)
    for _ in range(steps):
        loss = f(opt.x)
        (g,) = torch.autograd.grad(loss, opt.x)
        opt.update(loss, g)
    return opt


@pytest.mark.parametrize("history", [3, 5])
def test_iterates_match_torch_lbfgs_without_line_search(history: int) -> None:
    # The compact representation must give the two-loop recursion's directions,
    # also after the ring of pairs wraps around (30 steps > history).
    f = _problem()
    x0 = torch.randn(1, 1, 5, 8, generator=torch.Generator().manual_seed(1))
    ours = _run_device(f, x0, 30, history)
    xt = x0.clone().requires_grad_(True)
    ref = torch.optim.LBFGS([xt], lr=1, max_iter=1, history_size=history, tolerance_grad=0, tolerance_change=0)

    def closure() -> torch.Tensor:
        ref.zero_grad()
        loss = f(xt)
        loss.backward()
        return loss

    for _ in range(30):
        ref.step(closure)
    assert torch.allclose(ours.x.detach(), xt.detach(), atol=1e-4)
    assert float(ours.pairs) >= history  # the ring did wrap


def test_converges_on_a_quadratic_and_tracks_the_best() -> None:
    f = _problem(seed=3)
    x0 = torch.zeros(1, 1, 5, 8)
    opt = _run_device(f, x0, 60, 5)
    with torch.no_grad():
        final = float(f(opt.best_x))
        start = float(f(x0))
    assert final < start
    assert float(opt.best_loss) == pytest.approx(final, rel=1e-5)
    def grad_norm(at: torch.Tensor) -> float:
        x = at.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(f(x), x)
        return float(g.norm())

    assert grad_norm(opt.best_x) < 1e-3 * grad_norm(x0)  # a stationary point, to float32 precision


def test_nan_goes_back_to_the_best_iterate_and_clears_the_history() -> None:
    f = _problem(seed=4)
    opt = DeviceLBFGS(torch.zeros(1, 1, 5, 8), 4)
    for _ in range(8):
        loss = f(opt.x)
        (g,) = torch.autograd.grad(loss, opt.x)
        assert float(opt.update(loss, g)) == 1.0
    best_before = opt.best_x.clone()
    assert float(opt.pairs) > 0
    ok = opt.update(torch.tensor(float("nan")), torch.full_like(opt.x, float("nan")))
    assert float(ok) == 0.0
    assert float(opt.restarts) == 1.0
    assert float(opt.pairs) == 0.0 and torch.all(opt.stamp == -1)
    assert torch.equal(opt.x.detach(), best_before)
    assert torch.isfinite(opt.z).all()
    # It goes on from there and keeps improving.
    for _ in range(10):
        loss = f(opt.x)
        (g,) = torch.autograd.grad(loss, opt.x)
        opt.update(loss, g)
    assert float(opt.best_loss) < float(f(best_before))


@pytest.mark.parametrize("bad", ["nan", "inf", "both-infs"])
def test_one_non_finite_gradient_element_with_a_finite_loss_is_a_reset(bad: str) -> None:
    f = _problem(seed=5)
    opt = DeviceLBFGS(torch.zeros(1, 1, 5, 8), 4)
    for _ in range(6):
        loss = f(opt.x)
        (g,) = torch.autograd.grad(loss, opt.x)
        opt.update(loss, g)
    best_before = opt.best_x.clone()
    loss = f(opt.x)
    (g,) = torch.autograd.grad(loss, opt.x)
    g = g.clone()
    if bad == "nan":
        g[0, 0, 2, 3] = float("nan")
    else:
        g[0, 0, 1, 1] = float("inf")
        if bad == "both-infs":
            g[0, 0, 4, 7] = float("-inf")
    assert torch.isfinite(loss)
    assert float(opt.update(loss.detach(), g)) == 0.0
    assert float(opt.pairs) == 0.0 and float(opt.restarts) == 1.0
    assert torch.equal(opt.x.detach(), best_before)


def test_huge_finite_gradients_are_not_taken_for_non_finite() -> None:
    """Values whose sum overflows float32 are still finite: no reset."""
    opt = DeviceLBFGS(torch.zeros(1, 1, 40, 50), 3)
    g = torch.full((1, 1, 40, 50), 1e36)
    assert not torch.isfinite(g.sum())
    assert float(opt.update(torch.tensor(1.0), g)) == 1.0
    assert float(opt.restarts) == 0.0


def test_pairs_without_positive_curvature_are_not_stored() -> None:
    # A concave direction: y.s < 0, so the pair must be skipped (history stays empty).
    opt = DeviceLBFGS(torch.ones(1, 1, 2, 2), 3)

    def f(x: torch.Tensor) -> torch.Tensor:
        return -(x**2).sum()

    for _ in range(3):
        loss = f(opt.x)
        (g,) = torch.autograd.grad(loss, opt.x)
        opt.update(loss, g)
    assert float(opt.pairs) == 0.0


def test_state_moves_between_devices_and_keeps_requires_grad() -> None:
    opt = _run_device(_problem(), torch.zeros(1, 1, 5, 8), 5, 3)
    moved = opt.to("cpu")
    assert moved.x.requires_grad and moved.x.is_leaf
    assert moved.shape == torch.Size([1, 1, 5, 8])


def test_moving_the_state_copies_it_also_on_the_same_device() -> None:
    f = _problem()
    opt = _run_device(f, torch.zeros(1, 1, 5, 8), 5, 3)
    before = {k: v.clone() for k, v in vars(opt).items() if isinstance(v, torch.Tensor)}
    moved = opt.to("cpu")
    assert moved is not opt and moved.m == opt.m
    for _ in range(3):  # steps of the copy leave the original as it was
        loss = f(moved.x)
        (g,) = torch.autograd.grad(loss, moved.x)
        moved.update(loss, g)
    assert not torch.equal(moved.x, before["x"])
    for name, value in before.items():
        assert torch.equal(getattr(opt, name), value), name


# ---------------------------------------------------------------- continuing a run


def _params(steps: int, **kw) -> StyleParams:
    base = dict(size=64, steps=steps, seed=5, coarse_to_fine=False, preview_every=0, precision="fp32")
    base.update(kw)
    return StyleParams(**base)


@pytest.mark.slow
def test_continue_with_state_is_the_uninterrupted_run(bundled_weights) -> None:
    content, style = make_content((64, 48)), make_style((64, 64))
    whole = stylize(StyleInputs(content, style), _params(16), bundled_weights, options=RunOptions(keep_state=True))
    first = stylize(StyleInputs(content, style), _params(8), bundled_weights, options=RunOptions(keep_state=True))
    assert first.state is not None and whole.state is not None
    second = stylize(StyleInputs(content, style), _params(8), bundled_weights,
                     options=RunOptions(resume=Resume(first.image, first.state), keep_state=True))
    # Same iterates as 16 steps in one go: the history went on, not a fresh L-BFGS.
    assert torch.allclose(second.state.x, whole.state.x, atol=1e-5)
    fresh = stylize(StyleInputs(content, style), _params(8), bundled_weights,
                    options=RunOptions(resume=Resume(first.image)))
    _, _, loss_first = evaluate(first.image, StyleInputs(content, style), _params(8), bundled_weights)
    _, _, loss_second = evaluate(second.image, StyleInputs(content, style), _params(8), bundled_weights)
    _, _, loss_fresh = evaluate(fresh.image, StyleInputs(content, style), _params(8), bundled_weights)
    assert loss_second < loss_first
    assert loss_second <= loss_fresh * 1.02  # keeping the curvature history is no worse than a fresh start


def _snapshot(state: DeviceLBFGS) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in vars(state).items() if isinstance(v, torch.Tensor)}


@pytest.mark.slow
def test_continuing_on_the_same_device_goes_on_with_the_state_itself(bundled_weights) -> None:
    """No copy of the history (as large as about 180 bytes per pixel) at the same size on the same device."""
    content, style = make_content((64, 48)), make_style((64, 64))
    first = stylize(StyleInputs(content, style), _params(4), bundled_weights, options=RunOptions(keep_state=True))
    x_before = first.state.x.detach().clone()
    second = stylize(StyleInputs(content, style), _params(4), bundled_weights,
                     options=RunOptions(resume=Resume(first.image, first.state), keep_state=True))
    assert second.state is first.state
    assert not torch.equal(second.state.x, x_before)


@pytest.mark.slow
def test_continuing_at_another_size_leaves_the_callers_state_as_it_was(bundled_weights) -> None:
    content, style = make_content((64, 48)), make_style((64, 64))
    first = stylize(StyleInputs(content, style), _params(4), bundled_weights, options=RunOptions(keep_state=True))
    saved = _snapshot(first.state)
    bigger = stylize(StyleInputs(content, style), _params(4, size=96), bundled_weights,
                     options=RunOptions(resume=Resume(first.image, first.state), keep_state=True))
    assert bigger.state is not first.state
    for name, value in saved.items():
        assert torch.equal(getattr(first.state, name), value), name


@pytest.mark.slow
def test_state_of_another_size_is_resampled(bundled_weights) -> None:
    content, style = make_content((64, 48)), make_style((64, 64))
    first = stylize(StyleInputs(content, style), _params(4), bundled_weights, options=RunOptions(keep_state=True))
    pairs = float(first.state.pairs)
    bigger = stylize(StyleInputs(content, style), _params(4, size=96), bundled_weights,
                     options=RunOptions(resume=Resume(first.image, first.state), keep_state=True))
    assert bigger.image.size == (96, 72)
    assert math.isfinite(bigger.content_loss)
    assert bigger.state.shape == torch.Size([1, 3, 72, 96])
    assert float(bigger.state.pairs) >= pairs  # the history came along (and grew)


def test_resized_history_keeps_the_curvature_products() -> None:
    opt = _run_device(_problem(n=3 * 8 * 10, seed=6), torch.zeros(1, 3, 8, 10), 6, 4)
    # Images are smooth at the scale of one resampling; give the history smooth vectors.
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 8), torch.linspace(0, 1, 10), indexing="ij")
    smooth_s = (1 + xx + 0.5 * yy).expand(3, 8, 10).reshape(-1)
    smooth_y = (2 - yy + 0.3 * xx).expand(3, 8, 10).reshape(-1)
    for i in range(4):
        opt.z[i].copy_(smooth_s * (i + 1))
        opt.z[4 + i].copy_(smooth_y / (i + 1))
    big = opt.resized(torch.zeros(1, 3, 16, 20))
    assert torch.equal(big.stamp, opt.stamp) and float(big.pairs) == float(opt.pairs)
    assert float(big.gamma) == pytest.approx(float(opt.gamma) * 4.0)  # 4x the pixels
    sy_small = (opt.z[:4] * opt.z[4:8]).sum(1)
    sy_big = (big.z[:4] * big.z[4:8]).sum(1)
    assert torch.allclose(sy_big, sy_small, rtol=0.05)  # s.y kept up to resampling
    assert big.x.shape == torch.Size([1, 3, 16, 20]) and float(big.have_prev) == 0.0


@pytest.mark.slow
def test_a_continue_says_whether_it_consumed_the_callers_state(bundled_weights, monkeypatch) -> None:
    """:attr:`Resume.consumed` carries the engine's rule, so that callers need not restate it: the
    state is consumed by an lbfgs continue at its own size on its own device (also when that run
    fails part-way), not at another size, not by another optimiser, and not without a state."""
    from nst_desktop.engine.net.objective import Objective

    content, style = make_content((64, 48)), make_style((64, 64))
    first = stylize(StyleInputs(content, style), _params(4), bundled_weights, options=RunOptions(keep_state=True))
    assert first.state is not None
    for resume, params in [
        (Resume(first.image, first.state), _params(2, size=96)),  # another size: resampled
        (Resume(first.image, first.state), _params(2, optimizer="adam")),
        (Resume(first.image), _params(2)),
    ]:
        assert not resume.consumed
        stylize(StyleInputs(content, style), params, bundled_weights, options=RunOptions(resume=resume))
        assert not resume.consumed, params
    same = Resume(first.image, first.state)
    stylize(StyleInputs(content, style), _params(2), bundled_weights, options=RunOptions(resume=same))
    assert same.consumed

    real_call = Objective.__call__
    calls: list[int] = []

    def failing(self, x):
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("simulated engine failure")
        return real_call(self, x)

    monkeypatch.setattr(Objective, "__call__", failing)
    failed = Resume(first.image, first.state)
    with pytest.raises(RuntimeError, match="simulated"):
        stylize(StyleInputs(content, style), _params(4), bundled_weights, options=RunOptions(resume=failed))
    assert failed.consumed  # the caller should drop this state: it may be part-way


def test_carried_to_a_shorter_history_keeps_the_newest_pairs() -> None:
    """A print size's shorter L-BFGS history starts with the last size's newest pairs."""
    import torch.nn.functional as F

    from nst_desktop.engine.optim.device_lbfgs import DeviceLBFGS

    gen = torch.Generator().manual_seed(0)
    target = torch.rand(1, 3, 8, 8, generator=gen)
    opt = DeviceLBFGS(torch.zeros(1, 3, 8, 8), history=4)
    for _ in range(7):  # a quadratic: every pair is valid; the ring wraps around
        x = opt.x.detach()
        opt.update(((x - target) ** 2).sum() * 0.5, (x - target) * torch.linspace(1, 2, 192).view(1, 3, 8, 8))
    assert int(opt.pairs) >= 5
    order = [i for _st, i in sorted((st, i) for i, st in enumerate(opt.stamp.tolist()) if st >= 0)]
    x1 = torch.rand(1, 3, 16, 16, generator=gen)
    short = opt.resized(x1, history=2)
    assert short.m == 2 and int(short.pairs) == 2 and short.stamp.tolist() == [0.0, 1.0]

    def up(row: torch.Tensor) -> torch.Tensor:
        return F.interpolate(row.view(1, 3, 8, 8), size=(16, 16), mode="bilinear", align_corners=False).reshape(-1)

    for k, i in enumerate(order[-2:]):
        assert torch.allclose(short.z[k], up(opt.z[i]))
        assert torch.allclose(short.z[2 + k], up(opt.z[4 + i]) / 4)
    assert float(short.gamma) == pytest.approx(float(opt.gamma) * 4)


def test_a_continue_keeps_the_state_of_runs_up_to_about_a_megapixel() -> None:
    from nst_desktop.engine.resume import KEEP_STATE_MAX_BYTES, can_keep_state, state_bytes

    assert state_bytes((768, 1024), 1024) <= KEEP_STATE_MAX_BYTES and can_keep_state((768, 1024), 1024)
    assert state_bytes((1536, 2048), 2048) > KEEP_STATE_MAX_BYTES and not can_keep_state((1536, 2048), 2048)
    assert state_bytes((480, 640), 512) < state_bytes((480, 640), 1024)  # grows with the output's pixels
