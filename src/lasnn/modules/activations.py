"""Spiking activation modules: an activation module is replaced by the HG neuron of the function it computes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn as nn

from ..neurons import HG_FUNCTIONS, HGNeuron
from ..ops import spiking_activation
from .base import CallCounts, FlaggedSpikingModule, OpCount, Ops

ACTIVATION_MODULE_NAMESPACES = ("transformers.activations", "torch.nn.modules.activation")

ACTIVATIONS = ("gelu", "gelu_tanh", "silu", "sigmoid", "tanh", "relu")
IDENTITY = "identity"


def is_activation_module(module: nn.Module) -> bool:
    """A parameter-free module of torch's or transformers' activations, or any other parameter-free module that
    computes one of the HG functions element-wise (verified by probing, e.g. a user's ``x * torch.sigmoid(x)``)."""
    if any(True for _ in module.parameters()) or any(True for _ in module.children()):
        return False
    if type(module).__module__ in ACTIVATION_MODULE_NAMESPACES:
        return True
    return activation_function(module) not in (None, IDENTITY)


def activation_function(module: nn.Module) -> str | None:
    """The name of the HG function that ``module`` computes (probed on [-8, 8]), ``"identity"``, or None."""
    x = torch.linspace(-8.0, 8.0, 2001)
    if not callable(getattr(module, "forward", None)):
        return None
    try:
        with torch.no_grad():
            y = module(x)
    except Exception:
        return None
    if not isinstance(y, torch.Tensor) or y.shape != x.shape:
        return None
    if torch.equal(y, x):
        return IDENTITY
    for name in ACTIVATIONS:
        if torch.allclose(y, HG_FUNCTIONS[name].fn(x), rtol=1e-5, atol=1e-6):
            return name
    return None


class SpikingActivation(FlaggedSpikingModule):
    """f(x) emitted by an HG neuron: gates route x to one sub-neuron that spikes the K-bit code of f(x)."""

    lasnn_neuron: HGNeuron

    def spiking(self, x: torch.Tensor, temporal: bool) -> torch.Tensor:
        return spiking_activation(x, self.lasnn_neuron, temporal=temporal)

    def synaptic_ops(self, args: tuple[Any, ...], kwargs: Mapping[str, Any], output: Any,
                     counts: CallCounts) -> list[OpCount]:
        return [neuron_to_next(self.lasnn_neuron, counts)]


def neuron_to_next(neuron: HGNeuron, counts: CallCounts) -> OpCount:
    """An HG neuron's spikes integrated by the next neuron: one AC per spike; the ANN evaluates f once per value."""
    return OpCount("activation -> next neuron", "to_neuron", Ops(acs=counts.spikes(neuron)),
                   Ops(functions=counts.elements(neuron)))
