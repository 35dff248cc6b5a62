"""Calibration helpers: a log-spaced histogram of |x| (on the device, no host sync) and threshold rules.

The bin of a = |x| is the top bits of its float32 bit pattern, ``bits(a) >> 17``: the exponent and the first 6
significand bits, i.e. 64 bins per octave over every float32 magnitude, monotone in a, one integer shift per element
(no logarithm). Bin 0 holds zeros (and subnormals below 2^-126); bins from ``INF_BIN`` on hold inf and NaN, which
the quantile ignores.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .codes import round_up_significand

__all__ = ["BINS_PER_OCTAVE", "HIST_SIZE", "INF_BIN", "histogram_update", "histogram_quantile", "finite_abs_max",
           "oat_thresholds"]

BINS_PER_OCTAVE = 64
_SHIFT = 23 - 6
HIST_SIZE = 1 << (31 - _SHIFT)
INF_BIN = 0x7F800000 >> _SHIFT


def histogram_update(hist: Tensor, a: Tensor) -> None:
    """Add the values a = |x| (any shape, any float dtype) to the int64 histogram `hist` in place."""
    bits = a.reshape(-1).float().view(torch.int32) >> _SHIFT
    hist += torch.bincount(bits, minlength=HIST_SIZE)


def finite_abs_max(a: Tensor) -> Tensor:
    """max of the finite entries of a = |x| (0 when there are none), 0-dim float64."""
    if not a.numel():
        return a.new_zeros((), dtype=torch.float64)
    peak = a.amax()
    if bool(torch.isfinite(peak)):
        return peak.double()
    return torch.where(torch.isfinite(a), a, 0).amax().double()


def _upper_edge(j: int) -> float:
    """Largest value of bin j (its upper edge)."""
    return float(torch.tensor([(j + 1) << _SHIFT], dtype=torch.int32).view(torch.float32))


def histogram_quantile(hist: Tensor, q: float) -> float:
    """Upper edge of the bin holding the q-quantile of the finite |x| (0.0 if it falls on exact zeros). Host sync."""
    cum = hist[:INF_BIN].double().cpu().cumsum(0)
    j = int(torch.searchsorted(cum, q * float(cum[-1])).clamp_max(INF_BIN - 1))
    return 0.0 if j == 0 else _upper_edge(j)


def oat_thresholds(hist: Tensor, abs_max: float, quantile: float, margin: float,
                   significant_bits: int) -> tuple[float, float]:
    """theta_nor = q-quantile of |x| (rounded up to `significant_bits` bits, so that codes times theta are exact);
    theta_out = theta_nor * 2^max(0, ceil(log2(margin * max / theta_nor))). All-zero data: (1, 1)."""
    if abs_max <= 0:
        return 1.0, 1.0
    theta_nor = histogram_quantile(hist, quantile)
    if theta_nor == 0.0:  # the quantile is an exact zero: take the smallest non-zero bin
        j = int(torch.nonzero(hist[1:INF_BIN])[0]) + 1
        theta_nor = _upper_edge(j)
    theta_nor = round_up_significand(theta_nor, significant_bits)
    ratio_exp = max(0, math.ceil(math.log2(margin * abs_max / theta_nor)))
    return theta_nor, math.ldexp(theta_nor, ratio_exp)
