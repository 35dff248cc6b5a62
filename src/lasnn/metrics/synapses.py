"""Synaptic operations of the spiking model and of its ANN, counted on the same inputs. Rules: :data:`COUNTING_RULES`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn
from transformers.pytorch_utils import Conv1D

from ..modules.base import OpCount, Ops, spiking_modules
from ..modules.state import get_state
from ..neurons import Neuron
from .spikes import SpikeCounter, layer_of

COUNTING_RULES = """Counting rules (each op's ``rule`` says which applies; n_X = spikes of neuron X in that call):
- linear / Conv1D: SNN ACs = n_in * out_features (every consumer of a shared site counts its own fan-out);
  ANN MACs = elements_in * out_features; the bias adds out_features ACs per token to both.
- product of two spike trains (running-sum rule, step t emits a_t S_B(t) + S_A(t-1) b_t): a spike of A adds the
  stored running sum of every partner in B (spike weights are powers of two times the site's constant, i.e. a
  shift): n_A * fanout_A + n_B * fanout_B ACs, plus n_A + n_B ACs keeping the running sums S_A, S_B.
  Element-wise: fan-out 1; Q·Kᵀ: a q spike meets S keys, a k spike T queries (x GQA group); P·V: a p spike meets
  D value dims, a v spike T queries (x group). ANN: one MAC per multiply.
- neuron -> sum / next neuron (HG activation, softmax row sum, norm mean): one AC per spike.
- inherent MACs (both models): norm affine gamma (a current times a constant), attention scaling (one per score),
  RoPE (2 MACs + 1 AC per query / key element); inherent ACs: norm beta, eps, mean removal, mask add, row max.
- ANN non-linear functions (exp, 1/x, 1/sqrt, activations): one function evaluation per value.
- allow_ann parts: their Linear / Conv1D layers count their MACs in both models.
Not counted (the same ops in both models): residual and position-embedding additions, embedding lookups.
"""

RULES = {
    "linear": "SNN ACs = input spikes x out_features (+ bias ACs per token); ANN MACs = inputs x out_features",
    "product": "running-sum product: SNN ACs = n_A*fanout_A + n_B*fanout_B + (n_A + n_B) running-sum ACs; "
               "ANN one MAC per multiply",
    "to_neuron": "spikes integrated by the next neuron or a sum: one AC per spike; ANN: one function evaluation "
                 "per value (non-linearity)",
    "inherent": "constant products / additions present in both models (norm gamma/beta, eps, mean, scaling, RoPE, "
                "mask, row max); not spike-driven",
    "allow_ann": "module left in float by allow_ann: MACs in both models",
}


@dataclass
class SynapticOp:
    """Counted operations of one synaptic op of one module, accumulated over calls."""

    name: str
    op: str
    rule: str
    snn: Ops = field(default_factory=Ops)
    ann: Ops = field(default_factory=Ops)

    @property
    def layer(self) -> str:
        return layer_of(self.name)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "op": self.op, "layer": self.layer, "rule": self.rule,
                "snn": vars(self.snn), "ann": vars(self.ann)}


def _out_features(module: nn.Module) -> int:
    return module.weight.shape[1] if isinstance(module, Conv1D) else module.weight.shape[0]


class OpCounter:
    """Forward hooks on every spiking module that add up the operations each call reports
    (``SpikingModule.synaptic_ops``), and on the linear layers left in float by ``allow_ann``."""

    def __init__(self, model: nn.Module, spikes: SpikeCounter) -> None:
        self.model = model
        self.spikes = spikes
        self.ops: dict[tuple[str, str], SynapticOp] = {}
        self.allowed = get_state(model).allowed_ann

    def add(self, name: str, count: OpCount) -> None:
        entry = self.ops.setdefault((name, count.op), SynapticOp(name, count.op, count.rule))
        entry.snn, entry.ann = entry.snn + count.snn, entry.ann + count.ann

    def _spiking_hook(self, name: str):  # noqa: ANN202
        counts = _LatestCall(self.spikes)

        def hook(module: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any], output: Any) -> None:
            for count in module.synaptic_ops(args, kwargs, output, counts):
                self.add(name, count)

        return hook

    def _ann_linear_hook(self, name: str):  # noqa: ANN202
        def hook(module: nn.Module, args: tuple[Any, ...], _: Any) -> None:
            x, out = args[0], _out_features(module)
            macs = Ops(macs=x.numel() * out)
            self.add(name, OpCount("allow_ann linear", "allow_ann", macs, macs))

        return hook

    @contextlib.contextmanager
    def counting(self) -> Iterator[OpCounter]:
        """Count the synaptic operations of every forward inside the block."""
        handles = [module.register_forward_hook(self._spiking_hook(name), with_kwargs=True)
                   for name, module in spiking_modules(self.model)]
        for name, module in self.model.named_modules():
            if isinstance(module, (nn.Linear, Conv1D)) and any(name == a or name.startswith(a + ".")
                                                               for a in self.allowed):
                handles.append(module.register_forward_hook(self._ann_linear_hook(name)))
        try:
            yield self
        finally:
            for handle in handles:
                handle.remove()


class _LatestCall:
    """:class:`lasnn.modules.CallCounts` from a :class:`SpikeCounter`: what each neuron emitted in its latest call."""

    def __init__(self, spikes: SpikeCounter) -> None:
        self._spikes = spikes

    def spikes(self, neuron: Neuron) -> int:
        return self._spikes.record(neuron).last

    def elements(self, neuron: Neuron) -> int:
        return self._spikes.record(neuron).last_elements
