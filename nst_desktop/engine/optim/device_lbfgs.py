"""L-BFGS that runs entirely on the device: no host synchronisation per step.

``torch.optim.LBFGS`` reads scalars back to the host many times per iteration (its
two-loop recursion scales vectors by 0-dim tensors; its line search branches on
loss values), which on a GPU costs more than the network itself at small sizes.
This optimiser keeps every decision on the device, so a whole step (loss, gradient
and update) is a fixed sequence of kernels that a CUDA graph can capture and replay.

Method (Byrd, Nocedal & Schnabel 1994, "Representations of quasi-Newton matrices
and their use in limited memory methods", eq. 3.1): the inverse Hessian
approximation of the last ``m`` curvature pairs ``(s_i, y_i)`` in compact form,

    H = γI + [S γY] [[R⁻ᵀ(D + γYᵀY)R⁻¹, -R⁻ᵀ], [-R⁻¹, 0]] [Sᵀ; γYᵀ]

with ``R`` the upper triangle of ``SᵀY`` and ``D`` its diagonal (pairs in
chronological order) and ``γ = sᵀy / yᵀy`` of the newest pair. It equals the usual
two-loop recursion, but needs only two matrix products over the image-sized vectors
(all inner products at once, then the direction) and ``m x m`` triangular solves.

Steps: the first step (and any step before a valid pair exists) is ``-g`` scaled by
``min(1, 1 / |g|_1)``, as in torch; afterwards the unit step ``x + d`` without line
search, as in jcjohnson/neural-style. A pair is stored only if ``sᵀy > 1e-10``
(curvature condition; otherwise the history is left as it is). If the loss or the
gradient is NaN/Inf, the iterate goes back to the best one seen and the history is
cleared (counted in :attr:`restarts`).

Vectors are float32 and flattened: ``x`` is the image ``(1, 3, H, W)`` in [0, 1]
pixel units (unconstrained during optimisation).
"""

from __future__ import annotations

import torch

#: Curvature pairs with ``sᵀy`` at or below this are not stored (as in torch.optim.LBFGS).
CURVATURE_EPS = 1e-10


