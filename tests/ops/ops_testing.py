"""Shared helpers of the operator tests (tests/ops)."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from lasnn.neurons import Neuron, OATNeuron

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")),
]


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)




def set_observing(module: nn.Module, flag: bool) -> None:
    for m in module.modules():
        if isinstance(m, Neuron):
            m.observing = flag


def oat_for(x: Tensor, time_steps: int = 16) -> OATNeuron:
    """An OAT neuron calibrated on x (default rule)."""
    return OATNeuron.from_tensor(x, time_steps=time_steps)


def row_relative_error(y: Tensor, ref: Tensor) -> Tensor:
    """max |y - ref| / rms(ref) per row (last axis), in float64."""
    ref = ref.double()
    return (y.double() - ref).abs().amax(-1) / ref.pow(2).mean(-1).sqrt()


def outlier_rows(rows: int, width: int, seed: int, n_outliers: int = 4, ratio: float = 1000.0) -> Tensor:
    """Gaussian rows holding `n_outliers` fixed channels at +-`ratio` x the median magnitude (LLM-style)."""
    g = generator(seed)
    x = torch.randn(rows, width, generator=g)
    channels = torch.randperm(width, generator=g)[:n_outliers]
    signs = torch.randint(0, 2, (rows, n_outliers), generator=g) * 2 - 1
    jitter = 1 + 0.1 * torch.rand(rows, n_outliers, generator=g)
    x[:, channels] = ratio * x.abs().median() * signs * jitter
    return x


def oat_step(neuron: OATNeuron, value: Tensor) -> Tensor:
    """Grid step of the OAT branch that `value` is routed to (the outlier one near the gate, to be safe)."""
    k = neuron.time_steps
    near_gate = value.abs() >= neuron.theta_nor.double() * (1 - 2.0**-10)
    return torch.where(near_gate, neuron.theta_out.double(), neuron.theta_nor.double()) * 2.0**-k
