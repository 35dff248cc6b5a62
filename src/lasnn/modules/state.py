"""Per-model conversion state: the current execution mode and what conversion changed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

import torch.nn as nn

from ..config import LASConfig

STATE_ATTR = "_lasnn_state"


class Mode(str, Enum):
    """Execution modes of one converted model (the same module objects in every mode)."""

    ANN = "ann"
    CALIBRATE = "calibrate"
    EQUIVALENT = "equivalent"
    TEMPORAL = "temporal"


USER_MODES = (Mode.ANN.value, Mode.EQUIVALENT.value, Mode.TEMPORAL.value)


def parse_mode(name: str | Mode) -> Mode:
    """The user-facing mode named ``name`` ("ann", "equivalent" or "temporal")."""
    value = name.value if isinstance(name, Mode) else name
    if value not in USER_MODES:
        raise ValueError(f"unknown mode {name!r}; choose one of {', '.join(USER_MODES)}")
    return Mode(value)


@dataclass
class ConversionState:
    """What ``lasnn.convert`` did to a model, shared by every converted module of it."""

    config: LASConfig
    original_attn_implementation: str | None
    mode: Mode = Mode.EQUIVALENT
    attention: bool = False
    allowed_ann: list[str] = field(default_factory=list)
    shared_inputs: list[list[str]] = field(default_factory=list)
    undo: list[Callable[[], None]] = field(default_factory=list)
    calibration: object | None = None

    def require_frozen(self, action: str) -> None:
        """ValueError while a ``lasnn.prepare`` calibration is still open (``action``: what needs it frozen)."""
        if self.calibration is not None:
            raise ValueError(f"this model is still calibrating (lasnn.prepare); call lasnn.freeze(model) before {action}")

    def rollback(self) -> None:
        """Undo every change, newest first."""
        while self.undo:
            self.undo.pop()()


def get_state(model: nn.Module) -> ConversionState:
    """The conversion state of ``model``; a clear error if it was never converted."""
    state = getattr(model, STATE_ATTR, None)
    if state is None:
        raise ValueError(
            f"{type(model).__name__} is not a lasnn-converted model; call lasnn.convert(model, ...) first"
        )
    return state


def is_converted(model: nn.Module) -> bool:
    return getattr(model, STATE_ATTR, None) is not None


def spiking_mode(model: nn.Module, mode: str | None = None) -> str:
    """The spiking side of an ANN-vs-SNN comparison: ``mode`` if given, else the model's current spiking mode
    ("equivalent" when it is in "ann")."""
    state = get_state(model)
    name = parse_mode(mode).value if mode is not None else state.mode.value
    if name == Mode.ANN.value:
        if mode is not None:
            raise ValueError("the spiking side of a comparison cannot be 'ann'; use mode='equivalent' or 'temporal'")
        name = Mode.EQUIVALENT.value
    return name
