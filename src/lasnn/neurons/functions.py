"""The functions an HG neuron can emit: float reference, default declared range, domain and monotone pieces."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["HGFunction", "HG_FUNCTIONS", "get_function"]


@dataclass(frozen=True)
class HGFunction:
    """A scalar function f with what the HG construction needs.

    fn: torch implementation (any float dtype; in float64 it is the reference). default_range: declared input
    range [lo, hi]. domain_lo / domain_lo_open: lowest admissible lo (strict for 1/x, 1/sqrt x). extrema and zeros:
    points splitting f into sign-definite monotone pieces. nonzero: f(x) != 0 on the whole domain (any encoded 0
    is an underflow). clamp_below: inputs below lo are clamped (exp: they underflow instead).
    width_exp: log2 of the widest input segment of the HG neuron (absolute input resolution where f's error is
    absolute in x), None for purely relative segments. linear: f is x or 0 on each sign side (identity, relu), so
    the neuron needs no sub-neurons, only its output coder.
    """

    name: str
    fn: Callable[[Tensor], Tensor]
    default_range: tuple[float, float]
    domain_lo: float = -math.inf
    domain_lo_open: bool = False
    extrema: tuple[float, ...] = ()
    zeros: tuple[float, ...] = ()
    nonzero: bool = False
    clamp_below: bool = True
    width_exp: int | None = None
    linear: bool = False

    def reference(self, x: Tensor) -> Tensor:
        """f(x) in float64."""
        return self.fn(x.double())

    def pieces(self, lo: float, hi: float) -> list[tuple[float, float]]:
        """Sign-definite monotone pieces [a, b] of f on [lo, hi]."""
        cuts = sorted({lo, hi, *(p for p in (*self.extrema, *self.zeros) if lo < p < hi)})
        return list(zip(cuts[:-1], cuts[1:]))

    def check_range(self, lo: float, hi: float) -> None:
        """ValueError unless lo < hi are finite and lo lies in the domain."""
        if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
            raise ValueError(f"{self.name}: need finite lo < hi, got lo={lo!r}, hi={hi!r}")
        if lo < self.domain_lo or (self.domain_lo_open and lo == self.domain_lo):
            bound = f"> {self.domain_lo}" if self.domain_lo_open else f">= {self.domain_lo}"
            raise ValueError(f"{self.name}: lo must be {bound} (the function's domain), got lo={lo!r}")


def _gelu(x: Tensor) -> Tensor:
    """x Phi(x) = x erfc(-x / sqrt 2) / 2 (no cancellation in the negative tail, unlike 1 + erf)."""
    return torch.special.erfc(x * -math.sqrt(0.5)).mul_(x).mul_(0.5)


def _gelu_tanh(x: Tensor) -> Tensor:
    """x (1 + tanh u) / 2 = x sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3) (no cancellation in the tail)."""
    u = torch.addcmul(x, x, x.square(), value=0.044715).mul_(2.0 * math.sqrt(2.0 / math.pi))
    return x * torch.sigmoid(u)


def _identity(x: Tensor) -> Tensor:
    return x


_SIGMOID_RANGE = (-30.0, 30.0)
HG_FUNCTIONS: dict[str, HGFunction] = {f.name: f for f in (
    HGFunction("exp", torch.exp, (-88.0, 0.0), nonzero=True, clamp_below=False, width_exp=-7),
    HGFunction("reciprocal", torch.reciprocal, (1e-3, 1e5), domain_lo=0.0, domain_lo_open=True, nonzero=True),
    HGFunction("rsqrt", torch.rsqrt, (1e-6, 1e6), domain_lo=0.0, domain_lo_open=True, nonzero=True),
    HGFunction("sqrt", torch.sqrt, (1e-6, 1e6), domain_lo=0.0, zeros=(0.0,)),
    HGFunction("square", torch.square, (-1e3, 1e3), extrema=(0.0,), zeros=(0.0,)),
    HGFunction("gelu", _gelu, _SIGMOID_RANGE, extrema=(-0.7517915246935645,), zeros=(0.0,), width_exp=-6),
    HGFunction("gelu_tanh", _gelu_tanh, _SIGMOID_RANGE, extrema=(-0.7524614220710162,), zeros=(0.0,), width_exp=-6),
    HGFunction("silu", F.silu, _SIGMOID_RANGE, extrema=(-1.278464542761074,), zeros=(0.0,), width_exp=-6),
    HGFunction("sigmoid", torch.sigmoid, _SIGMOID_RANGE, nonzero=True, width_exp=-6),
    HGFunction("tanh", torch.tanh, _SIGMOID_RANGE, zeros=(0.0,), width_exp=-6),
    HGFunction("relu", torch.relu, (-1e4, 1e4), zeros=(0.0,), linear=True),
    HGFunction("identity", _identity, (-1e4, 1e4), zeros=(0.0,), linear=True),
)}


def get_function(name: str) -> HGFunction:
    """The table entry of `name` (ValueError naming the allowed names otherwise)."""
    try:
        return HG_FUNCTIONS[name]
    except (KeyError, TypeError):
        raise ValueError(f"function must be one of {tuple(HG_FUNCTIONS)}, got {name!r}") from None
