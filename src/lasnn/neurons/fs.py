"""FS neuron: few-spikes neuron with learned reset, output weight and threshold per step (Stöckl & Maass 2021)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from .base import Neuron, check_time_steps, compute_dtype, tracking

__all__ = ["FSNeuron"]


class FSNeuron(Neuron):
    """Few-spikes neuron: v_1 = x; z_t = H(v_t - T_t) (H(0) = 0); v_{t+1} = v_t - h_t z_t; y = sum_t d_t z_t.

    K = len(h). The spike at step t weighs d_t. `lo`, `hi` (optional) declare the input range the parameters were
    fitted on: inputs outside are counted in `out_of_range` (not clamped). `fn` (optional) is the float function
    the neuron approximates, returned while observing. `fit_max_abs_error` is set by `fit_fs`.
    """

    def __init__(self, h: Tensor, d: Tensor, T: Tensor, *, lo: float | None = None, hi: float | None = None,
                 fn: Callable[[Tensor], Tensor] | None = None) -> None:
        h, d, T = (torch.as_tensor(p, dtype=torch.float64).detach().reshape(-1) for p in (h, d, T))
        if not h.numel() == d.numel() == T.numel():
            raise ValueError(f"h, d, T must have one entry per time step, got {h.numel()}, {d.numel()}, {T.numel()}")
        check_time_steps(h.numel())
        super().__init__(h.numel())
        for name in ("h", "d", "T", "lo", "hi"):
            self.register_buffer(name, torch.empty(0, dtype=torch.float64), persistent=False)
        self.fn = fn
        self.fit_max_abs_error: float | None = None
        self._set(h, d, T, math.nan if lo is None else lo, math.nan if hi is None else hi)

    def _set(self, h: Tensor, d: Tensor, T: Tensor, lo: float, hi: float) -> None:
        if not all(bool(torch.isfinite(p).all()) for p in (h, d, T)):
            raise ValueError("FSNeuron: h, d, T must be finite")
        if not (math.isnan(lo) and math.isnan(hi)) and not lo < hi:
            raise ValueError(f"FSNeuron: need lo < hi (or neither), got lo={lo!r}, hi={hi!r}")
        device = self._counts.device
        self.h, self.d, self.T = (p.to(device=device, dtype=torch.float64).clone() for p in (h, d, T))
        self.lo = torch.tensor(lo, dtype=torch.float64, device=device)
        self.hi = torch.tensor(hi, dtype=torch.float64, device=device)
        # host copies: the K-step loop needs no device tensors per step
        self._steps = list(zip(self.h.tolist(), self.d.tolist(), self.T.tolist()))
        self._range = None if math.isnan(lo) else (lo, hi)

    @property
    def range(self) -> tuple[float, float] | None:
        """The input range [lo, hi] the neuron was fitted on (None: not declared)."""
        return self._range

    def _run(self, x: Tensor, count: bool, train: bool) -> tuple[Tensor, Tensor | list[Tensor]]:
        """(y, spike counts) or, with train=True, (y, list of the K spike tensors d_t z_t)."""
        v = x.to(compute_dtype(x.dtype, self.time_steps))
        y = torch.zeros_like(v)
        n = torch.zeros(v.shape, dtype=torch.int32, device=v.device)
        spikes: list[Tensor] = []
        for h, d, threshold in self._steps:
            z = (v > threshold).to(v.dtype)
            y.add_(z, alpha=d)
            if train:
                spikes.append(z * d)
            elif d != 0:
                n.add_(z.to(torch.int32))
            v = v - h * z
        nan = torch.isnan(x)
        if count and tracking():
            counts = {"nan": torch.count_nonzero(nan)}
            if self._range is not None:
                lo, hi = self._range
                counts["out_of_range"] = torch.count_nonzero((x < lo) | (x > hi))
            self._count(x.numel(), **counts)
        y.masked_fill_(nan, math.nan)
        if train:
            return y, [s.masked_fill_(nan, math.nan) for s in spikes]
        return y, n.masked_fill_(nan, self.time_steps)

    def _encode(self, x: Tensor) -> Tensor:
        return self._run(x, count=True, train=False)[0]

    def _exact(self, x: Tensor) -> Tensor:
        return self.fn(x) if self.fn is not None else self._run(x, count=False, train=False)[0].to(x.dtype)

    def spikes(self, x: Tensor) -> Tensor:
        return torch.stack(self._run(x, count=True, train=True)[1]).float()

    def spike_count(self, x: Tensor) -> Tensor:
        return self._run(x, count=False, train=False)[1]

    def _observe(self, x: Tensor) -> None:
        """FS parameters come from fitting (`fit_fs`): nothing to observe."""

    def freeze(self) -> None:
        """Stop observing (the parameters are fitted, not calibrated)."""
        self.observing = False

    def calibration_state(self) -> dict[str, Tensor]:
        return {name: getattr(self, name).clone() for name in ("h", "d", "T", "lo", "hi")}

    def load_calibration_state(self, state: dict[str, Tensor]) -> None:
        keys = ("h", "d", "T", "lo", "hi")
        missing = [k for k in keys if k not in state]
        if missing or len(state) != len(keys):
            raise ValueError(f"FSNeuron calibration state needs keys {keys}, got {tuple(state)}")
        h, d, T = (torch.as_tensor(state[k], dtype=torch.float64).reshape(-1) for k in ("h", "d", "T"))
        if h.numel() != self.time_steps:
            raise ValueError(f"FSNeuron: state has {h.numel()} time steps, this neuron {self.time_steps}")
        self._set(h, d, T, float(state["lo"]), float(state["hi"]))

    def extra_repr(self) -> str:
        span = "" if self._range is None else f", lo={self._range[0]:.6g}, hi={self._range[1]:.6g}"
        return f"time_steps={self.time_steps}{span}"
