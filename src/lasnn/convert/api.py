"""The public conversion API: convert (or prepare → calibrate → freeze), modes, audit."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn as nn

from ..config import LASConfig
from ..modules import attention as attention_impl
from ..modules.sites import SiteEncoder
from ..modules.state import STATE_ATTR, ConversionState, Mode, get_state, is_converted, parse_mode
from ..neurons import HGNeuron, MTNeuron, OATNeuron
from .audit import AuditReport, trace
from .audit import audit as _audit
from .calibrate import CalibrationRun
from .calibrate import calibrate as _calibrate
from .inputs import validate_batch
from .surgery import ConversionError, Plan, apply_plan, plan_conversion
from .swap import set_attr

SUPPORTED_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


def _check_model(model: nn.Module, config: LASConfig) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"lasnn.convert expects a torch.nn.Module (a transformers model), got {type(model).__name__}")
    if not isinstance(config, LASConfig):
        raise TypeError(f"config must be a lasnn.LASConfig, got {type(config).__name__}")
    if is_converted(model):
        raise ValueError("this model is already converted; convert a fresh model, or switch modes with lasnn.set_mode")
    if model.training:
        raise ValueError("the model is in training mode; call model.eval() before lasnn.convert (dropout must be off)")
    dtypes = {p.dtype for p in model.parameters() if p.is_floating_point()}
    unsupported = sorted(str(d) for d in dtypes if d not in SUPPORTED_DTYPES)
    if unsupported:
        raise ValueError(f"unsupported parameter dtype(s) {unsupported}; lasnn converts float32, float16 and bfloat16 models")
    if not hasattr(model, "get_input_embeddings") or not hasattr(model, "config"):
        raise TypeError(f"{type(model).__name__} is not a transformers PreTrainedModel")


def _check_convertible(model: nn.Module, config: LASConfig, calibration_data: Any) -> None:
    _check_model(model, config)
    if calibration_data is None and config.fixed_thresholds is None:
        raise ValueError(
            "calibration_data is required to set each site's thresholds: pass an iterable of tokenizer output dicts "
            "(default 32 sequences), or use LASConfig.paper() / fixed_thresholds=(theta_nor, theta_out)"
        )
    if isinstance(calibration_data, (Mapping, str, torch.Tensor)):
        raise ValueError("calibration_data must be an iterable of input dicts (e.g. a list of tokenizer outputs), not a single "
                         f"{type(calibration_data).__name__}")


AUDIT_TOKENS = 32


def audit_sample(batch: Mapping[str, Any]) -> dict[str, Any]:
    """The first sequence of ``batch``, cut to ``AUDIT_TOKENS`` tokens: the audit checks op kinds, not sizes."""
    return {key: value[:1, :AUDIT_TOKENS] if isinstance(value, torch.Tensor) and value.dim() >= 2 else value
            for key, value in batch.items()}


def _switch_attention(model: nn.Module, state: ConversionState, spiking: bool) -> None:
    if state.attention:
        model.set_attn_implementation(attention_impl.IMPLEMENTATION if spiking else state.original_attn_implementation)


def build_spiking(model: nn.Module, config: LASConfig) -> tuple[ConversionState, Plan]:
    """Plan and apply the module surgery (no calibration); the model is left unchanged on any error."""
    plan = plan_conversion(model, config)
    if plan.unsupported:
        raise ConversionError(plan.unsupported)
    state = ConversionState(config=config, original_attn_implementation=model.config._attn_implementation,
                            allowed_ann=plan.allowed_ann)
    state.attention = any(step.kind == "attention" for step in plan.steps)
    try:
        state.undo.append(set_attr(model, STATE_ATTR, state))
        apply_plan(model, plan, state)
        if state.attention:
            attention_impl.register()
            _switch_attention(model, state, spiking=True)
            state.undo.append(lambda: _switch_attention(model, state, spiking=False))
    except BaseException:
        state.rollback()
        raise
    return state, plan


def convert(model: nn.Module, config: LASConfig | None = None, calibration_data: Iterable[Any] | None = None) -> nn.Module:
    """Convert ``model`` in place into a fully spike-driven model and return it (in "equivalent" mode).

    Every linear/matmul/product input becomes the spike train of an OAT site, every non-linearity an HG neuron.
    Thresholds come from ``calibration_data`` (an iterable of tokenizer output dicts); afterwards one forward is
    audited, and any op that still reads a float tensor outside ``config.allow_ann`` fails the conversion. On any
    error the model is restored exactly as it was.
    """
    config = config or LASConfig()
    _check_convertible(model, config, calibration_data)
    state, _ = build_spiking(model, config)
    try:
        if calibration_data is not None:
            _audit_conversion(model, state, _calibrate(model, state, calibration_data))
        state.mode = Mode.EQUIVALENT
    except BaseException:
        state.rollback()
        raise
    return model


def _audit_conversion(model: nn.Module, state: ConversionState, first: Mapping[str, Any]) -> None:
    state.mode = Mode.EQUIVALENT
    report = trace(model, audit_sample(first), state.allowed_ann)
    if not report.clean:
        raise ConversionError([str(v) for v in report.violations])


def prepare(model: nn.Module, config: LASConfig | None = None) -> nn.Module:
    """Step 1 of 3 of a conversion on your own data loop: the module surgery, with every neuron that learns from
    data observing. Then :func:`calibrate` (any number of times, on any batches) and :func:`freeze`.
    ``convert(model, config, data)`` is the same in one call."""
    config = config or LASConfig()
    _check_model(model, config)
    state, _ = build_spiking(model, config)
    try:
        state.calibration = CalibrationRun(model, state)
    except BaseException:
        state.rollback()
        raise
    return model


def _run_of(model: nn.Module, verb: str) -> CalibrationRun:
    run = get_state(model).calibration
    if not isinstance(run, CalibrationRun):
        raise ValueError(f"lasnn.{verb} needs a model from lasnn.prepare that is not frozen yet; call "
                         "lasnn.prepare(model, config) first (lasnn.convert calibrates and freezes in one call)")
    return run


def calibrate(model: nn.Module, batches: Iterable[Any]) -> int:
    """Step 2 of 3: run every batch of ``batches`` (tokenizer output dicts) through the float path while the
    neurons observe; call it as often as you like. Returns the sequences observed so far."""
    if isinstance(batches, (str, torch.Tensor)):
        raise ValueError("lasnn.calibrate expects an input dict or an iterable of them (tokenizer outputs), not a "
                         f"{type(batches).__name__}")
    return _run_of(model, "calibrate").observe([batches] if isinstance(batches, Mapping) else batches)


def freeze(model: nn.Module) -> nn.Module:
    """Step 3 of 3: fix every threshold from what the neurons observed, audit one forward, and switch to
    "equivalent" mode. On any error (no data, a degenerate site, an audit violation) the model is restored to the
    unconverted model it was before :func:`prepare`."""
    run = _run_of(model, "freeze")
    state = get_state(model)
    try:
        _audit_conversion(model, state, run.freeze())
        state.calibration = None
        state.mode = Mode.EQUIVALENT
    except BaseException:
        state.rollback()  # run.freeze removed its hooks first
        raise
    return model


def set_mode(model: nn.Module, mode: str) -> None:
    """Switch a converted model between "ann" (original float path), "equivalent" and "temporal"."""
    state = get_state(model)
    state.require_frozen("switching modes")
    target = parse_mode(mode)
    if (target is Mode.ANN) != (state.mode is Mode.ANN):
        _switch_attention(model, state, spiking=target is not Mode.ANN)
    for module in model.modules():
        if isinstance(module, SiteEncoder):
            module.clear_cache()
    state.mode = target


def set_code(model: nn.Module, code: str) -> None:
    """Switch the spike code of a converted model's MT / OAT / HG neurons: "binary" (K steps) or "naf" (signed
    digits, K + 1 steps). The trains and the spike and energy accounting change; the decoded values, so every output,
    and the calibration do not."""
    state = get_state(model)
    config = dataclasses.replace(state.config, code=code)
    for module in model.modules():
        if isinstance(module, (MTNeuron, OATNeuron, HGNeuron)):
            module.code = config.code
        elif isinstance(module, SiteEncoder):
            module.clear_cache()
    state.config = config


def get_mode(model: nn.Module) -> str:
    return get_state(model).mode.value


@contextmanager
def mode(model: nn.Module, name: str) -> Iterator[nn.Module]:
    """Run a block in another mode, then switch back: ``with lasnn.mode(model, "ann"): ...``."""
    previous = get_state(model).mode
    set_mode(model, name)
    try:
        yield model
    finally:
        set_mode(model, previous.value)


def audit(model: nn.Module, batch: Mapping[str, Any]) -> AuditReport:
    """Trace one forward on ``batch`` and list every op that consumed a non-spike float tensor."""
    return _audit(model, validate_batch(model, batch))
