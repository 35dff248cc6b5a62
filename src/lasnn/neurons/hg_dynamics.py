"""Temporal mode of the HG neuron: the gates, the sub-neuron and the output coder run step by step on the membrane.

Every operation on the input is a comparison with a constant, a subtraction, a selection of a constant by a gate, or
a spike times a fixed weight; the closed forms in ``kernels`` compute the same codes.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .codes import digit_planes
from .dynamics import fire
from .kernels import _gated_input, output_membrane


def _gate_cascade(a: Tensor, neg: Tensor, start: Tensor, side: int) -> Tensor:
    """Segment of a = |x| on its side (``side`` segments each): the number of the side's segment starts <= a, minus
    one (threshold comparisons)."""
    pos = torch.bucketize(a, start[:side], right=True) - 1
    if start.numel() == side:
        return pos
    return torch.where(neg, torch.bucketize(a, start[side:], right=True) - 1 + side, pos)


def _sub_neuron(z: Tensor, side: int, start: Tensor, inv_cell: Tensor, offset: Tensor, slope: Tensor,
                time_steps: int) -> Tensor:
    """The routed MT sub-neuron codes (|x| - b_i) 2^K / h_i; its spikes weigh g_i 2^(K-t) on a compartment with
    bias a_i, which integrates y = a_i + g_i j."""
    a = z.abs()
    idx = _gate_cascade(a, z < 0, start, side)
    spikes, _ = fire(((a - start[idx]) * inv_cell[idx]).double(), time_steps)
    g = slope[idx].double()
    compartment = torch.zeros_like(g)
    for t, spike in enumerate(spikes, start=1):
        compartment = compartment + spike * (g * 2.0 ** (time_steps - t))
    return offset[idx] + compartment.to(a.dtype)


def hg_train(x: Tensor, code: str, dtype: torch.dtype, lo: Tensor, hi: Tensor, clamp_below: bool, linear: bool,
             relu: bool, side: int, p_lo: int, p_cap: float, width_cap: float, bits: int,
             start: Tensor, inv_cell: Tensor, offset: Tensor, slope: Tensor, thresholds: Tensor, unit: Tensor,
             inv_octave: Tensor, e_min: int, time_steps: int, half: float,
             nonzero: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(train [steps, *x.shape] float64, nan, out_of_range, underflow) of an HG neuron (see ``HGNeuron``): the
    membranes run in the compute ``dtype``, the compartment accumulates its exact weights in float64."""
    z, below, nan, out_of_range = _gated_input(x.to(dtype), lo, hi, clamp_below)
    if linear:
        y = torch.where(z < 0, 0.0, z) if relu else z
    else:
        y = _sub_neuron(z, side, start, inv_cell, offset, slope, time_steps)
    a = y.abs()
    e = (torch.bucketize(a, thresholds, right=True)).clamp_max_(thresholds.numel() - 1)
    spikes, c = fire(output_membrane(a, e, inv_octave, time_steps, half).double(), time_steps)
    weight = torch.where(y < 0, -unit[e], unit[e]).double()
    if code == "binary":
        train = torch.stack([spike * (weight * 2.0 ** (time_steps - t)) for t, spike in enumerate(spikes, start=1)])
    else:
        digits = digit_planes(c.to(torch.int64), time_steps, code)
        scale = torch.tensor([2.0 ** (time_steps - t) for t in range(time_steps + 1)], dtype=torch.float64,
                             device=x.device).view(-1, *([1] * x.dim()))
        train = digits * scale * weight
    small = a < 2.0 ** (e_min - 1)
    if not nonzero:
        small = small & (a != 0)
    if below is not None:
        train, small = torch.where(below, 0.0, train), small | below
    return train.masked_fill_(torch.isnan(z), math.nan), nan, out_of_range, small.sum()
