"""Calibration helpers: a log2-spaced histogram of |x| (on the device, no host sync) and threshold rules.

Bins: index 0 counts exact zeros; bins 1..N cover [2^(E0 + (j-1)/B), 2^(E0 + j/B)) with B = 64 bins per octave over
2^-40..2^40 (values outside land in the end bins); index N+1 collects NaN (ignored).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .codes import round_up_significand

__all__ = ["BINS_PER_OCTAVE", "HIST_MIN_EXP", "HIST_MAX_EXP", "HIST_SIZE", "histogram_update", "histogram_quantile",
           "finite_abs_max", "oat_thresholds"]

BINS_PER_OCTAVE = 64
HIST_MIN_EXP, HIST_MAX_EXP = -40, 40
_N_BINS = (HIST_MAX_EXP - HIST_MIN_EXP) * BINS_PER_OCTAVE
HIST_SIZE = _N_BINS + 2


def histogram_update(hist: Tensor, a: Tensor) -> None:
    """Add the values a = |x| (any shape) to the int64 histogram `hist` in place."""
    a = a.reshape(-1)
    j = torch.log2(a).mul_(BINS_PER_OCTAVE).floor_()
    j = j.clamp_(HIST_MIN_EXP * BINS_PER_OCTAVE, HIST_MAX_EXP * BINS_PER_OCTAVE - 1)
    j = j.sub_(HIST_MIN_EXP * BINS_PER_OCTAVE - 1)
    j = torch.where(a > 0, j, 0.0)
    j = torch.where(torch.isnan(a), float(HIST_SIZE - 1), j)
    hist += torch.bincount(j.to(torch.int64), minlength=HIST_SIZE)


def finite_abs_max(a: Tensor) -> Tensor:
    """max of the finite entries of a = |x| (0 when there are none), 0-dim float64."""
    return torch.where(torch.isfinite(a), a, 0).amax().double() if a.numel() else a.new_zeros((), dtype=torch.float64)


def histogram_quantile(hist: Tensor, q: float) -> float:
    """Upper edge of the bin holding the q-quantile of |x| (0.0 if it falls on exact zeros). Host sync."""
    counts = hist[: _N_BINS + 1].double().cpu()
    cum = counts.cumsum(0)
    j = int(torch.searchsorted(cum, q * float(cum[-1])).clamp_max(_N_BINS))
    return 0.0 if j == 0 else 2.0 ** (HIST_MIN_EXP + j / BINS_PER_OCTAVE)


def oat_thresholds(hist: Tensor, abs_max: float, quantile: float, margin: float,
                   significant_bits: int) -> tuple[float, float]:
    """theta_nor = q-quantile of |x| (rounded up to `significant_bits` bits, so that codes times theta are exact);
    theta_out = theta_nor * 2^max(0, ceil(log2(margin * max / theta_nor))). All-zero data: (1, 1)."""
    if abs_max <= 0:
        return 1.0, 1.0
    theta_nor = histogram_quantile(hist, quantile)
    if theta_nor == 0.0:  # the quantile is an exact zero: take the smallest non-zero bin
        j = int(torch.nonzero(hist[1: _N_BINS + 1])[0]) + 1
        theta_nor = 2.0 ** (HIST_MIN_EXP + j / BINS_PER_OCTAVE)
    theta_nor = round_up_significand(theta_nor, significant_bits)
    ratio_exp = max(0, math.ceil(math.log2(margin * abs_max / theta_nor)))
    return theta_nor, math.ldexp(theta_nor, ratio_exp)
