"""Spiking LayerNorm and RMSNorm modules, found by type and by structure and verified numerically."""

from __future__ import annotations

import torch
import torch.nn as nn

from ..ops import spiking_layer_norm, spiking_rms_norm
from ..ops.norms import NormNeurons
from .devices import execution_device
from .probing import probe_agrees
from .state import ConversionState, Mode

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


class SpikingLayerNorm:
    """LayerNorm: x̂ = OAT(x); c = x̂ - mean(x̂); y = OAT(c) ⊙ HG_rsqrt(mean(HG_sq(c)) + eps); weight * y + bias."""

    _lasnn_state: ConversionState
    lasnn_norm: NormNeurons

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mode = self._lasnn_state.mode
        if mode is Mode.ANN:
            return super().forward(x)
        return spiking_layer_norm(
            x, self.normalized_shape, self.weight, self.bias, self.eps, self.lasnn_norm, temporal=mode is Mode.TEMPORAL
        )


class SpikingRMSNorm:
    """RMSNorm: y = OAT(x) ⊙ HG_rsqrt(mean(HG_sq(x)) + eps); weight * y (or (1 + weight) * y)."""

    _lasnn_state: ConversionState
    lasnn_norm: NormNeurons
    _lasnn_eps: float
    _lasnn_unit_offset: bool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mode = self._lasnn_state.mode
        if mode is Mode.ANN:
            return super().forward(x)
        return spiking_rms_norm(
            x,
            self.weight,
            self._lasnn_eps,
            self.lasnn_norm,
            unit_offset=self._lasnn_unit_offset,
            temporal=mode is Mode.TEMPORAL,
        )
