"""OAT neuron: outlier-aware threshold, a normal and an outlier MT neuron behind one gate."""

from __future__ import annotations

import torch
from torch import Tensor

from .base import Neuron, check_positive, compute_dtype, pow2, significand_bits, tracking
from .calibration import HIST_SIZE, finite_abs_max, histogram_update, oat_thresholds
from .codes import fixed_code
from .kernels import oat_decode
from .mt import code_count, membrane_train

__all__ = ["OATNeuron"]


class OATNeuron(Neuron):
    """Outlier-aware threshold neuron (LAS OAT).

    Gate g = [|x| >= theta_nor]: g = 0 -> MT(theta_nor), g = 1 -> MT(theta_out), 0 < theta_nor <= theta_out. The
    decoded value is sign(x) c tau_g 2^-K with c = min(R(|x| 2^K / tau_g), 2^K - 1); |x| beyond the outlier MT's top
    code is clamped and counted, outlier-routed inputs are counted.

    Calibration: observing keeps a log2 histogram of |x| (64 bins per octave) and max |x|; `freeze(quantile,
    margin)`: theta_nor = quantile of |x| (bin upper edge, rounded up to 24-K significant bits in float32),
    theta_out = theta_nor 2^ceil(log2(margin max / theta_nor)). The power-of-two ratio makes the outlier grid a
    subset of the normal grid and every decoded value exact, so encoding a decoded tensor again is the identity.
    """

    def __init__(self, theta_nor: float | Tensor | None = None, theta_out: float | Tensor | None = None,
                 time_steps: int = 16, rounding: str = "nearest", code: str = "binary") -> None:
        super().__init__(time_steps, rounding, code)
        for name in ("theta_nor", "theta_out", "_step_nor", "_step_out"):
            self.register_buffer(name, torch.full((), torch.nan, dtype=self.threshold_dtype), persistent=False)
        self.register_buffer("_hist", torch.zeros(HIST_SIZE, dtype=torch.int64), persistent=False)
        self.register_buffer("_obs_max", torch.full((), -1.0, dtype=torch.float64), persistent=False)
        self._calibrated = False
        if (theta_nor is None) != (theta_out is None):
            raise ValueError("OATNeuron: pass both theta_nor and theta_out, or neither (then calibrate)")
        if theta_nor is not None:
            self._set_thresholds(theta_nor, theta_out)

    @classmethod
    def from_tensor(cls, x: Tensor, quantile: float = 0.999, margin: float = 1.25, time_steps: int = 16, *,
                    rounding: str = "nearest", code: str = "binary") -> OATNeuron:
        """An OAT neuron calibrated on the values of x."""
        neuron = cls(time_steps=time_steps, rounding=rounding, code=code).to(x.device)
        neuron.observing = True
        neuron(x)
        neuron.freeze(quantile=quantile, margin=margin)
        return neuron

    @property
    def is_calibrated(self) -> bool:
        return self._calibrated

    def _set_thresholds(self, theta_nor: float | Tensor, theta_out: float | Tensor) -> None:
        check_positive("theta_nor", theta_nor)
        check_positive("theta_out", theta_out)
        device, dtype = self._counts.device, self.threshold_dtype
        nor = torch.as_tensor(theta_nor).to(device=device, dtype=dtype).clone()
        out = torch.as_tensor(theta_out).to(device=device, dtype=dtype).clone()
        if not bool((nor <= out).all()):
            raise ValueError(f"theta_nor must be <= theta_out, got theta_nor={theta_nor!r}, theta_out={theta_out!r}")
        self.theta_nor, self.theta_out = nor, out
        self._step_nor = nor * pow2(-self.time_steps)
        self._step_out = out * pow2(-self.time_steps)
        self._calibrated = True

    def _route(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(y in the compute dtype, |y|, gate |y| >= theta_nor, per-element step)."""
        y = x.to(compute_dtype(x.dtype, self.time_steps))
        a = y.abs()
        gate = a >= self.theta_nor
        return y, a, gate, torch.where(gate, self._step_out, self._step_nor)

    def _encode(self, x: Tensor) -> Tensor:
        top = float(2**self.time_steps - 1)
        out, clamped, outlier, nan = oat_decode(x, self.theta_nor, self._step_nor, self._step_out, top, self.nearest,
                                                compute_dtype(x.dtype, self.time_steps))
        if tracking():
            self._count(x.numel(), clamped=clamped, outlier=outlier, nan=nan)
        return out

    def spikes(self, x: Tensor) -> Tensor:
        self._require_calibrated()
        y, a, gate, step = self._route(x)
        return membrane_train(self, y, a, step, gate)

    def spike_count(self, x: Tensor) -> Tensor:
        self._require_calibrated()
        _, a, _, step = self._route(x)
        q = fixed_code(a, step, self.nearest).clamp_max_(float(2**self.time_steps - 1))
        return code_count(q, self.time_steps, self.code)

    def _observe(self, x: Tensor) -> None:
        a = x.abs().to(compute_dtype(x.dtype, self.time_steps))
        histogram_update(self._hist, a)
        torch.maximum(self._obs_max, finite_abs_max(a), out=self._obs_max)

    def freeze(self, quantile: float = 0.999, margin: float = 1.25) -> None:
        """Set (theta_nor, theta_out) from the observed histogram (see class docstring); stop observing."""
        if not 0.0 < quantile <= 1.0:
            raise ValueError(f"quantile must be in (0, 1], got {quantile!r}")
        if not margin >= 1.0:
            raise ValueError(f"margin must be >= 1, got {margin!r}")
        observed = float(self._obs_max)
        if observed < 0:
            raise RuntimeError("OATNeuron.freeze: nothing was observed (set observing=True and run data first)")
        bits = significand_bits(self.time_steps) - self.time_steps
        self._set_thresholds(*oat_thresholds(self._hist, observed, quantile, margin, bits))
        self._hist.zero_()
        self._obs_max.fill_(-1.0)
        self.observing = False

    def calibration_state(self) -> dict[str, Tensor]:
        if not self._calibrated:
            raise RuntimeError("OATNeuron is not calibrated: run lasnn calibration or pass thresholds")
        return {"theta_nor": self.theta_nor.clone(), "theta_out": self.theta_out.clone()}

    def load_calibration_state(self, state: dict[str, Tensor]) -> None:
        self._set_thresholds(*self._state_tensor(state, ("theta_nor", "theta_out")))

    def extra_repr(self) -> str:
        if not self._calibrated:
            return f"uncalibrated, {super().extra_repr()}"
        if self.theta_nor.numel() == 1 and self.theta_out.numel() == 1:
            return f"theta_nor={float(self.theta_nor):.6g}, theta_out={float(self.theta_out):.6g}, " \
                   + super().extra_repr()
        return f"theta_nor=tensor{tuple(self.theta_nor.shape)}, {super().extra_repr()}"
