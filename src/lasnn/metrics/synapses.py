"""Synaptic operations of the spiking model and of its ANN, counted on the same inputs.

Counting rules (each op's ``rule`` says which applies; n_X = spikes of neuron X in that call):
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

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor, nn
from transformers import AttentionInterface
from transformers.pytorch_utils import Conv1D

from ..convert import attention as attention_impl
from ..convert.adapters import SpikingGatedMLP, SpikingGeluLMHead, SpikingTanhHead
from ..convert.activations import SpikingActivation
from ..convert.linear import SpikingSynapse
from ..convert.norms import SpikingLayerNorm, SpikingRMSNorm
from ..convert.state import get_state
from .energy import Ops
from .spikes import SpikeCounter, layer_of

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
    """Hooks on the converted modules (and the attention function) that count synaptic operations per call."""

    def __init__(self, model: nn.Module, spikes: SpikeCounter) -> None:
        self.model = model
        self.spikes = spikes
        self.ops: dict[tuple[str, str], SynapticOp] = {}
        self.names = {id(m): n for n, m in model.named_modules()}
        self.rope = any(n.endswith("rotary_emb") for n, _ in model.named_modules())
        self.allowed = get_state(model).allowed_ann

    def add(self, module: nn.Module, op: str, rule: str, snn: Ops, ann: Ops) -> None:
        name = self.names.get(id(module), type(module).__name__)
        entry = self.ops.setdefault((name, op), SynapticOp(name, op, rule))
        entry.snn, entry.ann = entry.snn + snn, entry.ann + ann

    def n(self, neuron: nn.Module) -> int:
        """Spikes of the latest call of ``neuron``."""
        return self.spikes.record(neuron).last

    # -- hooks -----------------------------------------------------------------------------------------------
    def _linear(self, module: nn.Module, args: tuple[Any, ...], _: Any) -> None:
        x, out = args[0], _out_features(module)
        tokens = x.numel() // x.shape[-1]
        bias = tokens * out if module.bias is not None else 0
        self.add(module, "linear", "linear", Ops(acs=self.n(module.lasnn_input.neuron) * out + bias),
                 Ops(macs=x.numel() * out, acs=bias))

    def _ann_linear(self, module: nn.Module, args: tuple[Any, ...], _: Any) -> None:
        x, out = args[0], _out_features(module)
        self.add(module, "allow_ann linear", "allow_ann", Ops(macs=x.numel() * out), Ops(macs=x.numel() * out))

    def _norm(self, module: nn.Module, args: tuple[Any, ...], _: Any) -> None:
        x, neurons = args[0], module.lasnn_norm
        width = x.shape[-1]
        rows = x.numel() // width
        n_sq, n_r = self.n(neurons.square), self.n(neurons.rsqrt)
        layer_norm = neurons.centered is not None
        n_x = self.n(neurons.centered if layer_norm else neurons.input)
        self.add(module, "sum of squares", "to_neuron", Ops(acs=n_sq), Ops(macs=x.numel(), functions=rows))
        self.add(module, "x ⊙ rsqrt", "product", Ops(acs=n_x + n_r * width + n_x + n_r), Ops(macs=x.numel()))
        inherent_macs = rows + (x.numel() if module.weight is not None else 0)  # 1/n per row, gamma
        inherent_acs = rows + (x.numel() if getattr(module, "bias", None) is not None else 0)  # eps, beta
        if layer_norm:
            n_in = self.n(neurons.input)
            self.add(module, "mean removal", "to_neuron", Ops(acs=2 * n_in + x.numel()),
                     Ops(acs=2 * x.numel(), macs=rows))
        self.add(module, "affine, eps, 1/n", "inherent", Ops(macs=inherent_macs, acs=inherent_acs),
                 Ops(macs=inherent_macs, acs=inherent_acs))

    def _activation(self, module: nn.Module, args: tuple[Any, ...], _: Any) -> None:
        neuron = getattr(module, "lasnn_neuron", None) or getattr(module, "lasnn_tanh", None) \
            or getattr(module, "lasnn_gelu")
        record = self.spikes.record(neuron)
        self.add(module, "activation -> next neuron", "to_neuron", Ops(acs=record.last),
                 Ops(functions=record.last_elements))

    def _gated(self, module: nn.Module, args: tuple[Any, ...], _: Any) -> None:
        n_act, n_up = self.n(module.act_fn.lasnn_neuron), self.n(module.lasnn_up.neuron)
        elements = self.spikes.record(module.lasnn_up.neuron).last_elements
        self.add(module, "act(gate) ⊙ up", "product", Ops(acs=2 * (n_act + n_up)),
                 Ops(macs=elements, functions=elements))

    def _attention(self, module: nn.Module, query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None) -> None:
        neurons = module.lasnn_attention
        sm = neurons.softmax
        b, h, t, d = query.shape
        s, groups = key.shape[-2], h // key.shape[1]
        scores, rows = b * h * t * s, b * h * t
        n_q, n_k, n_v = self.n(neurons.query.neuron), self.n(neurons.key.neuron), self.n(neurons.value.neuron)
        n_e, n_r, n_p = self.n(sm.exp), self.n(sm.reciprocal), self.n(sm.prob)
        self.add(module, "Q·Kᵀ", "product", Ops(acs=n_q * s + n_k * groups * t + n_q + n_k), Ops(macs=scores * d))
        self.add(module, "softmax row sum", "to_neuron", Ops(acs=n_e), Ops(acs=scores, functions=scores + rows))
        self.add(module, "softmax ê ⊙ r̂", "product", Ops(acs=n_e + n_r * s + n_e + n_r), Ops(macs=scores))
        self.add(module, "P·V", "product", Ops(acs=n_p * d + n_v * groups * t + n_p + n_v), Ops(macs=scores * d))
        inherent = Ops(macs=scores, acs=scores * (3 if mask is not None else 2))  # scaling; max, subtract (, mask)
        self.add(module, "scaling, mask, row max", "inherent", inherent, inherent)
        if self.rope:
            rope = Ops(macs=2 * (query.numel() + key.numel()), acs=query.numel() + key.numel())
            self.add(module, "RoPE", "inherent", rope, rope)

    @contextlib.contextmanager
    def counting(self) -> Iterator[OpCounter]:
        """Count the synaptic operations of every forward inside the block."""
        handles = []
        hooks: list[tuple[type | tuple[type, ...], Callable[..., None]]] = [
            (SpikingSynapse, self._linear), ((SpikingLayerNorm, SpikingRMSNorm), self._norm),
            ((SpikingTanhHead, SpikingGeluLMHead), self._activation), (SpikingGatedMLP, self._gated),
        ]
        for name, module in self.model.named_modules():
            for types, hook in hooks:
                if isinstance(module, types):
                    handles.append(module.register_forward_hook(hook))
            if isinstance(module, SpikingActivation) and not self._in_gated_mlp(name):
                handles.append(module.register_forward_hook(self._activation))
            if isinstance(module, (nn.Linear, Conv1D)) and not isinstance(module, SpikingSynapse) \
                    and any(name == a or name.startswith(a + ".") for a in self.allowed):
                handles.append(module.register_forward_hook(self._ann_linear))
        original = attention_impl.lasnn_attention

        def counted(module: nn.Module, query: Tensor, key: Tensor, value: Tensor, attention_mask: Tensor | None,
                    *args: Any, **kwargs: Any) -> Any:
            result = original(module, query, key, value, attention_mask, *args, **kwargs)
            if getattr(module, "lasnn_attention", None) is not None:
                self._attention(module, query, key, value, attention_mask)
            return result

        AttentionInterface.register(attention_impl.IMPLEMENTATION, counted)
        try:
            yield self
        finally:
            AttentionInterface.register(attention_impl.IMPLEMENTATION, original)
            for handle in handles:
                handle.remove()

    def _in_gated_mlp(self, name: str) -> bool:
        parent = self.model.get_submodule(name.rpartition(".")[0]) if "." in name else self.model
        return isinstance(parent, SpikingGatedMLP)
