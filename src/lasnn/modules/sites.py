"""Sites: the neuron that codes one tensor entering synaptic ops, shared by every synapse that reads it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn as nn

from ..config import LASConfig
from ..neurons import OATNeuron


def make_oat(config: LASConfig) -> OATNeuron:
    """An OAT neuron for one site: fixed thresholds if the recipe has them, else to be calibrated."""
    nor, out = config.fixed_thresholds if config.fixed_thresholds is not None else (None, None)
    return OATNeuron(nor, out, time_steps=config.time_steps, rounding=config.rounding, code=config.code)


@dataclass
class _Cached:
    source: torch.Tensor
    version: int
    kind: str
    output: torch.Tensor
    remaining: int


class SiteEncoder(nn.Module):
    """The OAT neuron of one site.

    When several synapses read the very same tensor (q/k/v projections, gate/up projections) they share one
    SiteEncoder (``consumers`` > 1): the tensor is coded once per forward and the spike train fans out.
    """

    def __init__(self, neuron: OATNeuron) -> None:
        super().__init__()
        self.neuron = neuron
        self.consumers = 1
        self._cache: _Cached | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._coded(x, "value", self.neuron)

    def spikes(self, x: torch.Tensor) -> torch.Tensor:
        return self._coded(x, "spikes", self.neuron.spikes)

    def _coded(self, x: torch.Tensor, kind: str, code: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        if self.consumers == 1:
            return code(x)
        cached = self._cache
        if cached is not None and cached.kind == kind and cached.source is x and cached.version == x._version:
            cached.remaining -= 1
            if cached.remaining == 0:
                self._cache = None
            return cached.output
        output = code(x)
        self._cache = _Cached(x, x._version, kind, output, self.consumers - 1)
        return output

    def clear_cache(self) -> None:
        self._cache = None

    def extra_repr(self) -> str:
        return f"consumers={self.consumers}"
