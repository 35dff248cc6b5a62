"""Helpers shared by the operators: working dtype and integration of a train over its time axis."""

from __future__ import annotations

import torch
from torch import Tensor

#: Every operator computes in float32 (inputs may be float16 / bfloat16).
WORK_DTYPE = torch.float32


def integrate(train: Tensor) -> Tensor:
    """What a downstream neuron integrates from a train ``[K, ...]``: ``sum_t train[t]``.

    Accumulated in float64 (exact for the dyadic spike values of K-bit codes) and rounded once to
    float32, so that temporal and equivalent mode feed the next neuron the same float32 value.
    """
    return train.sum(0, dtype=torch.float64).to(WORK_DTYPE)
