"""The MT membrane dynamics every K-bit neuron runs in temporal mode."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["fire"]


def fire(v: Tensor, time_steps: int) -> tuple[list[Tensor], Tensor]:
    """MT dynamics on a membrane v in units of its smallest threshold: at step t fire if v >= 2^(K-t), subtract it.
    Returns the K spikes (bool, most significant first) and their code sum_t z_t 2^(K-t) (float64)."""
    spikes, code = [], torch.zeros_like(v)
    for t in range(1, time_steps + 1):
        weight = 2.0 ** (time_steps - t)
        z = v >= weight
        v = v - z * weight
        code = code + z * weight
        spikes.append(z)
    return spikes, code
