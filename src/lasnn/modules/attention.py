"""Spiking self-attention, registered as the ``"lasnn"`` implementation of transformers' attention interface.

Per attention module: Q̂, K̂, V̂ are spike trains of three OAT sites; scores = (Q̂ K̂ᵀ) · scaling (spike product, then a
constant synaptic weight) plus the additive mask; P̂ = spiking softmax (HG exp, row sum, HG reciprocal, spike product,
HG identity coding of P); output = P̂ V̂ (spike product). No modeling file is copied: transformers calls this function
in place of eager/SDPA attention.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn as nn
from transformers import AttentionInterface
from transformers.masking_utils import AttentionMaskInterface, eager_mask
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

from ..config import LASConfig
from ..neurons import Neuron
from ..ops import spike_product_steps, spiking_softmax, spiking_softmax_spikes
from ..ops.softmax import SoftmaxNeurons
from .base import CallCounts, OpCount, Ops, SpikingModule
from .sites import SiteEncoder, make_oat
from .state import STATE_ATTR, ConversionState, Mode

IMPLEMENTATION = "lasnn"
UNSUPPORTED_KWARGS = ("softcap", "s_aux", "sinks")


class SpikingAttention(SpikingModule, nn.Module):
    """The sites and softmax neurons of one attention module, and the attention they compute on spike trains.

    Called by the registered attention function as ``neurons(query, key, value, attention_mask, scaling)``
    ([B, H, T, D] each); returns ([B, T, H, D], P̂). ``rope``: the model rotates queries and keys (counted as
    inherent work of both models).
    """

    def __init__(self, config: LASConfig, state: ConversionState, rope: bool = False) -> None:
        super().__init__()
        self.query = SiteEncoder(make_oat(config))
        self.key = SiteEncoder(make_oat(config))
        self.value = SiteEncoder(make_oat(config))
        self.softmax = SoftmaxNeurons(time_steps=config.time_steps, code=config.code)
        self._lasnn_state = state
        self.rope = rope

    def _work(self, query: torch.Tensor, key: torch.Tensor, attention_mask: torch.Tensor | None,
              scaling: float | None) -> tuple[float, int, torch.Tensor | None, torch.dtype]:
        if scaling is None:
            scaling = query.shape[-1] ** -0.5
        if attention_mask is not None and attention_mask.dim() == 4:
            attention_mask = attention_mask[:, :, :, : key.shape[-2]]
        exact = self._lasnn_state.config.exact_synapses
        work = torch.float64 if exact else torch.promote_types(query.dtype, torch.float32)
        return scaling, query.shape[1] // key.shape[1], attention_mask, work

    def equivalent(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                   attention_mask: torch.Tensor | None, scaling: float | None) -> tuple[torch.Tensor, torch.Tensor]:
        scaling, groups, attention_mask, work = self._work(query, key, attention_mask, scaling)
        q = self.query(query).to(work)
        k = _repeat_heads(self.key(key), groups, 1).to(work)
        v = _repeat_heads(self.value(value), groups, 1).to(work)
        scores = torch.matmul(q, k.transpose(-1, -2)) * scaling
        probabilities = spiking_softmax(scores, self.softmax, mask=attention_mask)
        output = torch.matmul(probabilities.to(work), v)
        return output.transpose(1, 2).contiguous().to(query.dtype), probabilities.to(query.dtype)

    def temporal(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                 attention_mask: torch.Tensor | None, scaling: float | None) -> tuple[torch.Tensor, torch.Tensor]:
        scaling, groups, attention_mask, work = self._work(query, key, attention_mask, scaling)
        q = self.query.spikes(query).to(work)
        k = _repeat_heads(self.key.spikes(key), groups, 2).to(work)
        v = _repeat_heads(self.value.spikes(value), groups, 2).to(work)
        scores = spike_product_steps(q, k.transpose(-1, -2), torch.matmul).sum(0) * scaling
        p_spikes = spiking_softmax_spikes(scores, self.softmax, mask=attention_mask)
        output = spike_product_steps(p_spikes, v, torch.matmul).sum(0)
        return output.transpose(1, 2).contiguous().to(query.dtype), p_spikes.sum(0).to(query.dtype)

    def synaptic_ops(self, args: tuple[Any, ...], kwargs: Mapping[str, Any], output: Any,
                     counts: CallCounts) -> list[OpCount]:
        """Q·Kᵀ and P·V (running-sum products), the softmax row sum and ê ⊙ r̂; inherent scaling, mask, row max
        and RoPE."""
        query, key, value, mask = args[:4]
        sm = self.softmax
        b, h, t, d = query.shape
        s, groups = key.shape[-2], h // key.shape[1]
        scores, rows = b * h * t * s, b * h * t
        n_q, n_k, n_v = (counts.spikes(site.neuron) for site in (self.query, self.key, self.value))
        n_e, n_r, n_p = counts.spikes(sm.exp), counts.spikes(sm.reciprocal), counts.spikes(sm.prob)
        inherent = Ops(macs=scores, acs=scores * (3 if mask is not None else 2))  # scaling; max, subtract (, mask)
        ops = [OpCount("Q·Kᵀ", "product", Ops(acs=n_q * s + n_k * groups * t + n_q + n_k), Ops(macs=scores * d)),
               OpCount("softmax row sum", "to_neuron", Ops(acs=n_e), Ops(acs=scores, functions=scores + rows)),
               OpCount("softmax ê ⊙ r̂", "product", Ops(acs=n_e + n_r * s + n_e + n_r), Ops(macs=scores)),
               OpCount("P·V", "product", Ops(acs=n_p * d + n_v * groups * t + n_p + n_v), Ops(macs=scores * d)),
               OpCount("scaling, mask, row max", "inherent", inherent, inherent)]
        if self.rope:
            rope = Ops(macs=2 * (query.numel() + key.numel()), acs=query.numel() + key.numel())
            ops.append(OpCount("RoPE", "inherent", rope, rope))
        return ops

    def gated_neurons(self) -> dict[Neuron, Neuron]:
        """Masked positions gate the exp neurons off: their spikes count where the prob neuron's input is non-zero."""
        return {self.softmax.exp: self.softmax.prob}


