"""Spiking LayerNorm and RMSNorm modules, found by type and by structure and verified numerically."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn as nn

from ..ops import spiking_layer_norm, spiking_rms_norm
from ..ops.norms import NormNeurons
from .base import CallCounts, FlaggedSpikingModule, OpCount, Ops
from .devices import execution_device
from .probing import probe_agrees

_PROBE_ROWS = 4


def _probe_input(width: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.randn(_PROBE_ROWS, width, generator=generator) * 3.0 + 0.5


def _matches(module: nn.Module, x: torch.Tensor, expected: torch.Tensor) -> bool:
    dtype = module.weight.dtype if module.weight is not None else x.dtype
    with torch.no_grad():
        got = module(x.to(dtype))
    return probe_agrees(got, expected, dtype)


def layer_norm_eps(module: nn.Module) -> float | None:
    """``eps`` if ``module`` computes ``weight * (x - mean) / sqrt(var + eps) + bias`` over its last axis."""
    if not isinstance(module, nn.LayerNorm) or len(module.normalized_shape) != 1:
        return None
    x = _probe_input(module.normalized_shape[0]).to("cpu" if module.weight is None else execution_device(module, module.weight))
    weight = None if module.weight is None else module.weight.detach().float()
    bias = None if module.bias is None else module.bias.detach().float()
    expected = torch.nn.functional.layer_norm(x, module.normalized_shape, weight, bias, module.eps)
    return float(module.eps) if _matches(module, x, expected) else None


def rms_norm_variant(module: nn.Module) -> tuple[float, bool] | None:
    """``(eps, unit_offset)`` if ``module`` computes ``w * x / sqrt(mean(x^2) + eps)`` (or ``(1 + w) * ...``)."""
    weight = getattr(module, "weight", None)
    if not type(module).__name__.lower().endswith("rmsnorm") or not isinstance(weight, torch.Tensor) or weight.dim() != 1:
        return None
    eps = getattr(module, "variance_epsilon", getattr(module, "eps", None))
    if eps is None:
        eps = torch.finfo(weight.dtype).eps
    x = _probe_input(weight.shape[0]).to(execution_device(module, weight))
    normalized = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + float(eps))
    for unit_offset in (False, True):
        scale = weight.detach().float() + (1.0 if unit_offset else 0.0)
        if _matches(module, x, scale * normalized):
            return float(eps), unit_offset
    return None


class _SpikingNorm(FlaggedSpikingModule):
    """What LayerNorm and RMSNorm share: the neurons of the norm and their accounting."""

    lasnn_norm: NormNeurons
    weight: torch.Tensor | None

    def synaptic_ops(self, args: tuple[Any, ...], kwargs: Mapping[str, Any], output: Any,
                     counts: CallCounts) -> list[OpCount]:
        """Sum of squares (one AC per spike), x ⊙ rsqrt (running-sum product), LayerNorm's mean removal, and the
        inherent affine gamma / beta, eps and 1/n of both models."""
        x, neurons = args[0], self.lasnn_norm
        width = x.shape[-1]
        rows = x.numel() // width
        n_sq, n_r = counts.spikes(neurons.square), counts.spikes(neurons.rsqrt)
        layer_norm = neurons.centered is not None
        n_x = counts.spikes(neurons.centered if layer_norm else neurons.input)
        ops = [OpCount("sum of squares", "to_neuron", Ops(acs=n_sq), Ops(macs=x.numel(), functions=rows)),
               OpCount("x ⊙ rsqrt", "product", Ops(acs=n_x + n_r * width + n_x + n_r), Ops(macs=x.numel()))]
        inherent_macs = rows + (x.numel() if self.weight is not None else 0)  # 1/n per row, gamma
        inherent_acs = rows + (x.numel() if getattr(self, "bias", None) is not None else 0)  # eps, beta
        if layer_norm:
            n_in = counts.spikes(neurons.input)
            ops.append(OpCount("mean removal", "to_neuron", Ops(acs=2 * n_in + x.numel()),
                               Ops(acs=2 * x.numel(), macs=rows)))
        inherent = Ops(macs=inherent_macs, acs=inherent_acs)
        ops.append(OpCount("affine, eps, 1/n", "inherent", inherent, inherent))
        return ops


class SpikingLayerNorm(_SpikingNorm):
    """LayerNorm: x̂ = OAT(x); c = x̂ - mean(x̂); y = OAT(c) ⊙ HG_rsqrt(mean(HG_sq(c)) + eps); weight * y + bias."""

    def spiking(self, x: torch.Tensor, temporal: bool) -> torch.Tensor:
        return spiking_layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps, self.lasnn_norm,
                                  temporal=temporal)


class SpikingRMSNorm(_SpikingNorm):
    """RMSNorm: y = OAT(x) ⊙ HG_rsqrt(mean(HG_sq(x)) + eps); weight * y (or (1 + weight) * y)."""

    _lasnn_eps: float
    _lasnn_unit_offset: bool

    def spiking(self, x: torch.Tensor, temporal: bool) -> torch.Tensor:
        return spiking_rms_norm(x, self.weight, self._lasnn_eps, self.lasnn_norm, unit_offset=self._lasnn_unit_offset,
                                temporal=temporal)
