"""Build-time construction of an HG neuron's sub-neurons: the segment grid of its input and one affine sub-neuron each.

The input x is split by its sign into two sides; on each side |x| is cut into segments [b_i, b_i + h_i) whose widths
are powers of two:

- segment 0 is [0, 2^p_lo);
- binade p (2^p <= |x| < 2^(p+1)), p_lo <= p < p_cap, holds 2^m segments of width 2^(p-m) (m = ``segment_bits``):
  relative resolution 2^-m whatever the scale;
- from 2^p_cap up (only where the function caps the width at 2^c, p_cap = c + m), segments of width 2^c (absolute
  resolution, for functions such as exp whose error is absolute in x).

Sub-neuron i codes v = |x| - b_i in [0, h_i) as a K-bit MT code j = floor(v 2^K / h_i) and integrates its spikes
with fixed weights into y_i(j) = a_i + g_i j: a line fitted to f on the segment (the chord slope, rounded to
52 - K significant bits so that g_i j is exact in float64, and the minimax offset that also absorbs the cell's
width). f is evaluated here, in float64, and never again.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["SideTable", "build_side", "binade", "lowest_binade", "SAMPLES"]

SAMPLES = 33  # points per segment where the line's residual is measured


@dataclass(frozen=True)
class SideTable:
    """The segments of one sign side: starts b, inverse cell widths 2^K / h, offsets a, slopes g (float64)."""

    start: Tensor
    inv_cell: Tensor
    offset: Tensor
    slope: Tensor
    p_lo: int
    p_cap: float
    width_cap: float

    @property
    def size(self) -> int:
        return self.start.numel()


def lowest_binade(a_min: float, a_max: float, depth: int) -> int:
    """p_lo: the binade of a_min > 0, else ``depth`` binades below the top one (never above the top, nor below the
    lowest normal float32 binade 2^-126)."""
    p_top = binade(a_max)
    return max(-126, min(p_top, binade(a_min)) if a_min > 0 else p_top - depth)


def binade(v: float) -> int:
    """p with 2^p <= v < 2^(p+1) (v > 0; 0 for v = 0)."""
    return math.frexp(v)[1] - 1 if v > 0 else 0


def _layout(a_max: float, p_lo: int, bits: int, width_exp: int | None) -> tuple[float, list[float], list[float]]:
    """(p_cap, starts, widths) of the segments covering [0, a_max]."""
    p_top = binade(a_max)
    p_cap = math.inf if width_exp is None else width_exp + bits
    starts, widths = [0.0], [math.ldexp(1.0, p_lo)]
    p = p_lo
    while p < p_cap and p <= p_top:
        width = math.ldexp(1.0, p - bits)
        starts += [math.ldexp(1.0, p) + k * width for k in range(1 << bits)]
        widths += [width] * (1 << bits)
        p += 1
    if p_cap <= p_top:
        width = math.ldexp(1.0, width_exp)
        count = math.floor((a_max - math.ldexp(1.0, int(p_cap))) / width) + 1
        starts += [math.ldexp(1.0, int(p_cap)) + k * width for k in range(count)]
        widths += [width] * count
    return p_cap, starts, widths


def _round_significand(t: Tensor, bits: int) -> Tensor:
    """t rounded to `bits` significant bits (float64)."""
    mantissa, exponent = torch.frexp(t)
    return torch.ldexp(torch.round(torch.ldexp(mantissa, torch.full_like(exponent, bits))),
                       exponent - bits)


def build_side(f: Callable[[Tensor], Tensor], a_min: float, a_max: float, time_steps: int, bits: int,
               width_exp: int | None, p_lo: int) -> SideTable:
    """Segments and affine sub-neurons of f_side(u) = f(+-u) on u in [a_min, a_max] (see the module docstring)."""
    if width_exp is not None:
        p_lo = min(p_lo, width_exp + bits)
    p_cap, starts, widths = _layout(a_max, p_lo, bits, width_exp)
    b = torch.tensor(starts, dtype=torch.float64)
    h = torch.tensor(widths, dtype=torch.float64)
    lo = b.clamp_min(a_min)
    hi = torch.minimum(b + h, torch.tensor(a_max, dtype=torch.float64))
    live = hi >= lo
    span = torch.where(live, hi - lo, 0.0)
    frac = torch.linspace(0.0, 1.0, SAMPLES, dtype=torch.float64)
    u = torch.where(live, lo, b).unsqueeze(1) + span.unsqueeze(1) * frac
    fu = f(u)
    cells = 2.0**time_steps
    chord = torch.where(span > 0, (fu[:, -1] - fu[:, 0]) / torch.where(span > 0, span, 1.0), 0.0)
    slope = _round_significand(chord * h / cells, 52 - time_steps)
    residual = fu - slope.unsqueeze(1) * (u - b.unsqueeze(1)) * (cells / h).unsqueeze(1)
    offset = (residual.amax(1) + residual.amin(1)) / 2 + slope / 2
    offset = torch.where(live, offset, 0.0)
    slope = torch.where(live, slope, 0.0)
    return SideTable(b, cells / h, offset, slope, p_lo, p_cap, math.ldexp(1.0, width_exp) if width_exp is not None
                     else math.inf)
