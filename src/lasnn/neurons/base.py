"""The `Neuron` base class, its statistics and the shared argument checks.

Every neuron maps a real tensor x to a spike train z_t with step weights d_t (K steps; K + 1 for the signed-digit
code "naf") and decodes it to x_hat = sum_t d_t z_t. `forward` returns x_hat in closed form (equivalent mode),
`spikes` returns the [steps, ...] train, `spike_count` the number of non-zero steps per element.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields

import torch
from torch import Tensor, nn

from .codes import CODES, code_steps

__all__ = ["Neuron", "NeuronStats", "track_stats", "calibrate_neurons", "ROUNDINGS", "MAX_TIME_STEPS"]

ROUNDINGS = ("nearest", "floor")
MAX_TIME_STEPS = 32
_STAT_NAMES = ("elements", "clamped", "out_of_range", "underflow", "outlier", "nan")
_STAT_INDEX = {name: i for i, name in enumerate(_STAT_NAMES)}
_tracking = True


@contextlib.contextmanager
def track_stats(enabled: bool) -> Iterator[None]:
    """Turn statistics counting of every neuron on or off inside the block (process-wide; default on)."""
    global _tracking
    previous, _tracking = _tracking, bool(enabled)
    try:
        yield
    finally:
        _tracking = previous


def tracking() -> bool:
    """Whether neurons currently count statistics."""
    return _tracking


@dataclass(frozen=True)
class NeuronStats:
    """Counters of a neuron (0-dim int64 tensors, a snapshot).

    elements: inputs encoded; clamped: |x| beyond the top code, saturated; out_of_range: HG/FS input outside the
    declared [lo, hi]; underflow: HG result below the lowest octave (coded on its fixed grid); outlier: OAT inputs
    routed to the outlier MT; nan: NaN inputs (NaN out).
    """

    elements: Tensor
    clamped: Tensor
    out_of_range: Tensor
    underflow: Tensor
    outlier: Tensor
    nan: Tensor

    def to_dict(self) -> dict[str, int]:
        """The counters as Python ints (synchronises with the device)."""
        return {f.name: int(getattr(self, f.name)) for f in fields(self)}

    def __add__(self, other: NeuronStats) -> NeuronStats:
        return NeuronStats(**{f.name: getattr(self, f.name) + getattr(other, f.name).to(getattr(self, f.name).device)
                              for f in fields(self)})


def check_time_steps(time_steps: int) -> int:
    if isinstance(time_steps, bool) or not isinstance(time_steps, int) or not 1 <= time_steps <= MAX_TIME_STEPS:
        raise ValueError(f"time_steps must be an int in 1..{MAX_TIME_STEPS}, got {time_steps!r}")
    return time_steps


def check_rounding(rounding: str) -> str:
    if rounding not in ROUNDINGS:
        raise ValueError(f"rounding must be one of {ROUNDINGS}, got {rounding!r}")
    return rounding


def check_code(code: str) -> str:
    if code not in CODES:
        raise ValueError(f"code must be one of {CODES}, got {code!r}")
    return code


def check_positive(name: str, value: float | Tensor) -> None:
    """Raise ValueError unless every entry of `value` is finite and > 0."""
    t = torch.as_tensor(value, dtype=torch.float64)
    if t.numel() == 0 or not bool(torch.isfinite(t).all()) or not bool((t > 0).all()):
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")


def compute_dtype(dtype: torch.dtype, time_steps: int) -> torch.dtype:
    """float32, or float64 when K > 16 (a K-bit code times a threshold must keep >= 8 spare significand bits in
    float32, else the code's last bit depends on how the division rounds) or the input is float64."""
    return torch.float64 if time_steps > 16 or dtype == torch.float64 else torch.float32


def significand_bits(time_steps: int) -> int:
    """Significand bits of the compute dtype at K time steps (24 for float32, 53 for float64)."""
    return 53 if time_steps > 23 else 24


class Neuron(nn.Module):
    """Base of all spiking neurons: K time steps, statistics, calibration lifecycle.

    Subclasses implement `_encode` (decoded value in the compute dtype), `_exact` (the float function used while
    observing), `_observe`, `freeze`, `spikes`, `spike_count` and the calibration state. Threshold buffers keep their
    own dtype under `.half()` / `.to(dtype)`: the spike grid must not depend on the activation dtype.
    """

    def __init__(self, time_steps: int = 16, rounding: str = "nearest", code: str = "binary") -> None:
        super().__init__()
        self.time_steps = check_time_steps(time_steps)
        self.rounding = check_rounding(rounding)
        self.code = check_code(code)
        self.observing = False
        self.register_buffer("_counts", torch.zeros(len(_STAT_NAMES), dtype=torch.int64), persistent=False)

    # -- configuration -------------------------------------------------------------------------------------------
    @property
    def nearest(self) -> bool:
        return self.rounding == "nearest"

    @property
    def steps(self) -> int:
        """Length of the spike train: K, or K + 1 for the "naf" code."""
        return code_steps(self.time_steps, self.code)

    @property
    def threshold_dtype(self) -> torch.dtype:
        """dtype of threshold buffers: float32, float64 when K > 23."""
        return torch.float64 if self.time_steps > 23 else torch.float32

    @property
    def is_calibrated(self) -> bool:
        return True

    # -- statistics ----------------------------------------------------------------------------------------------
    @property
    def stats(self) -> NeuronStats:
        return NeuronStats(*self._counts.clone().unbind())

    def reset_stats(self) -> None:
        self._counts.zero_()

    def _count(self, elements: int, **counts: Tensor) -> None:
        """Accumulate counters on the device (no host synchronisation)."""
        c = self._counts
        if elements:
            c[0] += elements
        for name, value in counts.items():
            c[_STAT_INDEX[name]] += value

    # -- forward -------------------------------------------------------------------------------------------------
    def forward(self, x: Tensor) -> Tensor:
        """Decoded value sum_t d_t z_t (same shape and dtype as x); the exact float function while observing."""
        if self.observing:
            with torch.no_grad():
                self._observe(x.detach())
            return self._exact(x)
        self._require_calibrated()
        return self._encode(x).to(x.dtype)

    def _require_calibrated(self) -> None:
        if not self.is_calibrated:
            raise RuntimeError(f"{type(self).__name__} is not calibrated: run lasnn calibration or pass thresholds")

    def _encode(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def _exact(self, x: Tensor) -> Tensor:
        return x

    def _observe(self, x: Tensor) -> None:
        raise NotImplementedError

    def freeze(self, **rule: float) -> None:
        """Set thresholds/ranges from what was observed and stop observing."""
        raise NotImplementedError

    def spikes(self, x: Tensor) -> Tensor:
        """Spike train [steps, *x.shape] (float32), entries d_t * z_t; `.sum(0)` equals forward(x)."""
        raise NotImplementedError

    def spike_count(self, x: Tensor) -> Tensor:
        """int32 number of non-zero steps per element, = (spikes(x) != 0).sum(0), without building the train."""
        raise NotImplementedError

    def calibration_state(self) -> dict[str, Tensor]:
        raise NotImplementedError

    def load_calibration_state(self, state: dict[str, Tensor]) -> None:
        raise NotImplementedError

    # -- module plumbing -----------------------------------------------------------------------------------------
    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> nn.Module:
        def keep_dtype(t: Tensor) -> Tensor:
            out = fn(t)
            if t.is_floating_point() and out.dtype != t.dtype:
                return t.to(device=out.device)
            return out

        return super()._apply(keep_dtype, recurse)

    def _state_tensor(self, state: dict[str, Tensor], keys: tuple[str, ...]) -> list[Tensor]:
        """The entries `keys` of a calibration state, on this neuron's device in its threshold dtype."""
        missing = [k for k in keys if k not in state]
        unknown = [k for k in state if k not in keys]
        if missing or unknown:
            raise ValueError(f"{type(self).__name__} calibration state needs keys {keys}; "
                             f"missing {missing}, unknown {unknown}")
        device = self._counts.device
        return [torch.as_tensor(state[k]).to(device=device, dtype=self.threshold_dtype).clone() for k in keys]

    def extra_repr(self) -> str:
        code = f", code={self.code!r}" if self.code != "binary" else ""
        return f"time_steps={self.time_steps}, rounding={self.rounding!r}{code}"


def pow2(exponent: int) -> float:
    """2**exponent as a float."""
    return math.ldexp(1.0, exponent)


def calibrate_neurons(module: nn.Module, run: Callable[[], object]) -> None:
    """The calibration lifecycle of every neuron in ``module``: observing = True, ``run()`` once, then ``freeze()``."""
    neurons = [m for m in module.modules() if isinstance(m, Neuron)]
    for neuron in neurons:
        neuron.observing = True
    run()
    for neuron in neurons:
        neuron.freeze()