class DeviceLBFGS:
    """State of one L-BFGS run on one image size; see the module docstring.

    ``x`` is the iterate (a leaf tensor that requires grad, shape of ``x0``). Call
    :meth:`update` with the loss and gradient at ``x`` after each evaluation; it
    moves ``x`` in place. All state is on ``x0``'s device; nothing is read back.
    """

    def __init__(self, x0: torch.Tensor, history: int) -> None:
        if history < 1:
            raise ValueError("history must be at least 1")
        dev = x0.device
        n = x0.numel()
        self.m = history
        self.x = x0.detach().clone().float().contiguous().requires_grad_(True)
        #: Rows ``[0, m)`` hold the s vectors, ``[m, 2m)`` the y vectors (ring slots), row ``2m`` the gradient.
        self.z = torch.zeros(2 * history + 1, n, device=dev)
        #: Chronological stamp of each slot (-1: empty); the ring slot written next.
        self.stamp = torch.full((history,), -1.0, device=dev)
        self.slot = torch.zeros((), dtype=torch.long, device=dev)
        self.pairs = torch.zeros((), device=dev)  # pairs stored so far (the next stamp)
        self.g_prev = torch.zeros(n, device=dev)
        self.s_prev = torch.zeros(n, device=dev)
        self.have_prev = torch.zeros((), device=dev)  # 1 once a step was taken from a finite point
        self.gamma = torch.ones((), device=dev)
        self.best_x = x0.detach().clone().float()
        self.best_loss = torch.full((), float("inf"), device=dev)
        self.restarts = torch.zeros((), device=dev)

    @staticmethod
    def state_bytes(numel: int, history: int) -> int:
        """Bytes of this state for an iterate of ``numel`` float32 values: the history and
        gradient rows, the iterate, best iterate, previous gradient and previous step."""
        return (2 * history + 5) * numel * 4

    # ------------------------------------------------------------------ state transfer
    def to(self, device: torch.device | str) -> DeviceLBFGS:
        """A copy of this state on ``device`` (e.g. on the CPU between runs, to free GPU memory).

        Always a copy, also on the same device (a plain ``Tensor.to`` would alias there): the
        copy's steps leave this state as it was.
        """
        new = object.__new__(DeviceLBFGS)
        for name, value in vars(self).items():
            if isinstance(value, torch.Tensor):
                value = value.detach().to(device, copy=True)
                if name == "x":
                    value.requires_grad_(True)
            setattr(new, name, value)
        return new

    def resized(self, x: torch.Tensor, history: int | None = None) -> DeviceLBFGS:
        """This state carried to the image ``x`` of another size (the next size of coarse to fine).

        The curvature pairs are resampled (bilinear) as images: with ``U`` the resampling
        and ``a`` the ratio of pixel counts, a step ``s`` becomes ``U s`` and a gradient
        change ``y`` becomes ``U y / a`` (losses are means over positions, so gradients
        per pixel shrink as pixels grow), which keeps ``sᵀy``; ``γ`` scales by ``a``. The
        history then shapes the first steps at the new size instead of starting over
        with a small gradient step. The best iterate and the last step are not carried.

        ``history``: the new state's number of pairs (default this one's); with fewer, the
        newest pairs are kept (a print size's L-BFGS is shorter, see memory.plan_size).
        """
        if history is not None and history < self.m:
            return self._newest(history).resized(x)
        new = DeviceLBFGS(x, self.m)
        h0, w0 = self.x.shape[-2:]
        h1, w1 = x.shape[-2:]
        channels = self.x.shape[-3]
        area = (h1 * w1) / (h0 * w0)
        m = self.m

        def resample(rows: torch.Tensor) -> torch.Tensor:
            k = rows.shape[0]
            img = rows.view(k, channels, h0, w0)
            return torch.nn.functional.interpolate(img, size=(h1, w1), mode="bilinear",
                                                   align_corners=False).reshape(k, -1)

        with torch.no_grad():
            new.z[:m].copy_(resample(self.z[:m]))
            new.z[m : 2 * m].copy_(resample(self.z[m : 2 * m]) / area)
            new.stamp.copy_(self.stamp)
            new.slot.copy_(self.slot)
            new.pairs.copy_(self.pairs)
            new.gamma.copy_(self.gamma * area)
        return new

    def _newest(self, history: int) -> DeviceLBFGS:
        """A copy of this state (same size) keeping only its ``history`` newest pairs."""
        new = DeviceLBFGS(self.x.detach(), history)
        m = self.m
        stamps = self.stamp.tolist()
        newest = sorted((st, i) for i, st in enumerate(stamps) if st >= 0)[-history:]  # chronological
        with torch.no_grad():
            for k, (_st, i) in enumerate(newest):
                new.z[k].copy_(self.z[i])
                new.z[history + k].copy_(self.z[m + i])
                new.stamp[k] = float(k)
            new.slot.fill_(len(newest) % history)
            new.pairs.fill_(float(len(newest)))
            new.gamma.copy_(self.gamma)
        return new

    @property
    def shape(self) -> torch.Size:
        return self.x.shape

    # ------------------------------------------------------------------ the step
    @torch.no_grad()
    def update(self, loss: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        """Take one step from ``x`` given ``loss`` (0-dim) and ``grad`` (shape of ``x``) there.

        Returns a 0-dim float tensor: 1.0 if loss and gradient were finite, else 0.0
        (the step was then a reset to the best iterate). Only device operations.
        """
        m = self.m
        x = self.x.view(-1)
        loss = loss.detach().float()
        g = grad.detach().float().reshape(-1)
        # A NaN or Inf anywhere in g makes its largest magnitude NaN or Inf (one pass, no boolean
        # image; unlike a sum it cannot overflow for finite values).
        finite = torch.isfinite(loss) & torch.isfinite(torch.linalg.vector_norm(g, float("inf")))
        finite_f = finite.float()
        g = torch.where(finite, g, 0.0)

        # Best iterate (the point just evaluated).
        better = finite & (loss < self.best_loss)
        self.best_loss.copy_(torch.where(better, loss, self.best_loss))
        self.best_x.copy_(torch.where(better, self.x, self.best_x))

        # New curvature pair from the last step: s = x_k - x_{k-1}, y = g_k - g_{k-1}.
        y = g - self.g_prev
        ys = torch.dot(y, self.s_prev)
        valid = (self.have_prev > 0) & finite & (ys > CURVATURE_EPS)
        slot = self.slot.view(1)
        old_s = self.z.index_select(0, slot)
        old_y = self.z.index_select(0, slot + m)
        self.z.index_copy_(0, slot, torch.where(valid, self.s_prev.view(1, -1), old_s))
        self.z.index_copy_(0, slot + m, torch.where(valid, y.view(1, -1), old_y))
        self.stamp.index_copy_(0, slot, torch.where(valid, self.pairs, self.stamp.index_select(0, slot)).view(1))
        yy = torch.dot(y, y)
        self.gamma.copy_(torch.where(valid, ys / yy.clamp_min(1e-30), self.gamma))
        self.pairs.add_(valid.float())
        self.slot.copy_(torch.where(valid, (self.slot + 1) % m, self.slot))

        # Direction d = -H g (compact form; pairs put in chronological order by their stamps).
        self.z[2 * m].copy_(g)
        # Rows: S, Y; columns: Y (m), g (1). Computed as the transpose of the (m+1) x 2m product:
        # on CPUs that GEMM shape was 1.5x faster (2 cores, 512x384 image: 11.7 vs 18.2 ms).
        prods = (self.z[m:] @ self.z[: 2 * m].T).T
        # An empty slot (stamp -1) may hold a stale pair from before a reset: its products are masked
        # to zero, which makes it exactly a zero pair.
        occupied = (self.stamp >= 0).float()
        pair_mask = occupied.view(-1, 1) * occupied.view(1, -1)
        sy = prods[:m, :m] * pair_mask  # s_i . y_j, slot order
        yy_m = prods[m:, :m] * pair_mask  # y_i . y_j
        sg = prods[:m, m] * occupied
        yg = prods[m:, m] * occupied
        order = torch.argsort(self.stamp)  # empty slots (-1) first
        empty = (self.stamp < 0).float()[order]
        sy_c = sy[order][:, order]
        r = torch.triu(sy_c) + torch.diag(empty)  # an empty slot is decoupled: R_ii = 1, u_i = 0
        d_diag = torch.diagonal(sy_c)
        gamma = self.gamma
        a = sg[order]
        b = gamma * yg[order]
        u = torch.linalg.solve_triangular(r, a.view(-1, 1), upper=True).view(-1)
        w = d_diag * u + gamma * (yy_m[order][:, order] @ u) - b
        p1 = torch.linalg.solve_triangular(r.T, w.view(-1, 1), upper=False).view(-1)
        coef_s = torch.zeros_like(p1).index_copy_(0, order, p1)
        coef_y = torch.zeros_like(u).index_copy_(0, order, -gamma * u)
        have_pairs = self.pairs > 0
        first_scale = torch.clamp(1.0 / torch.linalg.vector_norm(g, 1).clamp_min(1e-30), max=1.0)
        g_coef = torch.where(have_pairs, gamma, first_scale)
        coef = torch.cat([coef_s * occupied * have_pairs, coef_y * occupied * have_pairs, g_coef.view(1)])
        d = -torch.mv(self.z.T, coef)  # -(gamma g + S p1 - gamma Y u); mv: one pass over the history

        # Move (or go back to the best iterate after a NaN/Inf) and remember this step.
        x_new = torch.where(finite, x + d, self.best_x.view(-1))
        self.s_prev.copy_(torch.where(finite, x_new - x, 0.0))
        self.g_prev.copy_(g)
        self.have_prev.copy_(finite_f)
        x.copy_(x_new)
        self._reset_where(~finite)
        self.restarts.add_(1.0 - finite_f)
        return finite_f

    def _reset_where(self, cond: torch.Tensor) -> None:
        """Clear the history where the 0-dim bool ``cond`` is true (device-side).

        Only the stamps are cleared (the vectors stay, masked out in :meth:`update`):
        rewriting the whole history every step would cost a pass over ``2m`` images.
        """
        keep = (~cond).float()
        self.stamp.copy_(torch.where(cond, torch.full_like(self.stamp, -1.0), self.stamp))
        self.pairs.mul_(keep)
        self.slot.mul_(keep.long())
        self.gamma.copy_(torch.where(cond, torch.ones_like(self.gamma), self.gamma))
