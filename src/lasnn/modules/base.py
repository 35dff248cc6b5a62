"""The base of every spiking module: one dispatch on the mode, and one public view of what its forward costs.

A converted module keeps its identity (``swap_class`` puts a ``SpikingModule`` mixin in front of its class), so
``original_forward`` is the original forward. ``forward`` dispatches once: "ann" runs the original forward,
"equivalent" (and calibration) runs ``equivalent``, "temporal" runs ``temporal``.

The view for accounting: ``synaptic_ops(args, output, counts)`` lists the operations of the call that just ran
(``counts`` gives the spikes each neuron emitted in it), ``gated_neurons()`` the neurons whose spikes only count
where a partner's input is non-zero. ``metrics`` reads nothing else of a spiking module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from torch import nn

from ..neurons import Neuron
from .state import ConversionState, Mode


@dataclass(frozen=True)
class Ops:
    """Counted operations of one model (or one site / layer): multiply-accumulates, accumulates, the ANN's
    non-linear function evaluations, neuron state updates."""

    macs: int = 0
    acs: int = 0
    functions: int = 0
    updates: int = 0

    def __add__(self, other: Ops) -> Ops:
        return Ops(self.macs + other.macs, self.acs + other.acs, self.functions + other.functions,
                   self.updates + other.updates)


@dataclass(frozen=True)
class OpCount:
    """The operations of one synaptic op in one call, in the spiking model and in its ANN (``rule``: the counting
    rule of ``lasnn.metrics.synapses.RULES`` that applies)."""

    op: str
    rule: str
    snn: Ops
    ann: Ops


class CallCounts(Protocol):
    """What a neuron emitted in its latest call."""

    def spikes(self, neuron: Neuron) -> int: ...

    def elements(self, neuron: Neuron) -> int: ...


class SpikingModule:
    """Mixin of every spiking module; subclasses define ``equivalent`` and ``temporal`` with the original
    forward's signature, and ``synaptic_ops`` for the accounting."""

    _lasnn_state: ConversionState

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        mode = self._lasnn_state.mode
        if mode is Mode.ANN:
            return self.original_forward(*args, **kwargs)
        if mode is Mode.TEMPORAL:
            return self.temporal(*args, **kwargs)
        return self.equivalent(*args, **kwargs)

    def original_forward(self, *args: Any, **kwargs: Any) -> Any:
        """The forward of the class the module had before conversion."""
        return super().forward(*args, **kwargs)

    def equivalent(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def temporal(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def synaptic_ops(self, args: tuple[Any, ...], kwargs: Mapping[str, Any], output: Any,
                     counts: CallCounts) -> list[OpCount]:
        """The operations of the call that just ran (default: none counted here)."""
        return []

    def gated_neurons(self) -> dict[Neuron, Neuron]:
        """Neuron -> partner whose non-zero inputs mark where the first one's spikes count (default: none)."""
        return {}


class FlaggedSpikingModule(SpikingModule):
    """A spiking module whose two modes differ only in the ``temporal`` flag of its op: subclasses define
    ``spiking(*args, temporal=...)``."""

    def equivalent(self, *args: Any, **kwargs: Any) -> Any:
        return self.spiking(*args, temporal=False, **kwargs)

    def temporal(self, *args: Any, **kwargs: Any) -> Any:
        return self.spiking(*args, temporal=True, **kwargs)

    def spiking(self, *args: Any, temporal: bool, **kwargs: Any) -> Any:
        raise NotImplementedError


def spiking_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Every spiking module of ``model`` with its name, in module order."""
    return [(name, module) for name, module in model.named_modules() if isinstance(module, SpikingModule)]

