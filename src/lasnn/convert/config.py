"""The conversion recipe: time steps, rounding, and the calibration rules for every site."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ..neurons.base import check_code, check_rounding


@dataclass(frozen=True)
class LASConfig:
    """How a model is converted.

    Every tensor that enters a synaptic op (a *site*) is coded by an OAT neuron with thresholds
    ``theta_nor = quantile(|x|)`` and ``theta_out = theta_nor * 2^ceil(log2(outlier_margin * max|x| / theta_nor))``
    measured on the calibration data, unless ``fixed_thresholds`` gives them for every site (the paper's recipe).
    Non-linear functions (exp, 1/x, 1/sqrt, x^2, GELU, SiLU, tanh, ...) are HG neurons whose gate banks cover the
    calibrated input range widened by ``hg_range_margin``.

    ``exact_synapses`` accumulates every synapse (linear layers, Q·Kᵀ, P·V, products) in float64 and rounds once, in
    both spiking modes, so equivalent and temporal mode feed every neuron the same value (slower; for proofs).
    With float32 accumulation the two orders of summation differ in the last bit and about 1 % of codes move by
    one step between the modes.

    ``code`` is the spike code of every K-bit neuron: "binary" (the LAS trains: one spike per set bit of the code,
    K steps) or "naf" (signed digits of the code's non-adjacent form, K + 1 steps, about a quarter fewer spikes and
    synaptic operations). Both decode to the same values, so outputs are identical; only the trains and the spike and
    energy accounting differ.

    ``allow_ann`` lists module names (exact, or a prefix ending in ``.``, or a class name) that stay in float; they
    are listed in every report.
    """

    time_steps: int = 16
    rounding: str = "nearest"
    quantile: float = 0.999
    outlier_margin: float = 1.25
    hg_range_margin: float = 2.0
    fixed_thresholds: tuple[float, float] | None = None
    calibration_sequences: int = 32
    allow_ann: tuple[str, ...] = field(default_factory=tuple)
    exact_synapses: bool = False
    code: str = "binary"

    def __post_init__(self) -> None:
        if not isinstance(self.time_steps, int) or not 1 <= self.time_steps <= 32:
            raise ValueError(f"time_steps must be an integer in 1..32, got {self.time_steps!r}")
        check_rounding(self.rounding)
        check_code(self.code)
        if not 0.0 < self.quantile <= 1.0:
            raise ValueError(f"quantile must be in (0, 1], got {self.quantile!r}")
        if self.outlier_margin < 1.0:
            raise ValueError(f"outlier_margin must be >= 1, got {self.outlier_margin!r}")
        if self.hg_range_margin < 1.0:
            raise ValueError(f"hg_range_margin must be >= 1, got {self.hg_range_margin!r}")
        if self.fixed_thresholds is not None:
            nor, out = self.fixed_thresholds
            if not 0.0 < nor <= out:
                raise ValueError(f"fixed_thresholds must be (theta_nor, theta_out) with 0 < theta_nor <= theta_out, got {self.fixed_thresholds!r}")
            object.__setattr__(self, "fixed_thresholds", (float(nor), float(out)))
        if self.calibration_sequences < 1:
            raise ValueError(f"calibration_sequences must be >= 1, got {self.calibration_sequences!r}")
        if isinstance(self.allow_ann, str):
            object.__setattr__(self, "allow_ann", (self.allow_ann,))
        object.__setattr__(self, "allow_ann", tuple(self.allow_ann))

    @classmethod
    def paper(cls, **overrides: Any) -> "LASConfig":
        """The paper's released recipe: fixed thresholds theta_nor = 10, theta_out = 500 and floor-rounding MT codes."""
        return cls(**{"fixed_thresholds": (10.0, 500.0), "rounding": "floor", **overrides})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LASConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown LASConfig fields {sorted(unknown)}; known fields: {sorted(known)}")
        values = dict(data)
        if values.get("fixed_thresholds") is not None:
            values["fixed_thresholds"] = tuple(values["fixed_thresholds"])
        values["allow_ann"] = tuple(values.get("allow_ann", ()))
        return cls(**values)

    def allows_ann(self, module_name: str, module: Any) -> bool:
        """True if ``module_name`` (or its class) was opted out of conversion by ``allow_ann``."""
        cls_name = type(module).__name__
        return any(
            module_name == entry or cls_name == entry or (entry.endswith(".") and module_name.startswith(entry))
            for entry in self.allow_ann
        )
