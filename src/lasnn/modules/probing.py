"""Numerical probes that confirm a module computes the formula lasnn will replace it with."""

from __future__ import annotations

import torch


def probe_agrees(got: object, expected: torch.Tensor, dtype: torch.dtype) -> bool:
    """``got`` equals ``expected`` to the precision of ``dtype`` (relative 1e-4 in float32, a few ulps below it)."""
    if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
        return False
    rtol = max(1e-4, 8 * torch.finfo(dtype).eps)
    return torch.allclose(got.float(), expected.float(), rtol=rtol, atol=rtol * 0.1)
