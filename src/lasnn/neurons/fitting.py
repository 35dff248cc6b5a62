"""Fitting FS neurons to a function with a surrogate gradient (deterministic for a seed)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from .base import check_time_steps
from .fs import FSNeuron

__all__ = ["fit_fs"]


class _SpikeFn(torch.autograd.Function):
    """z = H(u) forward; backward dz/du = beta / (1 + beta |u|)^2 (fast-sigmoid surrogate of width 1/beta)."""

    @staticmethod
    def forward(ctx, u: Tensor, beta: Tensor) -> Tensor:
        ctx.save_for_backward(u, beta)
        return (u > 0).to(u.dtype)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:
        u, beta = ctx.saved_tensors
        return grad * beta / (1 + (beta * u).abs()) ** 2, None


def _simulate(u: Tensor, h: Tensor, d: Tensor, T: Tensor, beta: Tensor | None) -> tuple[Tensor, Tensor]:
    """FS dynamics on normalised inputs u: (y, spikes [N, K]); surrogate gradient if beta is given."""
    v, zs = u, []
    for t in range(h.numel()):
        z = _SpikeFn.apply(v - T[t], beta[t]) if beta is not None else (v > T[t]).to(v.dtype)
        zs.append(z)
        v = v - h[t] * z
    z = torch.stack(zs, 1)
    return z @ d, z


def _readout(z: Tensor, target: Tensor, rounds: int = 8) -> Tensor:
    """Output weights d for fixed spikes z: least squares, then Lawson reweighting toward the minimax fit."""
    w = torch.ones_like(target)
    best, best_err = None, math.inf
    for _ in range(rounds):
        sw = w.sqrt().unsqueeze(1)
        d = torch.linalg.lstsq(z * sw, target.unsqueeze(1) * sw, driver="gelsd").solution.squeeze(1)
        r = (z @ d - target).abs()
        if r.max() < best_err:
            best, best_err = d, float(r.max())
        w = w * r / (w * r).sum().clamp_min(1e-300)
    return best


def _initial(u: Tensor, f: Tensor, k: int) -> list[tuple[Tensor, Tensor]]:
    """Candidate (h, T) on normalised inputs u (sorted in [0, 1]) for the normalised target f.

    Step 1 always fires (T_1 < 0, h_1 = 0: a bias). The last b steps are a binary code of u above a knee c
    (T = c + (1-c) 2^-j, h = (1-c) 2^-j): they add a slope on [c, 1] and stay silent below c. The m = K-1-b steps
    in between have no reset and fire past the points splitting the total variation of the residual (f minus
    that slope) into m+1 equal parts: a staircase.
    """
    out = []
    for b in sorted({0, min(3, k - 1), min(5, k - 1), min(7, k - 1)}):
        for c in (0.0, 0.25, 0.5, 0.75) if b else (0.0,):
            i = int(c * (u.numel() - 1))
            slope = (f[-1] - f[i]) / (1 - c) if b else 0.0
            residual = f - slope * (u - c).clamp_min(0)
            m = k - 1 - b
            variation = torch.cat([residual.new_zeros(1), residual.diff().abs().cumsum(0)])
            levels = torch.arange(1, m + 1, dtype=u.dtype) * float(variation[-1]) / (m + 1)
            stairs = u[torch.searchsorted(variation, levels).clamp_max(u.numel() - 1)]
            bits = (1 - c) * 2.0 ** -torch.arange(1, b + 1, dtype=u.dtype)
            T = torch.cat([u.new_tensor([-1.0]), stairs, c + bits])
            h = torch.cat([u.new_zeros(1 + m), bits])
            out.append((h, T))
    return out


def _max_error(u: Tensor, f: Tensor, h: Tensor, T: Tensor) -> tuple[float, Tensor]:
    """(max |y - f|, d) of the best readout d for the exact spikes of (h, T)."""
    z = _simulate(u, h, h.new_zeros(h.numel()), T, None)[1]
    d = _readout(z, f)
    return float((z @ d - f).abs().max()), d


def fit_fs(fn: Callable[[Tensor], Tensor], lo: float, hi: float, time_steps: int = 16, *, steps: int = 300,
           lr: float = 1e-2, seed: int = 0, points: int = 4096) -> FSNeuron:
    """Fit an FS neuron to fn on [lo, hi] (minimising the max abs error), deterministic for a seed.

    Parameters live on u = (x - lo) / (hi - lo) and y / s (s = max |fn|). The best of a few structured
    initialisations (bias + staircase + binary slope above a knee, see `_initial`) is refined by Adam on (h, T, d)
    with a fast-sigmoid surrogate gradient on a jittered grid (loss: L8 norm of the error, close to the max). Every
    50 steps the exact spikes get a minimax-leaning readout (least squares + Lawson reweighting) and the best
    parameters so far are kept, so refinement never makes the fit worse. Float64 on the CPU, one thread. The
    neuron's `fit_max_abs_error` is measured on a 16x denser grid.
    """
    check_time_steps(time_steps)
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"fit_fs: need finite lo < hi, got lo={lo!r}, hi={hi!r}")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # thousands of tiny ops: intra-op threads only add overhead
    try:
        return _fit(fn, lo, hi, time_steps, steps, lr, seed, points)
    finally:
        torch.set_num_threads(threads)


def _fit(fn: Callable[[Tensor], Tensor], lo: float, hi: float, time_steps: int, steps: int, lr: float, seed: int,
         points: int) -> FSNeuron:
    g = torch.Generator().manual_seed(seed)
    span = hi - lo
    grid = torch.linspace(0, 1, points, dtype=torch.float64)

    def target(u: Tensor) -> Tensor:
        return fn(lo + u * span).to(torch.float64)

    scale = float(target(grid).abs().max()) or 1.0
    f = target(grid) / scale
    best_err, best_d, (h, T) = min(((*_max_error(grid, f, h, T), (h, T)) for h, T in _initial(grid, f, time_steps)),
                                   key=lambda c: c[0])
    best = (h.clone(), best_d, T.clone())
    h, T, d = h.clone().requires_grad_(), T.clone().requires_grad_(), best_d.clone().requires_grad_()
    beta = torch.full((time_steps,), 4.0 * time_steps, dtype=torch.float64)
    opt = torch.optim.Adam([h, T, d], lr=lr)
    for i in range(steps):
        u = (grid + torch.rand(points, generator=g, dtype=torch.float64) / points).clamp_(0, 1)
        err = _simulate(u, h, d, T, beta)[0] - target(u) / scale
        loss = err.pow(8).mean().pow(1 / 8)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (i + 1) % 50 == 0:
            with torch.no_grad():
                e, dd = _max_error(grid, f, h, T)
                if e < best_err:
                    best_err, best = e, (h.detach().clone(), dd, T.detach().clone())
    h, d, T = best
    with torch.no_grad():
        dense = torch.linspace(0, 1, 16 * points, dtype=torch.float64)
        d = _readout(_simulate(dense, h, d, T, None)[1], target(dense) / scale)
        neuron = FSNeuron(h * span, d * scale, lo + T * span, lo=lo, hi=hi, fn=fn)
        x = lo + dense * span
        neuron.fit_max_abs_error = float((neuron._run(x, count=False, train=False)[0] - fn(x)).abs().max())
    return neuron
