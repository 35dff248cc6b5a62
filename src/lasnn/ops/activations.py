"""Spike-equivalent activations (GELU, SiLU, ReLU, tanh, ...): one HG neuron each."""

from __future__ import annotations

from torch import Tensor

from ..neurons import HGNeuron
from ._time import WORK_DTYPE, integrate


def spiking_activation(x: Tensor, neuron: HGNeuron, temporal: bool = False) -> Tensor:
    """``y = HG_f(x)``: the neuron's decoded output, or (``temporal=True``) ``sum_t spikes_t(x)``.

    The temporal result is what the downstream neuron integrates from the HG neuron's spike train;
    both modes agree to float rounding. Returned in ``x.dtype``.
    """
    if not temporal:
        return neuron(x)
    return integrate(neuron.spikes(x.to(WORK_DTYPE))).to(x.dtype)
