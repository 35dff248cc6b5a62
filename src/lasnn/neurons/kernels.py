"""The equivalent-mode hot paths of OAT and HG neurons as pure tensor functions, optionally fused by torch.compile.

Every linear-layer input of a converted model passes ``oat_decode`` and every non-linearity ``hg_decode``; in eager
PyTorch each is a dozen element-wise passes. ``compile_kernels(True)`` fuses each into one generated loop
(TorchInductor; needs a C++ compiler on CPU). Eager on CPU, the range gates are asked first with one reduction:
clamping and the counters (clamped, out of range, NaN, underflow) are computed element-wise only when some input
needs them. A forward watched by a Python dispatch or function mode (``lasnn.audit``'s tracer) runs the eager
functions even when compiled kernels are on, so every op stays visible. Both paths run the same comparisons,
gathers, floors and constant gains; neither evaluates a function of the input.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import torch
from torch import Tensor
from torch.utils._python_dispatch import is_in_torch_dispatch_mode

__all__ = ["compile_kernels", "kernels_compiled", "oat_decode", "hg_decode", "segment_index", "output_octave",
           "output_membrane", "FLOAT_LAYOUT"]

_compiled: dict[str, Callable[..., tuple[Tensor, ...]]] = {}
_enabled = os.environ.get("LASNN_COMPILE", "0") == "1"


def compile_kernels(enabled: bool = True) -> None:
    """Fuse the neurons' equivalent-mode kernels with torch.compile (process-wide; ``LASNN_COMPILE=1`` sets it too)."""
    global _enabled
    _enabled = bool(enabled)


def kernels_compiled() -> bool:
    return _enabled


def _traced() -> bool:
    """Whether a Python dispatch or function mode (``lasnn.audit``'s tracer) is watching: it sees the eager ops."""
    return is_in_torch_dispatch_mode() or torch._C._is_torch_function_mode_enabled()


def _dispatch(name: str, fn: Callable[..., tuple[Tensor, ...]]) -> Callable[..., tuple[Tensor, ...]]:
    if not _enabled or _traced():
        return fn
    if name not in _compiled:
        torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 64)
        _compiled[name] = torch.compile(fn, fullgraph=True)
    return _compiled[name]


def _counting_is_cheap(x: Tensor) -> bool:
    """Whether a host-side check may skip exact counting: eager on CPU (a sync is free there, not on CUDA)."""
    return not _enabled and x.device.type == "cpu"


def _no_count(device: torch.device) -> Tensor:
    return torch.zeros((), dtype=torch.int64, device=device)


