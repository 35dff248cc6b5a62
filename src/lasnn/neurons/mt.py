"""MT neuron: multi-threshold, K-bit fixed point over [0, tau) with the sign riding on the spike."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .base import Neuron, check_positive, compute_dtype, pow2, significand_bits, tracking
from .calibration import finite_abs_max
from .codes import code_steps, digit_count, digit_planes, fixed_code, round_up_significand, step_numbers
from .dynamics import fire

__all__ = ["MTNeuron"]


def count_codes(neuron: Neuron, values: Tensor, over: Tensor, gate: Tensor | None) -> None:
    """Count elements, NaN and saturated codes (``over``); with an OAT ``gate``, outliers, and saturation only there."""
    counts = {"nan": torch.count_nonzero(torch.isnan(values))}
    if gate is None:
        counts["clamped"] = torch.count_nonzero(over)
    else:
        counts.update(clamped=torch.count_nonzero(over & gate), outlier=torch.count_nonzero(gate))
    neuron._count(values.numel(), **counts)


def encode_fixed(neuron: Neuron, a: Tensor, step: Tensor, gate: Tensor | None = None) -> Tensor:
    """Saturated fixed-point code q = min(R(a / step), 2^K - 1) of a = |y| (floats; a is overwritten).

    Counts elements, NaN and clamped codes; with an OAT `gate`, also outliers, and clamping only where gate is True.
    """
    top = float(2**neuron.time_steps - 1)
    q = fixed_code(a, step, neuron.nearest)
    if tracking():
        count_codes(neuron, q, q > top, gate)
    return q.clamp_max_(top)


def membrane_train(neuron: Neuron, y: Tensor, a: Tensor, step: Tensor, gate: Tensor | None = None) -> Tensor:
    """The train of an MT code of a = |y| on the grid ``step`` (per element or broadcastable), run as dynamics.

    The membrane, in units of the step, starts at a / step (+ 1/2 for "nearest") and at step t = 1..K fires when it
    reaches 2^(K-t), subtracting it (``dynamics.fire``): its code is min(R(a / step), 2^K - 1), the closed form of
    `encode_fixed`. Binary spikes weigh sign(y) step 2^(K-t); with code="naf" the code's signed digits are spiked
    instead (steps t = 0..K). Counts elements, NaN, clamped codes and (with an OAT ``gate``) outliers; NaN y gives NaN
    at every step. Float32.
    """
    time_steps = neuron.time_steps
    membrane = a / step
    if neuron.nearest:
        membrane = membrane + 0.5
    if tracking():
        count_codes(neuron, membrane, membrane >= 2.0**time_steps, gate)
    spikes, code = fire(membrane.double(), time_steps)
    unit = torch.where(y < 0, -step, step).double()
    if neuron.code == "binary":
        train = torch.stack([z * (unit * 2.0 ** (time_steps - t)) for t, z in enumerate(spikes, start=1)])
    else:
        weights = torch.exp2(time_steps - step_numbers(time_steps, "naf", y.dim(), y.device).double())
        train = digit_planes(code.to(torch.int64), time_steps, "naf") * weights * unit
    return train.masked_fill_(torch.isnan(y), math.nan).float()


def code_count(q: Tensor, time_steps: int, code: str = "binary") -> Tensor:
    """int32 spikes of the fixed-point codes q: their non-zero digits in ``code`` (NaN: every step, as its train)."""
    counts = digit_count(torch.nan_to_num(q, nan=0.0).to(torch.int64), code)
    return counts.masked_fill_(torch.isnan(q), code_steps(time_steps, code))


class MTNeuron(Neuron):
    """Multi-threshold neuron (LAS MT): K-bit fixed point of |x| over [0, tau), sign on the spike.

    Membrane v starts at |x| (+ tau 2^-(K+1) for "nearest"); at step t = 1..K it fires if v >= theta_t = tau 2^-t and
    subtracts theta_t. Hence code c = min(R(|x| 2^K / tau), 2^K - 1), decoded = sign(x) c tau 2^-K, spike at step t
    = sign(x) bit_{K-t}(c) tau 2^-t, spike count = popcount(c). With code="naf" the train carries the signed digits
    of c's non-adjacent form over steps t = 0..K instead (same decoded value, fewer spikes). |x| whose code exceeds
    2^K - 1 saturates at (2^K - 1) tau 2^-K and is counted as clamped.

    Calibration: observing records max |x|; `freeze(margin)` sets tau = margin * max (rounded up to a short
    significand so that c * tau 2^-K is exact in the compute dtype).
    """

    def __init__(self, tau: float | Tensor, time_steps: int = 16, rounding: str = "nearest",
                 code: str = "binary") -> None:
        super().__init__(time_steps, rounding, code)
        self.register_buffer("tau", torch.empty((), dtype=self.threshold_dtype), persistent=False)
        self.register_buffer("_step", torch.empty((), dtype=self.threshold_dtype), persistent=False)
        self.register_buffer("_obs_max", torch.full((), -1.0, dtype=torch.float64), persistent=False)
        self._set_tau(tau)

    def _set_tau(self, tau: float | Tensor) -> None:
        check_positive("tau", tau)
        device = self._counts.device
        self.tau = torch.as_tensor(tau).to(device=device, dtype=self.threshold_dtype).clone()
        self._step = self.tau * pow2(-self.time_steps)

    def _encode(self, x: Tensor) -> Tensor:
        y = x.to(compute_dtype(x.dtype, self.time_steps))
        return encode_fixed(self, y.abs(), self._step).mul_(self._step).copysign_(y)

    def spikes(self, x: Tensor) -> Tensor:
        y = x.to(compute_dtype(x.dtype, self.time_steps))
        return membrane_train(self, y, y.abs(), self._step.to(y.dtype))

    def spike_count(self, x: Tensor) -> Tensor:
        a = x.to(compute_dtype(x.dtype, self.time_steps)).abs()
        q = fixed_code(a, self._step, self.nearest).clamp_max_(float(2**self.time_steps - 1))
        return code_count(q, self.time_steps, self.code)

    def _observe(self, x: Tensor) -> None:
        torch.maximum(self._obs_max, finite_abs_max(x.abs().double()), out=self._obs_max)

    def freeze(self, margin: float = 1.25) -> None:
        """tau = margin * observed max |x| (1 if all observed values were 0); stop observing."""
        observed = float(self._obs_max)
        if observed < 0:
            raise RuntimeError("MTNeuron.freeze: nothing was observed (set observing=True and run data first)")
        bits = significand_bits(self.time_steps) - self.time_steps
        self._set_tau(round_up_significand(margin * observed, bits) if observed > 0 else 1.0)
        self._obs_max.fill_(-1.0)
        self.observing = False

    def calibration_state(self) -> dict[str, Tensor]:
        return {"tau": self.tau.clone()}

    def load_calibration_state(self, state: dict[str, Tensor]) -> None:
        (tau,) = self._state_tensor(state, ("tau",))
        self._set_tau(tau)

    def extra_repr(self) -> str:
        tau = f"{float(self.tau):.6g}" if self.tau.numel() == 1 else f"tensor{tuple(self.tau.shape)}"
        return f"tau={tau}, {super().extra_repr()}"
