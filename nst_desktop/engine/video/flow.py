"""Optical flow between video frames, warping by it, and where it can be trusted.

Conventions: frames are ``(H, W, 3)`` uint8 RGB NumPy arrays (or float32 in [0, 1]); a flow
is ``(H, W, 2)`` float32 in px, channel 0 horizontal (x, right) and 1 vertical (y, down).
The flow *from a to b* ``f`` pairs pixel ``p`` of ``a`` with ``p + f(p)`` of ``b``:
``a(p) ≈ b(p + f(p))``. So ``warp(b, f)`` (``b`` sampled at ``p + f(p)``) is ``b`` moved onto
``a``: to carry stylised frame t-1 onto frame t, warp it by the flow from t to t-1.

The flow is OpenCV's DIS (Kroeger et al. 2016, no learned weights) on the grey frames. The
reliability mask follows Ruder, Dosovitskiy & Brox, "Artistic style transfer for videos"
(GCPR 2016), section 3.1, with their thresholds.
"""

from __future__ import annotations

import numpy as np

from nst_desktop.engine.video.deps import import_cv2

#: Disocclusion (Ruder et al.): a pixel of frame t is occluded in t-1 where the backward flow
#: ``wb`` (t -> t-1) and the forward flow (t-1 -> t) taken at ``p + wb(p)`` (``wf~``) do not cancel:
#: ``|wf~ + wb|² > DISOCCLUSION_RELATIVE (|wf~|² + |wb|²) + DISOCCLUSION_ABSOLUTE`` (px²).
DISOCCLUSION_RELATIVE = 0.01
DISOCCLUSION_ABSOLUTE = 0.5
#: Motion boundaries: ``|∇u|² + |∇v|² > BOUNDARY_RELATIVE |wb|² + BOUNDARY_ABSOLUTE`` (of the
#: backward flow ``wb = (u, v)``; gradients in px per px).
BOUNDARY_RELATIVE = 0.01
BOUNDARY_ABSOLUTE = 0.002


def grey(frame: np.ndarray) -> np.ndarray:
    """An RGB frame as an ``(H, W)`` uint8 grey image (ITU-R 601 luma)."""
    cv2 = import_cv2()
    if frame.dtype != np.uint8:
        frame = np.clip(np.rint(frame * 255.0), 0, 255).astype(np.uint8)
    return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)


def dis_flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The flow from frame ``a`` to frame ``b`` (same size; see the module docstring), by DIS
    (OpenCV's "medium" preset)."""
    cv2 = import_cv2()
    if a.shape[:2] != b.shape[:2]:
        raise ValueError(f"frames of different sizes: {a.shape[:2]} and {b.shape[:2]}")
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(grey(a), grey(b), None).astype(np.float32)


def _maps(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h, w = flow.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return xs + flow[..., 0], ys + flow[..., 1]


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``image`` sampled at ``p + flow(p)`` (bicubic for uint8 images, which keeps painted strokes sharper
    over many frames than bilinear; bilinear for float arrays such as flows; outside the frame the
    nearest edge pixel).

    ``image``: ``(H, W)`` or ``(H, W, C)``, uint8 or float32; the result has its shape and dtype.
    """
    cv2 = import_cv2()
    map_x, map_y = _maps(flow)
    interpolation = cv2.INTER_CUBIC if image.dtype == np.uint8 else cv2.INTER_LINEAR
    return cv2.remap(image, map_x, map_y, interpolation=interpolation, borderMode=cv2.BORDER_REPLICATE)


def inside(flow: np.ndarray) -> np.ndarray:
    """``(H, W)`` bool: where ``p + flow(p)`` falls inside the frame (elsewhere nothing to warp from)."""
    h, w = flow.shape[:2]
    map_x, map_y = _maps(flow)
    return (map_x >= 0) & (map_x <= w - 1) & (map_y >= 0) & (map_y <= h - 1)


def disocclusions(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """``(H, W)`` bool over frame t: pixels not seen in frame t-1 (forward-backward check).

    ``forward``: the flow from t-1 to t; ``backward``: from t to t-1.
    """
    fwd_at = warp(forward, backward)  # the forward flow where each pixel of t came from
    s = fwd_at + backward
    lhs = (s**2).sum(-1)
    rhs = DISOCCLUSION_RELATIVE * ((fwd_at**2).sum(-1) + (backward**2).sum(-1)) + DISOCCLUSION_ABSOLUTE
    return lhs > rhs


def motion_boundaries(backward: np.ndarray) -> np.ndarray:
    """``(H, W)`` bool over frame t: where the backward flow changes sharply (central differences)."""
    du_y, du_x = np.gradient(backward[..., 0])
    dv_y, dv_x = np.gradient(backward[..., 1])
    lhs = du_x**2 + du_y**2 + dv_x**2 + dv_y**2
    rhs = BOUNDARY_RELATIVE * (backward**2).sum(-1) + BOUNDARY_ABSOLUTE
    return lhs > rhs


def reliable(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """``(H, W)`` float32 mask over frame t: 1 where frame t-1 warped by ``backward`` can be
    trusted, 0 at disocclusions, motion boundaries and pixels that come from outside the frame."""
    bad = disocclusions(forward, backward) | motion_boundaries(backward) | ~inside(backward)
    return (~bad).astype(np.float32)


def warping_error(current: np.ndarray, previous: np.ndarray, backward: np.ndarray, mask: np.ndarray) -> float:
    """Mean absolute difference, in [0, 1] units over the RGB channels of the pixels where
    ``mask`` > 0.5, between ``current`` (frame t) and ``previous`` (frame t-1) warped onto it by
    ``backward`` (the flow from t to t-1): the flicker measure. NaN if no pixel is reliable."""
    cur = current.astype(np.float32) / (255.0 if current.dtype == np.uint8 else 1.0)
    prev = previous.astype(np.float32) / (255.0 if previous.dtype == np.uint8 else 1.0)
    diff = np.abs(cur - warp(prev, backward)).mean(-1)
    keep = mask > 0.5
    return float(diff[keep].mean()) if keep.any() else float("nan")
