"""Synapses of linear layers: spikes in, weights accumulate.

equivalent: y = W x̂ + b with x̂ the site's decoded code; temporal: y = Σ_t W s_t + b over the site's spike train
s_t = d_t z_t (the bias is injected once). Both equal W x̂ + b up to float rounding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .sites import SiteEncoder
from .state import ConversionState, Mode


class SpikingSynapse:
    """Mixin for layers whose input is coded by a site; subclasses define the bias-free synapse."""

    _lasnn_state: ConversionState
    lasnn_input: SiteEncoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mode = self._lasnn_state.mode
        if mode is Mode.ANN:
            return super().forward(x)
        exact = self._lasnn_state.config.exact_synapses
        if mode is Mode.TEMPORAL:
            work = torch.float64 if exact else torch.promote_types(self.weight.dtype, torch.float32)
            spikes = self.lasnn_input.spikes(x).to(work)
            current = self.synapse(spikes, self.weight.to(work)).sum(0)
            if self.bias is not None:
                current = current + self.bias.to(work)
            return current.to(x.dtype)
        if exact and mode is Mode.EQUIVALENT:
            current = self.synapse(self.lasnn_input(x).double(), self.weight.double())
            return (current if self.bias is None else current + self.bias.double()).to(x.dtype)
        return super().forward(self.lasnn_input(x))

    def synapse(self, spikes: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class SpikingLinear(SpikingSynapse):
    """``nn.Linear`` (weight [out, in])."""

    def synapse(self, spikes: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return F.linear(spikes, weight)


class SpikingConv1D(SpikingSynapse):
    """GPT-2's ``Conv1D`` (weight [in, out])."""

    def synapse(self, spikes: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return spikes @ weight
