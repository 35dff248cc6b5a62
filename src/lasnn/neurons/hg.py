"""HG neuron: hierarchically gated bank of sub-neurons emitting f(x) with a K-bit significand."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .base import Neuron, compute_dtype, tracking
from .codes import digit_count, digit_planes, float_code, step_numbers
from .kernels import hg_decode
from .functions import HGFunction, get_function

__all__ = ["HGNeuron", "LOWEST_OCTAVE"]

LOWEST_OCTAVE = -125  # octave e holds 2^(e-1) <= |y| < 2^e; e = -125 starts at 2^-126, the smallest normal float32
_NATIVE_LOWEST = {torch.float32: LOWEST_OCTAVE, torch.float64: -1021}


def _octave(v: float) -> int:
    """e with 2^(e-1) <= v < 2^e (v > 0)."""
    return math.frexp(v)[1]


class HGNeuron(Neuron):
    """Hierarchically gated neuron: emits f(x) for a named function with relative error <= 2^-K per value.

    Construction. Threshold gates at the extrema and zeros of f split [lo, hi] into pieces on which f is
    sign-definite and monotone. Inside a piece, a cascade of threshold gates (input-domain thresholds
    f^-1(2^(e-1))) routes x to the octave e of |f(x)|, 2^(e-1) <= |f(x)| < 2^e. The sub-neuron of that octave is an
    MT neuron in the inverse domain: its membrane starts at x, it fires at step t when f(v) >= 2^(e-t) (an
    input-domain threshold) and resets by v <- f^-1(f(v) - 2^(e-t)); its spikes weigh d_t = 2^(e-t), so it emits
    the K-bit code of the significand (with code="naf", the signed digits of its non-adjacent form over steps
    t = 0..K: same value, fewer spikes),

        decoded = sign(f(x)) * c * 2^(e-K),   c = R(|f(x)| 2^(K-e)) in [2^(K-1), 2^K)

    (R = round half up with the membrane started half a step up, or floor; a carry to 2^K is the first code of
    the next octave). The relative error is <= 2^-K (nearest) whatever the octave, which is what lets one neuron
    cover ranges spanning many decades. Octaves below e_min (the lowest octave of |f| on [lo, hi], floored at
    2^-126) are coded on the fixed grid 2^(e_min-K) and counted in `underflow`; for exp below lo this gives 0 and
    is not an error. Inputs outside [lo, hi] are clamped to it and counted in `out_of_range` (exp below lo is not
    clamped). In equivalent mode the gate cascade is the floating-point exponent and the code the rounded
    significand, so forward() is f(x) rounded to K significant bits on the IEEE bit pattern.

    Calibration: observing returns f(x) exactly and records min/max of x; `freeze(margin)` widens [lo, hi] to
    cover them (multiplicatively for positive-domain functions, else away from zero by `margin`), never narrower.
    """

    def __init__(self, function: str, lo: float | None = None, hi: float | None = None, time_steps: int = 16,
                 rounding: str = "nearest", code: str = "binary") -> None:
        super().__init__(time_steps, rounding, code)
        self.spec: HGFunction = get_function(function)
        self.function = self.spec.name
        for name in ("lo", "hi"):
            self.register_buffer(name, torch.empty((), dtype=self.threshold_dtype), persistent=False)
        self.register_buffer("_lowest", torch.empty((), dtype=torch.float64), persistent=False)
        self.register_buffer("_grid", torch.empty((), dtype=torch.float64), persistent=False)
        self.register_buffer("_obs_min", torch.full((), math.inf, dtype=torch.float64), persistent=False)
        self.register_buffer("_obs_max", torch.full((), -math.inf, dtype=torch.float64), persistent=False)
        default_lo, default_hi = self.spec.default_range
        self.set_range(default_lo if lo is None else lo, default_hi if hi is None else hi)

    @classmethod
    def for_function(cls, name: str, time_steps: int = 16, lo: float | None = None,
                     hi: float | None = None, code: str = "binary") -> HGNeuron:
        """The HG neuron of a named function (see `lasnn.neurons.HG_FUNCTIONS`) over its default or given range."""
        return cls(name, lo=lo, hi=hi, time_steps=time_steps, code=code)

    # -- range and bank ------------------------------------------------------------------------------------------
    def set_range(self, lo: float, hi: float) -> None:
        """Declare the input range [lo, hi] and rebuild the gate bank (host-side, cheap)."""
        lo, hi = float(lo), float(hi)
        self.spec.check_range(lo, hi)
        device = self._counts.device
        self.lo = torch.tensor(lo, dtype=self.threshold_dtype, device=device)
        self.hi = torch.tensor(hi, dtype=self.threshold_dtype, device=device)
        self._lo, self._hi = float(self.lo), float(self.hi)  # host copies: clamping needs no device sync
        self._build_bank()

    def _build_bank(self) -> None:
        """Octaves e_min..e_max of |f| on [lo, hi] and the number of (piece, octave) sub-neurons."""
        pieces = []
        for a, b in self.spec.pieces(self._lo, self._hi):
            va, vb = self.spec.reference(torch.tensor([a, b], dtype=torch.float64)).abs().tolist()
            pieces.append((min(va, vb), max(va, vb)))
        lowest = min(_octave(v) if v > 0 else LOWEST_OCTAVE for v, _ in pieces)
        self.e_min = max(lowest, LOWEST_OCTAVE)
        device = self._counts.device
        self._lowest = torch.tensor(math.ldexp(1.0, self.e_min - 1), dtype=torch.float64, device=device)
        self._grid = torch.tensor(math.ldexp(1.0, self.e_min - self.time_steps), dtype=torch.float64, device=device)
        self.e_max = max(_octave(v) if v > 0 else self.e_min for _, v in pieces)
        self.n_gates = sum(_octave(vmax) - max(_octave(vmin) if vmin > 0 else self.e_min, self.e_min) + 1
                           for vmin, vmax in pieces if vmax > 0)

    _set_range = set_range  # former private name, still used by lasnn.ops.softmax

    @property
    def range(self) -> tuple[float, float]:
        """Declared input range (lo, hi)."""
        return self._lo, self._hi

    # -- encoding ------------------------------------------------------------------------------------------------
    def _exact(self, x: Tensor) -> Tensor:
        return self.spec.fn(x.to(compute_dtype(x.dtype, self.time_steps))).to(x.dtype)

    def _encode(self, x: Tensor, count: bool = True) -> Tensor:
        dtype = compute_dtype(x.dtype, self.time_steps)
        r, nan, out_of_range, underflow = hg_decode(
            x, self.spec.fn, self.lo, self.hi, self.spec.clamp_below, self.spec.nonzero, self._lowest, self._grid,
            self.e_min > _NATIVE_LOWEST[dtype], self.time_steps, self.nearest, dtype)
        if count and tracking():
            self._count(x.numel(), nan=nan, out_of_range=out_of_range, underflow=underflow)
        return r

    def _codes(self, x: Tensor, count: bool) -> tuple[Tensor, Tensor, Tensor]:
        """(decoded r, code c, octave e): |r| = c 2^(e-K)."""
        r = self._encode(x, count)
        c, e = float_code(r, self.time_steps, self.e_min)
        return r, c, e

    def spikes(self, x: Tensor) -> Tensor:
        r, c, e = self._codes(x, count=True)
        weights = torch.exp2((e.unsqueeze(0) - step_numbers(self.time_steps, self.code, r.dim(), r.device)).double())
        train = digit_planes(c, self.time_steps, self.code).double() * weights * torch.sign(r).double()
        return train.masked_fill_(torch.isnan(r), math.nan).float()

    def spike_count(self, x: Tensor) -> Tensor:
        r, c, _ = self._codes(x, count=False)
        return digit_count(c, self.code).masked_fill_(torch.isnan(r), self.steps)

    # -- calibration ---------------------------------------------------------------------------------------------
    def _observe(self, x: Tensor) -> None:
        if x.numel() == 0:
            return
        low, high = torch.aminmax(x)
        if not (bool(torch.isfinite(low)) and bool(torch.isfinite(high))):
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
        return f"{self.function!r}, lo={self._lo:.6g}, hi={self._hi:.6g}, n_gates={self.n_gates}, " \
               + super().extra_repr()
