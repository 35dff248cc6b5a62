"""Integer-code math: K-bit fixed-point and floating codes, bit planes, signed-digit planes, popcount.

Fixed point (MT/OAT): c = R(|x| / s), s = tau * 2^-K, R(u) = floor(u + 1/2) ("nearest", half up) or floor(u).
Floating (HG): |y| rounded to K significant bits (c in [2^(K-1), 2^K) on the grid 2^(e-K) of its octave e,
2^(e-1) <= |y| < 2^e); below the lowest octave e_min the grid 2^(e_min-K) is kept (fixed point).

Spike codes of an integer code c: "binary" spends one spike per set bit of c over K steps; "naf" spends one spike per
non-zero digit of the non-adjacent form of c (digits in {-1, 0, 1}, no two adjacent non-zero), over K + 1 steps
(the form of a K-bit code can carry into position K). Both decode to c; the NAF has the fewest non-zero digits of
any signed-digit form, about K / 3 on average against K / 2.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["CODES", "popcount", "bit_planes", "naf_digits", "code_steps", "step_numbers", "digit_planes", "digit_count",
           "fixed_code", "round_significand", "float_code", "round_up_significand"]

#: The spike codes a K-bit neuron can emit (see the module docstring).
CODES = ("binary", "naf")

_M1, _M2, _M4 = 0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F


def popcount(c: Tensor) -> Tensor:
    """Number of set bits of non-negative integer codes (< 2^63), as int32 (SWAR bit tricks, any device)."""
    c = c.to(torch.int64)
    c = c - ((c >> 1) & _M1)
    c = (c & _M2) + ((c >> 2) & _M2)
    c = (c + (c >> 4)) & _M4
    c = c + (c >> 8)
    c = c + (c >> 16)
    c = c + (c >> 32)
    return (c & 0x7F).to(torch.int32)


def bit_planes(c: Tensor, time_steps: int) -> Tensor:
    """Bits of the K-bit codes c, MSB first: out[t-1] = bit_{K-t}(c), shape [K, *c.shape], int64."""
    shifts = torch.arange(time_steps - 1, -1, -1, device=c.device).view(-1, *([1] * c.dim()))
    return (c.unsqueeze(0) >> shifts) & 1


def naf_digits(c: Tensor) -> tuple[Tensor, Tensor]:
    """(P, N) with P - N = c, P & N = 0 and no two adjacent set bits in P | N: the positive and negative digits of
    the non-adjacent form of the non-negative int64 codes c (< 2^61). With t = 3c and z = c ^ t: P = (t & z) >> 1,
    N = (c & z) >> 1."""
    triple = c * 3
    nonzero = c ^ triple
    return (triple & nonzero) >> 1, (c & nonzero) >> 1


def code_steps(time_steps: int, code: str) -> int:
    """Length of the spike train of a K-bit code: K for "binary", K + 1 for "naf"."""
    return time_steps + (code == "naf")


def step_numbers(time_steps: int, code: str, ndim: int = 0, device: torch.device | None = None) -> Tensor:
    """Step numbers t of a train, most significant digit first (step t carries digit K - t, weight 2^-t of the top):
    1..K for "binary", 0..K for "naf"; int64, shaped [steps, 1 x ndim] to broadcast against [steps, *shape]."""
    first = time_steps + 1 - code_steps(time_steps, code)
    return torch.arange(first, time_steps + 1, device=device).view(-1, *([1] * ndim))


def digit_planes(c: Tensor, time_steps: int, code: str) -> Tensor:
    """Digits of the K-bit codes c (int64), most significant first, shape [code_steps, *c.shape], int64:
    bits in {0, 1} for "binary" (out[t-1] = bit_{K-t}(c)); NAF digits in {-1, 0, 1} for "naf" (out[t] = digit_{K-t},
    the leading step carrying 2^K)."""
    if code == "binary":
        return bit_planes(c, time_steps)
    positive, negative = naf_digits(c)
    return bit_planes(positive, time_steps + 1) - bit_planes(negative, time_steps + 1)


def digit_count(c: Tensor, code: str) -> Tensor:
    """int32 number of non-zero digits of the codes c: popcount(c) for "binary", popcount(c ^ 3c) for "naf"."""
    c = c.to(torch.int64)
    return popcount(c) if code == "binary" else popcount(c ^ (c * 3))


def fixed_code(a: Tensor, step: Tensor | float, nearest: bool) -> Tensor:
    """Unclamped fixed-point code R(a / step) of a >= 0, as floats of a's dtype (a is overwritten)."""
    q = a.div_(step)
    if nearest:
        q.add_(0.5)
    return q.floor_()


_INT_VIEW = {torch.float32: (torch.int32, 24, 0x7FC00000), torch.float64: (torch.int64, 53, 0x7FF8000000000000)}


def round_significand(y: Tensor, time_steps: int, nearest: bool) -> Tensor:
    """y (float32/float64) rounded to K significant bits (half away from zero, or toward zero), a new tensor.

    Works on the IEEE bit pattern of |y|: adding half a grid step to the integer view and masking the low bits
    rounds the significand, and a carry moves into the exponent (the next octave) by itself. Subnormals are rounded
    on the fixed grid 2^(e_min-K) of the lowest normal octave. NaN patterns are first made the canonical quiet NaN
    (so no carry can wrap them; K = 1 restores them); +-inf stays +-inf.
    """
    itype, bits, quiet_nan = _INT_VIEW[y.dtype]
    drop = bits - time_steps
    sign_bit = -(1 << (8 * y.element_size() - 1))
    raw = y.view(itype)
    mag = (raw & ~sign_bit).clamp_max_(quiet_nan)
    if nearest:
        mag.add_(1 << (drop - 1))
    mag.bitwise_and_(~((1 << drop) - 1)).bitwise_or_(raw & sign_bit)
    if time_steps == 1:  # no significand bit is left to hold a NaN
        return torch.where(torch.isnan(y), y, mag.view(y.dtype))
    return mag.view(y.dtype)


def float_code(r: Tensor, time_steps: int, e_min: int) -> tuple[Tensor, Tensor]:
    """Code c (int64) and octave e (int64) of values r already on the K-bit floating grid: |r| = c * 2^(e-K).

    e is the octave of r (2^(e-1) <= |r| < 2^e), raised to e_min below it (then c < 2^(K-1)). NaN gets the all-ones
    code (K spikes carrying NaN).
    """
    _, e = torch.frexp(r.double())
    e = e.to(torch.int64).clamp_min_(e_min)
    c = r.double().abs() * torch.exp2((time_steps - e).double())
    c = torch.nan_to_num_(c, nan=float(2**time_steps - 1), posinf=float(2**time_steps - 1))
    return c.to(torch.int64), e


def round_up_significand(value: float, bits: int) -> float:
    """Smallest float >= value with at most `bits` significant bits (value > 0)."""
    m, e = math.frexp(value)
    return math.ldexp(math.ceil(m * 2**bits) / 2**bits, e)
