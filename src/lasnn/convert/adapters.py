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
from collections.abc import Callable

import torch
import torch.nn as nn

from ..neurons import HGNeuron
from ..ops import spike_product, spike_product_steps, spiking_activation
from .activations import IDENTITY, activation_function
from .devices import execution_device
from .probing import probe_agrees
from .sites import SiteEncoder
from .state import ConversionState, Mode

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


class SpikingGatedMLP:
    """down(HG_act(gate(x)) ⊙ OAT(up(x))) with the product done on spike trains."""

    _lasnn_state: ConversionState
    lasnn_up: SiteEncoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mode = self._lasnn_state.mode
        if mode is Mode.ANN:
            return super().forward(x)
        gate, up = self.gate_proj(x), self.up_proj(x)
        activation: HGNeuron = self.act_fn.lasnn_neuron
        work = torch.float64 if self._lasnn_state.config.exact_synapses else torch.float32
        if mode is Mode.TEMPORAL:
            steps = spike_product_steps(activation.spikes(gate).to(work), self.lasnn_up.spikes(up).to(work))
            product = steps.sum(0).to(x.dtype)
        else:
            product = spike_product(activation(gate).to(work), self.lasnn_up(up).to(work)).to(x.dtype)
        return self.down_proj(product)


class SpikingTanhHead:
    """out_proj(HG_tanh(dense(h[:, 0])))."""

    _lasnn_state: ConversionState
    lasnn_tanh: HGNeuron

    def forward(self, features: torch.Tensor, **kwargs: object) -> torch.Tensor:
        mode = self._lasnn_state.mode
        if mode is Mode.ANN:
            return super().forward(features, **kwargs)
        hidden = self.dense(features[:, 0, :])
        return self.out_proj(spiking_activation(hidden, self.lasnn_tanh, temporal=mode is Mode.TEMPORAL))


class SpikingGeluLMHead:
    """decoder(layer_norm(HG_gelu(dense(h))))."""

    _lasnn_state: ConversionState
    lasnn_gelu: HGNeuron

    def forward(self, features: torch.Tensor, **kwargs: object) -> torch.Tensor:
        mode = self._lasnn_state.mode
        if mode is Mode.ANN:
            return super().forward(features, **kwargs)
        hidden = spiking_activation(self.dense(features), self.lasnn_gelu, temporal=mode is Mode.TEMPORAL)
        return self.decoder(self.layer_norm(hidden))
