"""Spike-equivalent product of two spike trains (Q·Kᵀ, P·V, gate ⊙ up, x ⊙ 1/σ).

With running sums ``S_A(t) = sum_{s<=t} a_s`` and ``S_B(t)`` of the two trains (stored accumulators), step ``t``
emits

    op(a_t, S_B(t)) + op(S_A(t-1), b_t),      S_A(0) = 0,

each term a spike train against the partner's accumulator. Since that equals
op(S_A(t), S_B(t)) - op(S_A(t-1), S_B(t-1)), the steps sum to ``op(Â, B̂)``: the product of the decoded values,
which is what the equivalent mode computes directly.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ._time import WORK_DTYPE

BinaryOp = Callable[[Tensor, Tensor], Tensor]


def _dtypes(a: Tensor, b: Tensor) -> tuple[torch.dtype, torch.dtype]:
    """(result dtype, compute dtype): the promoted input dtype, computed in at least float32."""
    out = torch.promote_types(a.dtype, b.dtype)
    return out, torch.promote_types(out, WORK_DTYPE)


def spike_product(a: Tensor, b: Tensor, op: BinaryOp = torch.mul) -> Tensor:
    """Equivalent mode: ``op(Â, B̂)`` of decoded values ``a``, ``b``.

    ``op`` is ``torch.mul`` (element-wise, broadcasting) or ``torch.matmul`` (batch dims broadcast).
    Computed in float32, returned in the inputs' (promoted) dtype.
    """
    out, work = _dtypes(a, b)
    return op(a.to(work), b.to(work)).to(out)


def _per_step(op: BinaryOp, a: Tensor, b: Tensor) -> Tensor:
    """``op`` on every step of two [K, ...] tensors, as on their values: value axes padded to one rank (so that
    they broadcast apart from K); a vector operand of matmul is a row (left) or a column (right) of its step."""
    vector_a, vector_b = op is torch.matmul and a.dim() == 2, op is torch.matmul and b.dim() == 2
    a = a.unsqueeze(-2) if vector_a else a
    b = b.unsqueeze(-1) if vector_b else b
    rank = max(a.dim(), b.dim())
    a = a.reshape(a.shape[:1] + (1,) * (rank - a.dim()) + a.shape[1:])
    b = b.reshape(b.shape[:1] + (1,) * (rank - b.dim()) + b.shape[1:])
    out = op(a, b)
    out = out.squeeze(-1) if vector_b else out
    return out.squeeze(-2) if vector_a else out


def spike_product_steps(a_spikes: Tensor, b_spikes: Tensor, op: BinaryOp = torch.mul) -> Tensor:
    """Temporal mode: the ``[K, ...]`` per-step output of the product of two spike trains.

    ``a_spikes`` / ``b_spikes`` are ``[K, ...]`` trains (entries ``d_t z_t``) with the same K; ``op`` is ``torch.mul``
    (broadcasting) or ``torch.matmul`` (batch dims broadcast), applied per step to the value axes. Step t is
    ``op(a_t, S_B(t)) + op(S_A(t-1), b_t)``, and ``result.sum(0) == op(Â, B̂)`` up to float rounding. Running sums
    are accumulated in float64 and rounded once to the compute dtype (float32, float64 for float64 trains, which
    makes the steps of K-bit dyadic codes exact).
    """
    if a_spikes.dim() == 0 or b_spikes.dim() == 0 or a_spikes.shape[0] != b_spikes.shape[0]:
        raise ValueError(
            "spike_product_steps needs two [K, ...] spike trains with the same number of time steps, "
            f"got shapes {tuple(a_spikes.shape)} and {tuple(b_spikes.shape)}"
        )
    out, work = _dtypes(a_spikes, b_spikes)
    a, b = a_spikes.to(work), b_spikes.to(work)
    running_b = b.cumsum(0, dtype=torch.float64).to(work)
    previous_a = (a.cumsum(0, dtype=torch.float64) - a).to(work)
    return (_per_step(op, a, running_b) + _per_step(op, previous_a, b)).to(out)
