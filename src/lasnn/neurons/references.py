"""Independent float64 formulas for every HG function: what the tests and benchmarks measure the neurons against.

Written apart from the neurons' own implementations (``functions.py``), so a slip there is not mirrored here, in
forms without cancellation in the tails: GELU as x erfc(-x / sqrt 2) / 2, its tanh form as x / (1 + e^(-2u)).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["REFERENCES", "reference"]

_TWO_SQRT_2_OVER_PI = 2 * math.sqrt(2 / math.pi)

REFERENCES: dict[str, Callable[[Tensor], Tensor]] = {
    "exp": torch.exp,
    "reciprocal": lambda x: 1 / x,
    "rsqrt": lambda x: 1 / torch.sqrt(x),
    "sqrt": torch.sqrt,
    "square": lambda x: x * x,
    "gelu": lambda x: 0.5 * x * torch.special.erfc(-x / math.sqrt(2)),
    "gelu_tanh": lambda x: x / (1 + torch.exp(-_TWO_SQRT_2_OVER_PI * (x + 0.044715 * x**3))),
    "silu": lambda x: x / (1 + torch.exp(-x)),
    "sigmoid": lambda x: 1 / (1 + torch.exp(-x)),
    "tanh": torch.tanh,
    "relu": lambda x: x.clamp_min(0),
    "identity": lambda x: x,
}


def reference(name: str, x: Tensor) -> Tensor:
    """f(x) in float64 for the HG function ``name``."""
    return REFERENCES[name](x.double())
