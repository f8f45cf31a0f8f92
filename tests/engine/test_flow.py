"""Optical flow, warping, Ruder et al.'s reliability mask and the temporal loss, on known motion."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nst_desktop.engine.video import flow as fl
from nst_desktop.engine.video.temporal import TemporalLoss
from tests.video_helpers import panning_frames, texture

pytest.importorskip("cv2")


def test_dis_flow_finds_a_known_shift_and_warping_undoes_it() -> None:
    prev, cur = panning_frames(2, (48, 64), step=(2, 1))  # the picture moves 2 px right, 1 px down
    backward, forward = fl.dis_flow(cur, prev), fl.dis_flow(prev, cur)
    inner = (slice(8, -8), slice(8, -8))
    assert np.median(backward[inner][..., 0]) == pytest.approx(-2, abs=0.2)
    assert np.median(backward[inner][..., 1]) == pytest.approx(-1, abs=0.2)
    assert np.median(forward[inner][..., 0]) == pytest.approx(2, abs=0.2)
    mask = fl.reliable(forward, backward)
    assert mask[:, :2].max() == 0 and mask[:1, :].max() == 0  # these come from outside frame t-1
    assert mask.mean() > 0.85
    assert fl.warping_error(cur, prev, backward, mask) < 0.01
    assert fl.warping_error(cur, prev, np.zeros_like(backward), mask) > 0.05  # without the flow


def test_a_square_moving_over_a_still_background_uncovers_unreliable_pixels() -> None:
    bg = texture(48, 64, seed=1)
    patch = texture(16, 16, seed=2)

    def frame(x: int) -> np.ndarray:
        f = bg.copy()
        f[16:32, x:x + 16] = patch
        return f

    prev, cur = frame(20), frame(24)
    backward, forward = fl.dis_flow(cur, prev), fl.dis_flow(prev, cur)
    mask = fl.reliable(forward, backward)
    assert mask[16:32, 20:24].mean() < 0.4  # uncovered behind the square: not in frame t-1
    assert mask[:, :12].mean() > 0.9 and mask[42:, :].mean() > 0.8  # still background far from it


def test_disocclusion_check_uses_the_papers_thresholds() -> None:
    h, w = 8, 8
    back = np.zeros((h, w, 2), np.float32)
    back[..., 0] = -1.0
    fwd = -back  # consistent: forward and backward cancel
    assert not fl.disocclusions(fwd, back).any()
    # |wf~ + wb|² = 0.8² = 0.64 > 0.01 (|wf~|² + |wb|²) + 0.5 = 0.01 (0.04 + 1) + 0.5 = 0.5104
    assert fl.disocclusions(np.full_like(back, 0.0) + [[0.2, 0.0]], back).all()
    # 0.7² = 0.49 < 0.01 (0.09 + 1) + 0.5: still consistent
    assert not fl.disocclusions(np.full_like(back, 0.0) + [[0.3, 0.0]], back).any()


def test_motion_boundary_check_uses_the_papers_thresholds() -> None:
    back = np.zeros((8, 8, 2), np.float32)
    assert not fl.motion_boundaries(back).any()
    back[:, 4:, 0] = 0.2  # central differences at the step: 0.1 px/px; 0.01 > 0.01 * 0.04 + 0.002
    edge = fl.motion_boundaries(back)
    assert edge[:, 3:5].all() and not edge[:, :3].any() and not edge[:, 5:].any()
    back[:, 4:, 0] = 0.08  # 0.04² = 0.0016 < 0.002: a gentle change is no boundary
    assert not fl.motion_boundaries(back).any()


def test_warping_error_is_nan_without_reliable_pixels() -> None:
    a = np.zeros((4, 4, 3), np.uint8)
    assert np.isnan(fl.warping_error(a, a, np.zeros((4, 4, 2), np.float32), np.zeros((4, 4), np.float32)))


def test_temporal_loss_is_the_masked_mean_squared_difference() -> None:
    warped = torch.rand(1, 3, 6, 8)
    mask = torch.zeros(1, 1, 6, 8)
    mask[..., :4] = 1
    loss = TemporalLoss(warped, mask, weight=100.0)
    term = loss.at((6, 8), torch.device("cpu"))
    assert term is not None
    x = torch.rand(1, 3, 6, 8)
    expected = 100.0 * float(((x - warped) ** 2)[..., :4].sum() / (3 * 6 * 8))
    assert float(term(x)) == pytest.approx(expected, rel=1e-5)
    y = x.clone()
    y[..., 4:] = 5.0  # unreliable pixels cost nothing
    assert float(term(y)) == pytest.approx(expected, rel=1e-5)
    small = loss.at((3, 4), torch.device("cpu"))
    assert small is not None and float(small(torch.zeros(1, 3, 3, 4))) > 0
    assert TemporalLoss(warped, mask, weight=0.0).at((6, 8), torch.device("cpu")) is None
    with pytest.raises(ValueError, match="differ in size"):
        TemporalLoss(warped, mask[..., :4], 1.0)