def uses_attention_interface(module: nn.Module) -> bool:
    """True for attention modules whose forward dispatches through transformers' attention interface."""
    try:
        source = inspect.getsource(type(module).forward)
    except (OSError, TypeError):
        return False
    return "ALL_ATTENTION_FUNCTIONS" in source


def original_attention(module: nn.Module, implementation: str | None) -> Callable[..., Any]:
    """The attention function the model used before conversion."""
    if implementation in (None, "eager"):
        return sys.modules[type(module).__module__].eager_attention_forward
    return ALL_ATTENTION_FUNCTIONS.get_interface(implementation, None)


def _repeat_heads(x: torch.Tensor, groups: int, head_dim: int) -> torch.Tensor:
    return x if groups == 1 else x.repeat_interleave(groups, dim=head_dim)


def lasnn_attention(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    **kwargs: Any,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention on spike trains; signature of transformers' attention interface. Returns ([B, T, H, D], P̂)."""
    state = getattr(module, STATE_ATTR)
    neurons: SpikingAttention | None = getattr(module, "lasnn_attention", None)
    if neurons is None or state.mode is Mode.ANN:
        fn = original_attention(module, state.original_attn_implementation)
        return fn(module, query, key, value, attention_mask, scaling=scaling, dropout=dropout, **kwargs)
    for name in UNSUPPORTED_KWARGS:
        if kwargs.get(name) is not None:
            raise NotImplementedError(f"lasnn attention does not support {name!r} (module {type(module).__name__})")
    return neurons(query, key, value, attention_mask, scaling)


def register() -> None:
    """Register the spiking attention and its mask builder (eager-style additive masks) with transformers."""
    AttentionInterface.register(IMPLEMENTATION, lasnn_attention)
    AttentionMaskInterface.register(IMPLEMENTATION, eager_mask)
