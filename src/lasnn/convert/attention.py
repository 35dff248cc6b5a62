"""Spiking self-attention, registered as the ``"lasnn"`` implementation of transformers' attention interface.

Per attention module: Q̂, K̂, V̂ are spike trains of three OAT sites; scores = (Q̂ K̂ᵀ) · scaling (spike product, then a
constant synaptic weight) plus the additive mask; P̂ = spiking softmax (HG exp, row sum, HG reciprocal, spike product,
HG identity coding of P); output = P̂ V̂ (spike product). No modeling file is copied: transformers calls this function
in place of eager/SDPA attention.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any, Callable

import torch
import torch.nn as nn
from transformers import AttentionInterface
from transformers.masking_utils import AttentionMaskInterface, eager_mask
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

from ..ops import spike_product_steps, spiking_softmax, spiking_softmax_spikes
from ..ops.softmax import SoftmaxNeurons
from .config import LASConfig
from .sites import SiteEncoder, make_oat
from .state import STATE_ATTR, Mode

IMPLEMENTATION = "lasnn"
UNSUPPORTED_KWARGS = ("softcap", "s_aux", "sinks")


class AttentionNeurons(nn.Module):
    """The sites and softmax neurons of one attention module."""

    def __init__(self, config: LASConfig) -> None:
        super().__init__()
        self.query = SiteEncoder(make_oat(config))
        self.key = SiteEncoder(make_oat(config))
        self.value = SiteEncoder(make_oat(config))
        self.softmax = SoftmaxNeurons(time_steps=config.time_steps, code=config.code)


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
    neurons: AttentionNeurons | None = getattr(module, "lasnn_attention", None)
    if neurons is None or state.mode is Mode.ANN:
        fn = original_attention(module, state.original_attn_implementation)
        return fn(module, query, key, value, attention_mask, scaling=scaling, dropout=dropout, **kwargs)
    for name in UNSUPPORTED_KWARGS:
        if kwargs.get(name) is not None:
            raise NotImplementedError(f"lasnn attention does not support {name!r} (module {type(module).__name__})")
    return _spiking_attention(neurons, state.mode, query, key, value, attention_mask, scaling,
                              state.config.exact_synapses)


def _spiking_attention(
    neurons: AttentionNeurons,
    mode: Mode,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None,
    exact: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    if scaling is None:
        scaling = query.shape[-1] ** -0.5
    groups = query.shape[1] // key.shape[1]
    if attention_mask is not None and attention_mask.dim() == 4:
        attention_mask = attention_mask[:, :, :, : key.shape[-2]]
    work = torch.float64 if exact else torch.promote_types(query.dtype, torch.float32)
    if mode is Mode.TEMPORAL:
        q = neurons.query.spikes(query).to(work)
        k = _repeat_heads(neurons.key.spikes(key), groups, 2).to(work)
        v = _repeat_heads(neurons.value.spikes(value), groups, 2).to(work)
        scores = spike_product_steps(q, k.transpose(-1, -2), torch.matmul).sum(0) * scaling
        p_spikes = spiking_softmax_spikes(scores, neurons.softmax, mask=attention_mask)
        output = spike_product_steps(p_spikes, v, torch.matmul).sum(0)
        probabilities = p_spikes.sum(0)
    else:
        q = neurons.query(query).to(work)
        k = _repeat_heads(neurons.key(key), groups, 1).to(work)
        v = _repeat_heads(neurons.value(value), groups, 1).to(work)
        scores = torch.matmul(q, k.transpose(-1, -2)) * scaling
        probabilities = spiking_softmax(scores, neurons.softmax, mask=attention_mask)
        output = torch.matmul(probabilities.to(work), v)
    return output.transpose(1, 2).contiguous().to(query.dtype), probabilities.to(query.dtype)


def register() -> None:
    """Register the spiking attention and its mask builder (eager-style additive masks) with transformers."""
    AttentionInterface.register(IMPLEMENTATION, lasnn_attention)
    AttentionMaskInterface.register(IMPLEMENTATION, eager_mask)