def _oat(x: Tensor, theta_nor: Tensor, step_nor: Tensor, step_out: Tensor, top: float, nearest: bool,
         dtype: torch.dtype, shortcut: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    y = x.to(dtype)
    gate = y.abs() >= theta_nor
    step = torch.where(gate, step_out, step_nor)
    q = torch.floor(y.abs() / step + 0.5) if nearest else torch.floor(y.abs() / step)
    outlier = gate.sum()
    if shortcut and not bool((~(q <= top)).any()):
        clamped = nan = _no_count(x.device)
    else:
        clamped = ((q > top) & gate).sum()
        nan = torch.isnan(q).sum()
    return torch.copysign(torch.clamp_max(q, top) * step, y), clamped, outlier, nan


def oat_decode(x: Tensor, theta_nor: Tensor, step_nor: Tensor, step_out: Tensor, top: float, nearest: bool,
               dtype: torch.dtype) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(x̂, clamped, outlier, nan): sign(x) min(R(|x| / s_g), top) s_g, s_g = step of the branch |x| >= theta_nor."""
    return _dispatch("oat", _oat)(x, theta_nor, step_nor, step_out, top, nearest, dtype, _counting_is_cheap(x))


def _gated_input(y: Tensor, lo: Tensor, hi: Tensor, clamp_below: bool,
                 cheap: bool = False) -> tuple[Tensor, Tensor | None, Tensor, Tensor]:
    """(input clamped to [lo, hi], mask of inputs below lo that emit nothing (exp) or None, nan, out_of_range).

    ``cheap``: first ask the two range gates (NaN passes neither); when every input lies in [lo, hi] there is
    nothing to clamp, gate off or count."""
    if cheap:
        if bool(((y >= lo) & (y <= hi)).all()):
            return y, None, _no_count(y.device), _no_count(y.device)
    below = None if clamp_below else y < lo
    clamped = torch.clamp(y, lo, hi)
    nan = torch.isnan(y)
    moved = clamped != y
    if below is not None:
        moved = moved & ~below
    return clamped, below, nan.sum(), (moved & ~nan).sum()


#: per float dtype: (integer view dtype, significand bits, exponent mask, frexp exponent offset)
FLOAT_LAYOUT = {torch.float32: (torch.int32, 23, 0xFF, 126), torch.float64: (torch.int64, 52, 0x7FF, 1022)}


def segment_index(a: Tensor, neg: Tensor, side: int, p_lo: int, p_cap: float, width_cap: float, bits: int) -> Tensor:
    """Closed form of the gate cascade: the segment (int64) of a = |x| (float32/64), offset by ``side`` for x < 0
    (both sign sides hold ``side`` segments).

    [0, 2^p_lo) is segment 0; binade p in [p_lo, p_cap) holds 2^bits segments read off the top bits of the float
    pattern; from 2^p_cap up, segments of width ``width_cap``.
    """
    itype, significand, _, offset = FLOAT_LAYOUT[a.dtype]
    pattern = a.view(itype).to(torch.int64)
    idx = (pattern >> (significand - bits)).sub_(((offset + 1 + p_lo) << bits) - 1)  # <= 0 below 2^p_lo
    if p_cap < 4096:  # capped widths (p_cap is +inf otherwise)
        uniform = torch.floor((a - 2.0**p_cap) * (1.0 / width_cap)).to(torch.int64).add_(1 + ((int(p_cap) - p_lo) << bits))
        idx = torch.where(a >= 2.0**p_cap, uniform, idx)
    idx = idx.clamp_(0, side - 1)
    return idx.add_(neg.to(torch.int64).mul_(side))


def _affine(z: Tensor, linear: bool, relu: bool, args: tuple) -> Tensor:
    """The sub-neuron stage in closed form: y = a_i + g_i j, j = floor((|x| - b_i) 2^K / h_i) (or x / relu(x))."""
    if linear:
        return torch.where(z < 0, 0.0, z) if relu else z
    side, p_lo, p_cap, width_cap, bits, start, inv_cell, offset, slope, time_steps = args
    a = z.abs()
    idx = segment_index(a, z < 0, side, p_lo, p_cap, width_cap, bits)
    j = (a - _gather(start, idx)).mul_(_gather(inv_cell, idx)).floor_().clamp_(0.0, 2.0**time_steps - 1)
    return j.mul_(_gather(slope, idx)).add_(_gather(offset, idx))


def _gather(table: Tensor, index: Tensor) -> Tensor:
    """``table[index]`` for an int64 index tensor, as one ``index_select`` over the flattened index."""
    return table.index_select(0, index.reshape(-1)).view(index.shape)


def output_octave(a: Tensor, thresholds: Tensor, e_min: int) -> Tensor:
    """Closed form of the output coder's octave gates: the index e - e_min (int64) of the first threshold T_e > a."""
    itype, significand, mask, offset = FLOAT_LAYOUT[a.dtype]
    top = thresholds.numel() - 1
    e = (((a.view(itype) >> significand) & mask).to(torch.int64) - (offset + e_min)).clamp_(0, top)
    return e.add_(a >= _gather(thresholds, e)).clamp_max_(top)


def output_membrane(a: Tensor, e: Tensor, inv_octave: Tensor, time_steps: int, half: float) -> Tensor:
    """The output coder's membrane |y| 2^(K-e) + half (exact: two power-of-two gains, then one addition)."""
    return (a * 2.0**time_steps).mul_(_gather(inv_octave, e)).add_(half)


def _hg(x: Tensor, dtype: torch.dtype, lo: Tensor, hi: Tensor, clamp_below: bool, linear: bool, relu: bool,
        side: int, p_lo: int, p_cap: float, width_cap: float, bits: int, start: Tensor,
        inv_cell: Tensor, offset: Tensor, slope: Tensor, thresholds: Tensor, unit: Tensor, inv_octave: Tensor,
        e_min: int, time_steps: int, half: float, nonzero: bool, cheap: bool,
        want_code: bool) -> tuple[Tensor, Tensor | None, Tensor, Tensor, Tensor]:
    z, below, nan, out_of_range = _gated_input(x.to(dtype), lo, hi, clamp_below, cheap)
    y = _affine(z, linear, relu, (side, p_lo, p_cap, width_cap, bits, start, inv_cell, offset, slope, time_steps))
    a = y.abs()
    e = output_octave(a, thresholds, e_min)
    c = torch.floor(output_membrane(a, e, inv_octave, time_steps, half)).clamp_max_(2.0**time_steps - 1)
    out = torch.copysign(c * _gather(unit, e), y)
    small = a < 2.0 ** (e_min - 1)
    if not nonzero:
        small.logical_and_(a != 0)
    if cheap and not bool(small.any()):
        small = None
    if below is not None:
        out = torch.where(below, 0.0, out)
        c = torch.where(below, 0.0, c) if want_code else c
        small = below if small is None else small | below
    underflow = small.sum() if small is not None else _no_count(x.device)
    return out, c if want_code else None, nan, out_of_range, underflow


def hg_decode(x: Tensor, *args: object, code: bool = False) -> tuple[Tensor, Tensor | None, Tensor, Tensor, Tensor]:
    """(decoded output, its integer code c or None unless ``code``, nan, out_of_range, underflow) of an HG neuron in
    closed form.

    ``args``: the neuron's constants (``HGNeuron._kernel_args``). No function of x is evaluated: gates are bit fields
    and comparisons, sub-neurons floors and fixed weights, the output |y| rounded to K significant bits (the floor
    of |y| 2^(K-e) + 1/2).
    """
    return _dispatch("hg", _hg)(x, *args, _counting_is_cheap(x), code)
