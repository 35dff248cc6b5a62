"""HG neuron: a cascade of threshold gates routing each input to one affine sub-neuron, and a floating output coder."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from .base import Neuron, compute_dtype, tracking
from .codes import digit_count
from .functions import HGFunction, get_function
from .hg_dynamics import hg_train
from .hg_tables import SideTable, build_side, lowest_binade
from .kernels import hg_decode

__all__ = ["HGNeuron", "LOWEST_OCTAVE", "SEGMENT_BITS", "DEPTH"]

LOWEST_OCTAVE = -125  # octave e holds 2^(e-1) <= |y| < 2^e; e = -125 starts at 2^-126, the smallest normal float32
SEGMENT_BITS = 7  # input sub-ranges per binade: 2^7
DEPTH = 32  # binades of |x| below the top one that get their own sub-ranges (functions through zero)


def _octave(v: float) -> int:
    """e with 2^(e-1) <= v < 2^e (v > 0)."""
    return math.frexp(v)[1]


@dataclass(frozen=True)
class Bank:
    """Everything an HG neuron computes with, fixed when it is built (host scalars and float64 tables).

    Input stage: per side (x >= 0 first, then x < 0; ``side`` entries each, the shorter padded, ``segments`` real in
    all) the segment starts, inverse cell widths 2^K / h, line offsets
    and slopes; p_lo, p_cap, width_cap describe the grid (see ``hg_tables``). Output coder: octave thresholds
    T_e = 2^e - (half) 2^(e-K) for e = e_min..e_max, the units 2^(e-K) and the octave gains 2^-e.
    """

    side: int
    segments: int
    p_lo: int
    p_cap: float
    width_cap: float
    start: Tensor
    inv_cell: Tensor
    offset: Tensor
    slope: Tensor
    thresholds: Tensor
    unit: Tensor
    inv_octave: Tensor

    def tables(self, dtype: torch.dtype) -> tuple[Tensor, ...]:
        """The tables in a compute dtype (the slopes rounded to its significand: g j stays exact in float64)."""
        return tuple(t.to(dtype) for t in (self.start, self.inv_cell, self.offset, self.slope, self.thresholds,
                                            self.unit, self.inv_octave))


class HGNeuron(Neuron):
    """Hierarchically gated neuron for a named function f: gates, sub-neurons and an output coder, all fixed at build.

    Run time, per element (only comparisons with constants, subtractions and fixed weights; f is never evaluated):

    1. Gates. x < lo gives no spike for exp (e^x underflows), other inputs are clamped to [lo, hi] (counted as
       out_of_range). The sign and a cascade of threshold comparisons against the segment starts b_i route |x| to
       one segment [b_i, b_i + h_i): 2^7 per binade of |x| (relative resolution), of width at most 2^-7 (exp) or
       2^-6 (GELU, SiLU, sigmoid, tanh) where f's error is absolute in x; ``hg_tables`` builds them.
    2. Sub-neuron i: an MT neuron whose membrane v = (|x| - b_i) 2^K / h_i fires at step t when v >= 2^(K-t) and
       subtracts it, emitting the K-bit code j of its cell; its spikes reach a compartment with fixed weights
       g_i 2^(K-t) on top of a bias a_i, which integrates y = a_i + g_i j, the line fitted to f on the segment.
       (identity and relu need no sub-neurons: y = x, or 0 for x < 0.)
    3. Output coder: gates at the octave thresholds T_e route |y| to its octave e (2^(e-1) <= |y| < 2^e after
       rounding); an MT neuron with membrane |y| 2^(K-e) + 1/2 (nearest) fires at step t when it reaches 2^(K-t),
       so it spikes c = R(|y| 2^(K-e)) in [2^(K-1), 2^K) with weights sign(y) 2^(e-t): the K-bit floating code of
       y (with code="naf", the signed digits of c over steps t = 0..K). Below octave e_min, the fixed grid
       2^(e_min-K) (counted as underflow).

    Equivalent mode computes the same three stages in closed form from the same constants (the gate cascades as bit
    fields of the float pattern, the MT codes as floors), so both modes give the same codes bit for bit. Error: the
    fitted lines (<= ~2^-17 relative on the relative grid, <= 2e-6 absolute on the absolute one) plus the output
    code (<= 2^-K relative, rounding to nearest); ``benchmarks/hg_neurons.py`` measures it per function (docs/neurons.md).

    Calibration: observing returns f(x) exactly (the ANN path) and records min/max of x; `freeze(margin)` widens
    [lo, hi] to cover them (multiplicatively for positive-domain functions, else away from zero), never narrower.
    """

    def __init__(self, function: str, lo: float | None = None, hi: float | None = None, time_steps: int = 16,
                 rounding: str = "nearest", code: str = "binary") -> None:
        super().__init__(time_steps, rounding, code)
        self.spec: HGFunction = get_function(function)
        self.function = self.spec.name
        for name in ("lo", "hi"):
            self.register_buffer(name, torch.empty((), dtype=self.threshold_dtype), persistent=False)
        self.register_buffer("_obs_min", torch.full((), math.inf, dtype=torch.float64), persistent=False)
        self.register_buffer("_obs_max", torch.full((), -math.inf, dtype=torch.float64), persistent=False)
        self._bank: Bank | None = None
        self._tables: dict[torch.dtype, tuple[Tensor, ...]] = {}
        default_lo, default_hi = self.spec.default_range
        self.set_range(default_lo if lo is None else lo, default_hi if hi is None else hi)

    @classmethod
    def for_function(cls, name: str, time_steps: int = 16, lo: float | None = None,
                     hi: float | None = None, code: str = "binary") -> HGNeuron:
        """The HG neuron of a named function (see `lasnn.neurons.HG_FUNCTIONS`) over its default or given range."""
        return cls(name, lo=lo, hi=hi, time_steps=time_steps, code=code)

    # -- range and bank ------------------------------------------------------------------------------------------
    def set_range(self, lo: float, hi: float) -> None:
        """Declare the input range [lo, hi]; the gates and sub-neurons are rebuilt on the next use."""
        lo, hi = float(lo), float(hi)
        self.spec.check_range(lo, hi)
        device = self._counts.device
        self.lo = torch.tensor(lo, dtype=self.threshold_dtype, device=device)
        self.hi = torch.tensor(hi, dtype=self.threshold_dtype, device=device)
        self._lo, self._hi = float(self.lo), float(self.hi)
        self._set_octaves()
        self._bank = None
        self._tables = {}

    def _set_octaves(self) -> None:
        """Octaves e_min..e_max of |f| on [lo, hi] (f evaluated at the piece ends, float64, build time)."""
        pieces = []
        for a, b in self.spec.pieces(self._lo, self._hi):
            va, vb = self.spec.reference(torch.tensor([a, b], dtype=torch.float64)).abs().tolist()
            pieces.append((min(va, vb), max(va, vb)))
        lowest = min(_octave(v) if v > 0 else LOWEST_OCTAVE for v, _ in pieces)
        self.e_min = max(lowest, LOWEST_OCTAVE)
        self.e_max = max(_octave(v * (1 + 2.0**-self.time_steps)) if v > 0 else self.e_min for _, v in pieces)

    def _sides(self) -> tuple[SideTable | None, SideTable | None]:
        lo, hi, spec = self._lo, self._hi, self.spec
        a_min = max(lo, 0.0) if lo >= 0 else (max(-hi, 0.0) if hi < 0 else 0.0)
        p_lo = lowest_binade(a_min, max(abs(lo), abs(hi)), DEPTH)
        args = (self.time_steps, SEGMENT_BITS, spec.width_exp, p_lo)
        pos = build_side(spec.reference, max(lo, 0.0), hi, *args) if hi >= 0 else None
        neg = build_side(lambda u: spec.reference(-u), max(-hi, 0.0), -lo, *args) if lo < 0 else None
        return pos, neg

    @property
    def bank(self) -> Bank:
        """The neuron's constants (built from f once per range, on the neuron's device)."""
        if self._bank is None:
            self._bank = self._build_bank()
        return self._bank

    def _build_bank(self) -> Bank:
        device = self._counts.device
        pos, neg = (None, None) if self.spec.linear else self._sides()
        real = [t for t in (pos, neg) if t is not None]
        side = max((t.size for t in real), default=0)
        columns: list[list[Tensor]] = [[], [], [], []]
        for table in (pos, neg) if neg is not None else (pos,):
            filled = table.size if table is not None else 0
            padding = (math.inf, 0.0, 0.0, 0.0)  # starts past every input: never routed to
            values = (table.start, table.inv_cell, table.offset, table.slope) if table is not None else ((),) * 4
            for column, value, pad in zip(columns, values, padding):
                column.append(torch.cat([torch.as_tensor(value, dtype=torch.float64),
                                         torch.full((side - filled,), pad, dtype=torch.float64)]))
        grid = (real[0].p_lo, real[0].p_cap, real[0].width_cap) if real else (0, math.inf, math.inf)
        k = self.time_steps
        e = torch.arange(self.e_min, self.e_max + 1, dtype=torch.float64)
        half = 2.0 ** -(k + 1) if self.nearest else 0.0
        start, inv_cell, offset, slope = (torch.cat(c).to(device) for c in columns)
        return Bank(side, sum(t.size for t in real), *grid, start, inv_cell, offset, slope,
                    thresholds=(torch.exp2(e) * (1 - half)).to(device), unit=torch.exp2(e - k).to(device),
                    inv_octave=torch.exp2(-e).to(device))

    @property
    def n_gates(self) -> int:
        """Sub-neurons behind the gate cascade (segments of the input; 1 for identity / relu)."""
        bank = self.bank
        return max(1, bank.segments)

    @property
    def range(self) -> tuple[float, float]:
        """Declared input range (lo, hi)."""
        return self._lo, self._hi

    def _apply(self, fn, recurse: bool = True):  # noqa: ANN001, ANN202
        self._bank, self._tables = None, {}  # tables follow the neuron to its new device on the next use
        return super()._apply(fn, recurse)

    # -- encoding ------------------------------------------------------------------------------------------------
    def _exact(self, x: Tensor) -> Tensor:
        return self.spec.fn(x.to(compute_dtype(x.dtype, self.time_steps))).to(x.dtype)

    def _kernel_args(self, dtype: torch.dtype) -> tuple:
        bank = self.bank
        if dtype not in self._tables:
            self._tables[dtype] = (self.lo.to(dtype), self.hi.to(dtype), *bank.tables(dtype))
        lo, hi, start, inv_cell, offset, slope, thresholds, unit, inv_octave = self._tables[dtype]
        return (dtype, lo, hi, self.spec.clamp_below, self.spec.linear,
                self.function == "relu", bank.side, bank.p_lo, bank.p_cap, bank.width_cap,
                SEGMENT_BITS, start, inv_cell, offset, slope, thresholds, unit, inv_octave, self.e_min,
                self.time_steps, 0.5 if self.nearest else 0.0, self.spec.nonzero)

    def _encode(self, x: Tensor) -> Tensor:
        dtype = compute_dtype(x.dtype, self.time_steps)
        out, _, nan, out_of_range, underflow = hg_decode(x, *self._kernel_args(dtype))
        if tracking():
            self._count(x.numel(), nan=nan, out_of_range=out_of_range, underflow=underflow)
        return out.to(dtype)

    def spikes(self, x: Tensor) -> Tensor:
        """The train [steps, *x.shape] produced by the neuron's dynamics (gates, sub-neuron, output coder)."""
        dtype = compute_dtype(x.dtype, self.time_steps)
        train, nan, out_of_range, underflow = hg_train(x, self.code, *self._kernel_args(dtype))
        if tracking():
            self._count(x.numel(), nan=nan, out_of_range=out_of_range, underflow=underflow)
        return train.float()

    def spike_count(self, x: Tensor) -> Tensor:
        _, c, *_ = hg_decode(x, *self._kernel_args(compute_dtype(x.dtype, self.time_steps)), code=True)
        return digit_count(torch.nan_to_num(c, nan=0.0).to(torch.int64), self.code).masked_fill_(
            torch.isnan(c), self.steps)

    # -- calibration ---------------------------------------------------------------------------------------------
    def _observe(self, x: Tensor) -> None:
        if x.numel() == 0:
            return
        finite = torch.isfinite(x)
        low, high = torch.where(finite, x, math.inf).amin(), torch.where(finite, x, -math.inf).amax()
        torch.minimum(self._obs_min, low.double(), out=self._obs_min)
        torch.maximum(self._obs_max, high.double(), out=self._obs_max)

    def freeze(self, margin: float = 1.25) -> None:
        """Widen [lo, hi] to cover the observed inputs with `margin`, never narrowing it; stop observing."""
        if not margin >= 1.0:
            raise ValueError(f"margin must be >= 1, got {margin!r}")
        lo, hi = self._lo, self._hi
        obs_lo, obs_hi = float(self._obs_min), float(self._obs_max)
        if obs_lo <= obs_hi:
            lo = min(lo, obs_lo * margin if obs_lo < 0 else obs_lo / margin)
            hi = max(hi, obs_hi * margin if obs_hi > 0 else obs_hi / margin)
            if self.spec.domain_lo_open and lo <= self.spec.domain_lo:
                lo = self._lo  # observed values at or below the open domain bound stay clamped to lo
            lo = max(lo, self.spec.domain_lo)
        self.set_range(lo, hi)
        self._obs_min.fill_(math.inf)
        self._obs_max.fill_(-math.inf)
        self.observing = False

    def calibration_state(self) -> dict[str, Tensor]:
        return {"lo": self.lo.clone(), "hi": self.hi.clone()}

    def load_calibration_state(self, state: dict[str, Tensor]) -> None:
        lo, hi = self._state_tensor(state, ("lo", "hi"))
        self.set_range(float(lo), float(hi))

    def extra_repr(self) -> str:
        return f"{self.function!r}, lo={self._lo:.6g}, hi={self._hi:.6g}, " + super().extra_repr()
