"""Spike-equivalent product of two spike trains (Q·Kᵀ, P·V, gate ⊙ up, x ⊙ 1/σ).

With running sums ``S_A(t) = sum_{s<=t} a_s`` and ``S_B(t)`` of the two trains, step ``t`` emits

    op(S_A(t), S_B(t)) - op(S_A(t-1), S_B(t-1)),      S_A(0) = S_B(0) = 0,

so the steps telescope to ``op(Â, B̂)``: the product of the decoded values, which is what the
equivalent mode computes directly.
"""

from __future__ import annotations

from typing import Callable

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


def spike_product_steps(a_spikes: Tensor, b_spikes: Tensor, op: BinaryOp = torch.mul) -> Tensor:
    """Temporal mode: the ``[K, ...]`` per-step output of the product of two spike trains.

    ``a_spikes`` / ``b_spikes`` are ``[K, ...]`` trains (entries ``d_t z_t``) with the same K. Step t is
    ``op(S_A(t), S_B(t)) - op(S_A(t-1), S_B(t-1))``; ``op`` is applied per step (the leading K axis is
    mapped over, so ``torch.mul`` broadcasts and ``torch.matmul`` batches exactly as on decoded values),
    and ``result.sum(0) == op(Â, B̂)`` up to float rounding. Running sums are accumulated in float64
    and rounded once to the compute dtype (float32, float64 for float64 trains, which makes the
    steps of K-bit dyadic codes exact).
    """
    if a_spikes.dim() == 0 or b_spikes.dim() == 0 or a_spikes.shape[0] != b_spikes.shape[0]:
        raise ValueError(
            "spike_product_steps needs two [K, ...] spike trains with the same number of time steps, "
            f"got shapes {tuple(a_spikes.shape)} and {tuple(b_spikes.shape)}"
        )
    out, work = _dtypes(a_spikes, b_spikes)
    running_a = a_spikes.cumsum(0, dtype=torch.float64).to(work)
    running_b = b_spikes.cumsum(0, dtype=torch.float64).to(work)
    partial = torch.vmap(op)(running_a, running_b)
    return torch.diff(partial, dim=0, prepend=torch.zeros_like(partial[:1])).to(out)
