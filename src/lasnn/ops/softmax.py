"""Spike-equivalent softmax over one axis.

    m = winner of a tournament over the unmasked scores of the row,  ê = HG_exp(s - m),  r̂ = HG_recip(sum ê),
    P̂ = prob(ê ⊙ r̂)

The row's shift m comes from a winner-take-all tournament of comparator neurons: each node compares its two inputs
(a threshold neuron on a - b) and gates the winner through, over log2(n) rounds; no reduction op is involved.
The row sum is linear (synaptic), ``ê ⊙ r̂`` is a spike product and ``prob`` (HG identity on [0, 1])
is the neuron that emits P̂. Masked positions are gated off: they add nothing to the row sum and
emit no spikes.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..neurons import HGNeuron
from ._time import WORK_DTYPE, integrate
from .product import spike_product, spike_product_steps


class SoftmaxNeurons(nn.Module):
    """The neurons of one softmax site.

    ``exp``: HG exp; ``reciprocal``: HG 1/x, its range set on every call to ``[1, row length]``
    (the row sum of ê lies there: the row max contributes exactly 1, every other term at most 1);
    ``prob``: HG identity on [0, 1], the output neuron of P̂.
    """

    def __init__(self, time_steps: int = 16, code: str = "binary") -> None:
        super().__init__()
        self.exp = HGNeuron.for_function("exp", time_steps=time_steps, code=code)
        self.reciprocal = HGNeuron.for_function("reciprocal", time_steps=time_steps, lo=1.0, hi=2.0, code=code)
        self.prob = HGNeuron.for_function("identity", time_steps=time_steps, lo=0.0, hi=1.0, code=code)

    def _cover_row_length(self, n: int) -> None:
        """Make the reciprocal's range cover ``[1, n]``: ``[1, 2^ceil(log2 n)]``, rebuilt only when that changes.

        (The relative error of an HG neuron does not depend on its range; the power of two only spares a
        rebuild of the gate bank on every new row length, e.g. at each decoding step.)
        """
        hi = float(2 ** max(1, math.ceil(math.log2(max(n, 2)))))
        if self.reciprocal.range != (1.0, hi):
            self.reciprocal.set_range(1.0, hi)


def _keep_mask(scores: Tensor, mask: Tensor | None) -> Tensor:
    """Boolean "attend" mask broadcast to ``scores``.

    Masked: scores that are -inf or <= finfo.min / 2 (a mask already added in), and ``mask`` entries:
    False for a boolean mask (True = attend, as torch SDPA); -inf or <= finfo(mask.dtype).min / 2 for an
    additive float mask (the Hugging Face convention, whatever the mask dtype). NaN scores stay unmasked.
    """
    keep = ~(scores <= torch.finfo(scores.dtype).min / 2)
    if mask is None:
        return keep
    if mask.dtype == torch.bool:
        return keep & mask
    return keep & ~(mask <= torch.finfo(mask.dtype).min / 2)


def tournament_winner(s: Tensor, keep: Tensor) -> Tensor:
    """The largest kept entry of each row of ``s`` (last axis, keepdim), 0 for a row with none kept.

    A winner-take-all tournament: masked entries (and the padding up to a power of two) enter as -inf (gated off),
    and each round pairs neighbours and lets a comparator pass the larger one (``a >= b`` gates a, else b; a NaN
    always passes, so it is never hidden), halving the row until one entry is left.
    """
    x = torch.where(keep, s, float("-inf"))
    width = 1 << max(0, (x.shape[-1] - 1).bit_length())
    if width > x.shape[-1]:
        x = torch.cat([x, x.new_full((*x.shape[:-1], width - x.shape[-1]), float("-inf"))], dim=-1)
    while x.shape[-1] > 1:
        a, b = x[..., 0::2], x[..., 1::2]
        x = torch.where((a >= b) | torch.isnan(a), a, b)
    return torch.where(x == float("-inf"), 0.0, x)


def _shifted_scores(scores: Tensor, mask: Tensor | None, dim: int) -> tuple[Tensor, Tensor]:
    """(x, keep) with the softmax axis moved last: x = s (+ additive mask) - tournament winner, 0 where masked."""
    s = scores.to(WORK_DTYPE)
    if mask is not None and mask.dtype != torch.bool:
        s = s + mask.to(WORK_DTYPE)
    keep = _keep_mask(scores, mask).expand(scores.shape).movedim(dim, -1)
    s = s.movedim(dim, -1)
    return torch.where(keep, s - tournament_winner(s, keep), 0.0), keep


def _reciprocal_input(total: Tensor) -> Tensor:
    """Row sum (float64 accumulator) -> float32 input of the reciprocal; an empty row gets 1 (its ê are 0)."""
    return torch.where(total > 0, total, torch.ones_like(total)).to(WORK_DTYPE)


def spiking_softmax(scores: Tensor, neurons: SoftmaxNeurons, mask: Tensor | None = None, dim: int = -1) -> Tensor:
    """Equivalent mode: decoded ``P̂`` (same shape and dtype as ``scores``).

    ``mask``: boolean (True = attend, as torch SDPA) or additive float (added to the scores; entries
    -inf or <= finfo.min / 2 are masked), broadcastable to ``scores``. Masked positions are exactly 0
    and a fully masked row is all zeros (never NaN).
    """
    dim = dim % scores.dim()
    x, keep = _shifted_scores(scores, mask, dim)
    neurons._cover_row_length(x.shape[-1])
    e = torch.where(keep, neurons.exp(x), 0.0)
    r = neurons.reciprocal(_reciprocal_input(e.sum(-1, keepdim=True, dtype=torch.float64)))
    p = torch.where(keep, neurons.prob(spike_product(e, r)), 0.0)
    return p.movedim(-1, dim).to(scores.dtype)


def spiking_softmax_spikes(
    scores: Tensor, neurons: SoftmaxNeurons, mask: Tensor | None = None, dim: int = -1
) -> Tensor:
    """Temporal mode: the ``[steps, *scores.shape]`` float32 spike train of P̂ (``sum(0) == spiking_softmax``).

    Exp spikes -> per-step row sums, integrated by the reciprocal neuron -> reciprocal spikes ->
    spike product with the exp spikes, integrated by the prob neuron -> prob spikes.
    Same ``mask`` semantics as :func:`spiking_softmax`.
    """
    dim = dim % scores.dim()
    x, keep = _shifted_scores(scores, mask, dim)
    neurons._cover_row_length(x.shape[-1])
    e_spikes = torch.where(keep, neurons.exp.spikes(x), 0.0).to(torch.float64)
    total = e_spikes.sum(-1, keepdim=True).sum(0)
    r_spikes = neurons.reciprocal.spikes(_reciprocal_input(total)).to(torch.float64)
    current = integrate(spike_product_steps(e_spikes, r_spikes))
    p_spikes = torch.where(keep, neurons.prob.spikes(current), 0.0)
    return p_spikes.movedim(-1, dim + 1)
