"""The equivalent-mode hot paths of OAT and HG neurons as pure tensor functions, optionally fused by torch.compile.

Every linear-layer input of a converted model passes ``oat_decode`` and every non-linearity ``hg_decode``; in eager
PyTorch each is a dozen element-wise passes. ``compile_kernels(True)`` fuses each into one generated loop
(TorchInductor; needs a C++ compiler on CPU). Eager on CPU, counters are first checked with one reduction and
counted element-wise only when something was clamped, out of range, NaN or underflowing. Both paths run the same ops; a fused transcendental (exp, erfc) may
differ from eager in its last float32 ulp, which can move a code by one step.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import torch
from torch import Tensor

from .codes import round_significand

__all__ = ["compile_kernels", "kernels_compiled", "oat_decode", "hg_decode"]

_compiled: dict[str, Callable[..., tuple[Tensor, ...]]] = {}
_enabled = os.environ.get("LASNN_COMPILE", "0") == "1"


def compile_kernels(enabled: bool = True) -> None:
    """Fuse the neurons' equivalent-mode kernels with torch.compile (process-wide; ``LASNN_COMPILE=1`` sets it too)."""
    global _enabled
    _enabled = bool(enabled)


def kernels_compiled() -> bool:
    return _enabled


def _dispatch(name: str, fn: Callable[..., tuple[Tensor, ...]]) -> Callable[..., tuple[Tensor, ...]]:
    if not _enabled:
        return fn
    if name not in _compiled:
        torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 64)
        _compiled[name] = torch.compile(fn, fullgraph=True)
    return _compiled[name]


def _counting_is_cheap(x: Tensor) -> bool:
    """Whether a host-side check may skip exact counting: eager on CPU (a sync is free there, not on CUDA)."""
    return not _enabled and x.device.type == "cpu"


def _oat(x: Tensor, theta_nor: Tensor, step_nor: Tensor, step_out: Tensor, top: float, nearest: bool,
         dtype: torch.dtype, shortcut: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    y = x.to(dtype)
    gate = y.abs() >= theta_nor
    step = torch.where(gate, step_out, step_nor)
    q = torch.floor(y.abs() / step + 0.5) if nearest else torch.floor(y.abs() / step)
    outlier = gate.sum()
    if shortcut and (q.numel() == 0 or bool(q.max() <= top)):
        clamped = nan = torch.zeros((), dtype=torch.int64, device=x.device)
    else:
        clamped = ((q > top) & gate).sum()
        nan = torch.isnan(q).sum()
    return torch.copysign(torch.clamp_max(q, top) * step, y), clamped, outlier, nan


def oat_decode(x: Tensor, theta_nor: Tensor, step_nor: Tensor, step_out: Tensor, top: float, nearest: bool,
               dtype: torch.dtype) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(x̂, clamped, outlier, nan): sign(x) min(R(|x| / s_g), top) s_g, s_g = step of the branch |x| >= theta_nor."""
    return _dispatch("oat", _oat)(x, theta_nor, step_nor, step_out, top, nearest, dtype, _counting_is_cheap(x))


def _hg(x: Tensor, fn: Callable[[Tensor], Tensor], lo: Tensor, hi: Tensor, clamp_below: bool, nonzero: bool,
        lowest: Tensor, grid: Tensor, fix_underflow: bool, time_steps: int, nearest: bool,
        dtype: torch.dtype, shortcut: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    y = x.to(dtype)
    zero = torch.zeros((), dtype=torch.int64, device=x.device)
    if shortcut and _inside(y, lo if clamp_below else None, hi):
        xc, nan, out_of_range = y, zero, zero
    else:
        xc = torch.clamp(y, lo, hi) if clamp_below else torch.clamp(y, max=hi)
        nan = torch.isnan(xc).sum()
        out_of_range = (xc != y).sum() - nan
    f = fn(xc)
    if shortcut and not fix_underflow and (f.numel() == 0 or bool(f.abs().amin() >= lowest)):
        small, underflow = None, zero
    else:
        small = f.abs() < lowest
        if not nonzero:
            small = small & (f != 0)
        underflow = small.sum()
    r = round_significand(f, time_steps, nearest)
    if fix_underflow and small is not None:
        a = f.abs() / grid
        q = torch.floor(a + 0.5) if nearest else torch.floor(a)
        r = torch.where(small, torch.copysign(q * grid, f), r)
    return r, nan, out_of_range, underflow


def _inside(y: Tensor, lo: Tensor | None, hi: Tensor) -> bool:
    """Every element of y lies in [lo, hi] (False if any is NaN); one reduction pass."""
    if y.numel() == 0:
        return True
    low, high = torch.aminmax(y)
    return bool(high <= hi) and (lo is None or bool(low >= lo))


def hg_decode(x: Tensor, fn: Callable[[Tensor], Tensor], lo: Tensor, hi: Tensor, clamp_below: bool, nonzero: bool,
              lowest: Tensor, grid: Tensor, fix_underflow: bool, time_steps: int, nearest: bool,
              dtype: torch.dtype) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(f(x) on the K-bit floating grid, nan, out_of_range, underflow) for x clamped to [lo, hi].

    ``lowest`` = 2^(e_min - 1), the bottom of the lowest octave; below it values use the fixed ``grid`` 2^(e_min - K)
    (when ``fix_underflow``) and count as underflow.
    """
    return _dispatch("hg", _hg)(x, fn, lo, hi, clamp_below, nonzero, lowest, grid, fix_underflow, time_steps, nearest,
                                dtype, _counting_is_cheap(x))
