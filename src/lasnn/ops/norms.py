"""Spike-equivalent LayerNorm and RMSNorm.

LayerNorm:  x̂ = input(x);  c = x̂ - mean(x̂);  v = mean(HG_sq(c)) + eps;  y = centered(c) ⊙ HG_rsqrt(v);
            out = weight * y + bias
RMSNorm:    x̂ = input(x);  v = mean(HG_sq(x)) + eps;  y = x̂ ⊙ HG_rsqrt(v);  out = w * y,
            w = 1 + weight with ``unit_offset`` (Gemma style), else weight

Means (and eps) are linear synaptic work, ⊙ is a spike product, weight/bias are constant synaptic
weights. Linear stages accumulate in float64 and round once to float32, so both modes feed every
neuron the same float32 input.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..neurons import HGNeuron, OATNeuron
from ._time import WORK_DTYPE, integrate
from .product import spike_product, spike_product_steps


class NormNeurons(nn.Module):
    """The neurons of one norm site: ``input`` (OAT), ``centered`` (OAT, LayerNorm only, else None),
    ``square`` (HG x²) and ``rsqrt`` (HG 1/√x). The OAT neurons need calibration (observe -> freeze)."""

    centered: OATNeuron | None

    def __init__(self, centered: bool, time_steps: int = 16, code: str = "binary") -> None:
        super().__init__()
        self.input = OATNeuron(time_steps=time_steps, code=code)
        self.centered = OATNeuron(time_steps=time_steps, code=code) if centered else None
        self.square = HGNeuron.for_function("square", time_steps=time_steps, code=code)
        self.rsqrt = HGNeuron.for_function("rsqrt", time_steps=time_steps, code=code)

    @classmethod
    def layer_norm(cls, time_steps: int = 16, code: str = "binary") -> NormNeurons:
        """Neurons for :func:`spiking_layer_norm`."""
        return cls(centered=True, time_steps=time_steps, code=code)

    @classmethod
    def rms_norm(cls, time_steps: int = 16, code: str = "binary") -> NormNeurons:
        """Neurons for :func:`spiking_rms_norm`."""
        return cls(centered=False, time_steps=time_steps, code=code)


def _mean(x: Tensor, ndim: int) -> Tensor:
    """Mean over the last ``ndim`` axes, accumulated in float64 (keepdim)."""
    return x.to(torch.float64).mean(tuple(range(-ndim, 0)), keepdim=True)


def _rsqrt_input(mean_square: Tensor, eps: float) -> Tensor:
    """v = mean(q) + eps (eps is a constant bias current), rounded once to float32."""
    return (mean_square + eps).to(WORK_DTYPE)


def _affine(y: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
    """Constant synaptic weights: ``weight * y + bias`` (either may be None)."""
    if weight is not None:
        y = y * weight.to(WORK_DTYPE)
    if bias is not None:
        y = y + bias.to(WORK_DTYPE)
    return y


def spiking_layer_norm(
    x: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None,
    bias: Tensor | None,
    eps: float,
    neurons: NormNeurons,
    temporal: bool = False,
) -> Tensor:
    """LayerNorm over the trailing ``normalized_shape`` axes (math in the module docstring), in ``x.dtype``.

    ``temporal=True`` runs on spike trains (per-step mean removal, step-wise spike product) and returns
    the integrated output. With every neuron observing this is the float formula of ``F.layer_norm``.
    """
    if neurons.centered is None:
        raise ValueError("spiking_layer_norm needs NormNeurons.layer_norm() neurons (these have no `centered`)")
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    ndim = len(shape)
    if tuple(x.shape[x.dim() - ndim:]) != shape:
        raise ValueError(f"normalized_shape {shape} does not match the trailing axes of x {tuple(x.shape)}")
    xf = x.to(WORK_DTYPE)
    if temporal:
        x_spikes = neurons.input.spikes(xf).to(torch.float64)
        c = integrate(x_spikes - _mean(x_spikes, ndim))
        r_spikes = neurons.rsqrt.spikes(_rsqrt_input(_mean(neurons.square.spikes(c), ndim).sum(0), eps))
        y = integrate(spike_product_steps(neurons.centered.spikes(c).to(torch.float64), r_spikes.to(torch.float64)))
    else:
        x_hat = neurons.input(xf)
        c = (x_hat - _mean(x_hat, ndim)).to(WORK_DTYPE)
        r_hat = neurons.rsqrt(_rsqrt_input(_mean(neurons.square(c), ndim), eps))
        y = spike_product(neurons.centered(c), r_hat)
    return _affine(y, weight, bias).to(x.dtype)


def spiking_rms_norm(
    x: Tensor,
    weight: Tensor | None,
    eps: float,
    neurons: NormNeurons,
    unit_offset: bool = False,
    temporal: bool = False,
) -> Tensor:
    """RMSNorm over the last axis (math in the module docstring), in ``x.dtype``.

    ``unit_offset=True`` scales by ``1 + weight`` (Gemma). ``temporal=True`` runs on spike trains and
    returns the integrated output. With every neuron observing this is the float RMSNorm formula.
    """
    xf = x.to(WORK_DTYPE)
    if temporal:
        r_spikes = neurons.rsqrt.spikes(_rsqrt_input(_mean(neurons.square.spikes(xf), 1).sum(0), eps))
        y = integrate(spike_product_steps(neurons.input.spikes(xf).to(torch.float64), r_spikes.to(torch.float64)))
    else:
        r_hat = neurons.rsqrt(_rsqrt_input(_mean(neurons.square(xf), 1), eps))
        y = spike_product(neurons.input(xf), r_hat)
    if weight is not None and unit_offset:
        weight = 1.0 + weight.to(WORK_DTYPE)
    return _affine(y, weight, None).to(x.dtype)
