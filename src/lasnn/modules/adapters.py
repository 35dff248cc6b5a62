"""Per-family adapters, matched by structure and verified numerically, for non-linear ops done outside a module.

- Gated MLP (LLaMA, Qwen2, Mistral, ...): down(act(gate(x)) ⊙ up(x)); the product of two dynamic tensors becomes
  the spike product of the HG activation's spikes and the up projection's OAT spikes.
- Tanh classification head (RoBERTa-style): out_proj(tanh(dense(x[:, 0]))) with ``torch.tanh`` called inline; the
  tanh becomes an HG neuron.
- GELU LM head (RoBERTa-style): decoder(layer_norm(gelu(dense(x)))) with a module-level ``gelu`` called inline; the
  GELU becomes an HG neuron.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn as nn

from ..neurons import HGNeuron
from ..ops import spike_product, spike_product_steps, spiking_activation
from .activations import IDENTITY, activation_function, neuron_to_next
from .base import CallCounts, FlaggedSpikingModule, OpCount, Ops, SpikingModule
from .devices import execution_device
from .probing import probe_agrees
from .sites import SiteEncoder

_LINEAR_TYPES: tuple[type, ...] = (nn.Linear,)


def _source(module: nn.Module) -> str:
    try:
        return inspect.getsource(type(module).forward)
    except (OSError, TypeError):
        return ""


def _computes(module: nn.Module, first: nn.Linear, structure: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """True if ``module(x) == structure(x)`` on a seeded random probe x of shape [2, 3, first.in_features]."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, first.in_features, generator=generator).to(execution_device(first, first.weight), first.weight.dtype)
    with torch.no_grad():
        return probe_agrees(module(x), structure(x), first.weight.dtype)


def is_gated_mlp(module: nn.Module) -> bool:
    """True if ``module(x) == down_proj(act_fn(gate_proj(x)) * up_proj(x))``."""
    parts = [getattr(module, name, None) for name in ("gate_proj", "up_proj", "down_proj")]
    act_fn = getattr(module, "act_fn", None)
    if not all(isinstance(part, _LINEAR_TYPES) for part in parts) or not isinstance(act_fn, nn.Module):
        return False
    if activation_function(act_fn) in (None, IDENTITY):
        return False
    gate, up, down = parts
    return _computes(module, gate, lambda x: down(module.act_fn(gate(x)) * up(x)))


def is_tanh_head(module: nn.Module) -> bool:
    """True if ``module(h) == out_proj(tanh(dense(h[:, 0])))`` with the tanh applied inline."""
    dense, out_proj = getattr(module, "dense", None), getattr(module, "out_proj", None)
    if not isinstance(dense, _LINEAR_TYPES) or not isinstance(out_proj, _LINEAR_TYPES) or "torch.tanh(" not in _source(module):
        return False
    return _computes(module, dense, lambda x: out_proj(torch.tanh(dense(x[:, 0, :]))))


def is_gelu_lm_head(module: nn.Module) -> bool:
    """True if ``module(h) == decoder(layer_norm(gelu(dense(h))))`` with the GELU applied inline."""
    dense, norm, decoder = (getattr(module, name, None) for name in ("dense", "layer_norm", "decoder"))
    if not isinstance(dense, _LINEAR_TYPES) or not isinstance(norm, nn.LayerNorm) or not isinstance(decoder, _LINEAR_TYPES):
        return False
    if "gelu(" not in _source(module):
        return False
    return _computes(module, dense, lambda x: decoder(norm(torch.nn.functional.gelu(dense(x)))))


class SpikingGatedMLP(SpikingModule):
    """down(HG_act(gate(x)) ⊙ OAT(up(x))) with the product done on spike trains."""

    lasnn_up: SiteEncoder

    def _inputs(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, HGNeuron, torch.dtype]:
        work = torch.float64 if self._lasnn_state.config.exact_synapses else torch.float32
        return self.gate_proj(x), self.up_proj(x), self.act_fn.lasnn_neuron, work

    def equivalent(self, x: torch.Tensor) -> torch.Tensor:
        gate, up, activation, work = self._inputs(x)
        return self.down_proj(spike_product(activation(gate).to(work), self.lasnn_up(up).to(work)).to(x.dtype))

    def temporal(self, x: torch.Tensor) -> torch.Tensor:
        gate, up, activation, work = self._inputs(x)
        steps = spike_product_steps(activation.spikes(gate).to(work), self.lasnn_up.spikes(up).to(work))
        return self.down_proj(steps.sum(0).to(x.dtype))

    def synaptic_ops(self, args: tuple[Any, ...], kwargs: Mapping[str, Any], output: Any,
                     counts: CallCounts) -> list[OpCount]:
        """Element-wise running-sum product: 2 (n_act + n_up) ACs; the ANN's act and multiply per element."""
        n_act, n_up = counts.spikes(self.act_fn.lasnn_neuron), counts.spikes(self.lasnn_up.neuron)
        elements = counts.elements(self.lasnn_up.neuron)
        return [OpCount("act(gate) ⊙ up", "product", Ops(acs=2 * (n_act + n_up)),
                        Ops(macs=elements, functions=elements))]


class SpikingTanhHead(FlaggedSpikingModule):
    """out_proj(HG_tanh(dense(h[:, 0])))."""

    lasnn_tanh: HGNeuron

    def spiking(self, features: torch.Tensor, temporal: bool, **kwargs: object) -> torch.Tensor:
        hidden = self.dense(features[:, 0, :])
        return self.out_proj(spiking_activation(hidden, self.lasnn_tanh, temporal=temporal))

    def synaptic_ops(self, args: tuple[Any, ...], kwargs: Mapping[str, Any], output: Any,
                     counts: CallCounts) -> list[OpCount]:
        return [neuron_to_next(self.lasnn_tanh, counts)]


class SpikingGeluLMHead(FlaggedSpikingModule):
    """decoder(layer_norm(HG_gelu(dense(h))))."""

    lasnn_gelu: HGNeuron

    def spiking(self, features: torch.Tensor, temporal: bool, **kwargs: object) -> torch.Tensor:
        hidden = spiking_activation(self.dense(features), self.lasnn_gelu, temporal=temporal)
        return self.decoder(self.layer_norm(hidden))

    def synaptic_ops(self, args: tuple[Any, ...], kwargs: Mapping[str, Any], output: Any,
                     counts: CallCounts) -> list[OpCount]:
        return [neuron_to_next(self.lasnn_gelu, counts)]
