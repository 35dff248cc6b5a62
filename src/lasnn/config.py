"""The conversion recipe: time steps, rounding, and the calibration rules for every site."""

from __future__ import annotations

import dataclasses
import fnmatch
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

from .neurons.base import check_code, check_rounding

AnnFilter = Callable[[Any, str], bool]


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

    ``allow_ann`` lists the modules that stay in float: module names (exact, a prefix ending in ``.``, or a glob such
    as ``"*.mlp.down_proj"``), class names, or filters ``filter_fn(module, name) -> bool``. They are listed in every
    report; a saved conversion records the names a filter chose.
    """

    time_steps: int = 16
    rounding: str = "nearest"
    quantile: float = 0.999
    outlier_margin: float = 1.25
    hg_range_margin: float = 2.0
    fixed_thresholds: tuple[float, float] | None = None
    calibration_sequences: int = 32
    allow_ann: tuple[str | AnnFilter, ...] = field(default_factory=tuple)
    exact_synapses: bool = False
    code: str = "binary"

    def __post_init__(self) -> None:
        _integer("time_steps", self.time_steps, 1, 32)
        check_rounding(self.rounding)
        check_code(self.code)
        if not 0.0 < _real("quantile", self.quantile) <= 1.0:
            raise ValueError(f"quantile must be in (0, 1], got {self.quantile!r}")
        for name in ("outlier_margin", "hg_range_margin"):
            if not _real(name, getattr(self, name)) >= 1.0:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if self.fixed_thresholds is not None:
            object.__setattr__(self, "fixed_thresholds", _thresholds(self.fixed_thresholds))
        _integer("calibration_sequences", self.calibration_sequences, 1)
        if not isinstance(self.exact_synapses, bool):
            raise ValueError(f"exact_synapses must be True or False, got {self.exact_synapses!r}")
        object.__setattr__(self, "allow_ann", _names(self.allow_ann))

    @classmethod
    def paper(cls, **overrides: Any) -> LASConfig:
        """The paper's released recipe: fixed thresholds theta_nor = 10, theta_out = 500 and floor-rounding MT codes."""
        return cls(**{"fixed_thresholds": (10.0, 500.0), "rounding": "floor", **overrides})

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON values; a filter in ``allow_ann`` appears as ``"filter:<its qualified name>"``."""
        data = dataclasses.asdict(self)
        data["allow_ann"] = [entry if isinstance(entry, str) else f"filter:{getattr(entry, '__qualname__', entry)}"
                             for entry in self.allow_ann]
        return data

    def with_allowed_names(self, names: list[str]) -> LASConfig:
        """This config with ``allow_ann`` replaced by the exact module names it chose (what a saved conversion keeps
        when a filter chose them)."""
        return dataclasses.replace(self, allow_ann=tuple(names))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LASConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown LASConfig fields {sorted(unknown)}; known fields: {sorted(known)}")
        return cls(**data)

    def allows_ann(self, module_name: str, module: Any) -> bool:
        """True if ``module_name`` (or its class) was opted out of conversion by ``allow_ann``."""
        return any(_allows(entry, module_name, module) for entry in self.allow_ann)

    @property
    def has_filters(self) -> bool:
        """Whether ``allow_ann`` holds a filter function (its choice is saved as names)."""
        return any(not isinstance(entry, str) for entry in self.allow_ann)


def _allows(entry: str | AnnFilter, module_name: str, module: Any) -> bool:
    if not isinstance(entry, str):
        return bool(entry(module, module_name))
    if module_name == entry or type(module).__name__ == entry:
        return True
    if entry.endswith("."):
        return module_name.startswith(entry)
    return any(c in entry for c in "*?[") and fnmatch.fnmatchcase(module_name, entry)


def _real(name: str, value: Any) -> float:
    """``value`` as a finite float; ValueError naming ``name`` for anything else (bools, strings, NaN, inf)."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _integer(name: str, value: Any, low: int, high: int | None = None) -> None:
    """ValueError naming ``name`` unless ``value`` is an int (not a bool) in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bounds = f"in {low}..{high}" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be an integer {bounds}, got {value!r}")


def _thresholds(value: Any) -> tuple[float, float]:
    """(theta_nor, theta_out) as floats with 0 < theta_nor <= theta_out, both finite."""
    message = f"fixed_thresholds must be (theta_nor, theta_out) with 0 < theta_nor <= theta_out, both finite, got {value!r}"
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(message)
    try:
        nor, out = (_real("fixed_thresholds", v) for v in value)
    except ValueError:
        raise ValueError(message) from None
    if not 0.0 < nor <= out:
        raise ValueError(message)
    return nor, out


def _names(value: Any) -> tuple[str | AnnFilter, ...]:
    """``allow_ann`` as a tuple of names and filters (one string or one filter is one entry)."""
    names = (value,) if isinstance(value, str) or callable(value) else value
    if not isinstance(names, (tuple, list)) or not all(isinstance(name, str) or callable(name) for name in names):
        raise ValueError("allow_ann must be a list of module names, prefixes ending in '.', globs, class names, or "
                         f"filter functions filter_fn(module, name) -> bool; got {value!r}")
    return tuple(names)
