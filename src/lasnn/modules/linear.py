"""Synapses of linear layers: spikes in, weights accumulate.

equivalent: y = W x̂ + b with x̂ the site's decoded code; temporal: y = Σ_t W s_t + b over the site's spike train
s_t = d_t z_t (the bias is injected once). Both equal W x̂ + b up to float rounding.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F

from .base import CallCounts, OpCount, Ops, SpikingModule
from .sites import SiteEncoder
from .state import Mode


class SpikingSynapse(SpikingModule):
    """Mixin for layers whose input is coded by a site; subclasses define the bias-free ``synapse`` and
    ``out_features``."""

    lasnn_input: SiteEncoder
    weight: torch.Tensor
    bias: torch.Tensor | None

    def equivalent(self, x: torch.Tensor) -> torch.Tensor:
        if self._lasnn_state.config.exact_synapses and self._lasnn_state.mode is Mode.EQUIVALENT:
            current = self.synapse(self.lasnn_input(x).double(), self.weight.double())
            return (current if self.bias is None else current + self.bias.double()).to(x.dtype)
        return self.original_forward(self.lasnn_input(x))

    def temporal(self, x: torch.Tensor) -> torch.Tensor:
        exact = self._lasnn_state.config.exact_synapses
        work = torch.float64 if exact else torch.promote_types(self.weight.dtype, torch.float32)
        spikes = self.lasnn_input.spikes(x).to(work)
        current = self.synapse(spikes, self.weight.to(work)).sum(0)
        if self.bias is not None:
            current = current + self.bias.to(work)
        return current.to(x.dtype)

    def synapse(self, spikes: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def out_features_of(self) -> int:
        raise NotImplementedError

    def synaptic_ops(self, args: tuple[Any, ...], kwargs: Mapping[str, Any], output: Any,
                     counts: CallCounts) -> list[OpCount]:
        """SNN: input spikes x out_features ACs; ANN: inputs x out_features MACs; the bias adds out_features ACs
        per token to both."""
        x, out = args[0], self.out_features_of()
        bias = x.numel() // x.shape[-1] * out if self.bias is not None else 0
        return [OpCount("linear", "linear", Ops(acs=counts.spikes(self.lasnn_input.neuron) * out + bias),
                        Ops(macs=x.numel() * out, acs=bias))]


class SpikingLinear(SpikingSynapse):
    """``nn.Linear`` (weight [out, in])."""

    def synapse(self, spikes: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return F.linear(spikes, weight)

    def out_features_of(self) -> int:
        return self.weight.shape[0]


class SpikingConv1D(SpikingSynapse):
    """GPT-2's ``Conv1D`` (weight [in, out])."""

    def synapse(self, spikes: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return spikes @ weight

    def out_features_of(self) -> int:
        return self.weight.shape[1]
