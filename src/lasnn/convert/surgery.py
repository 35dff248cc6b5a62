"""Model surgery: decide what every module becomes (the plan), then apply it in place with an undo log."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn
from accelerate.utils import align_module_device
from transformers.pytorch_utils import Conv1D

from ..neurons import HGNeuron, OATNeuron
from ..ops.norms import NormNeurons
from . import attention as attention_impl
from .activations import IDENTITY, SpikingActivation, activation_function, is_activation_module
from .adapters import (
    SpikingGatedMLP,
    SpikingGeluLMHead,
    SpikingTanhHead,
    is_gated_mlp,
    is_gelu_lm_head,
    is_tanh_head,
)
from .config import LASConfig
from .linear import SpikingConv1D, SpikingLinear
from .norms import SpikingLayerNorm, SpikingRMSNorm, layer_norm_eps, rms_norm_variant
from .sites import SiteEncoder, make_oat
from .state import STATE_ATTR, ConversionState
from .swap import add_child, set_attr, swap_class

PASSIVE_TYPES: tuple[type, ...] = (nn.Dropout, nn.Identity, nn.Embedding, nn.ModuleList, nn.ModuleDict, nn.Sequential)


class ConversionError(ValueError):
    """A model could not be converted fully; ``problems`` lists every module or op that blocked it."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"lasnn cannot convert {len(problems)} part(s) of this model to spikes:\n{listing}\n"
            "Leave them in float explicitly with LASConfig(allow_ann=[...]) (they are then listed in every report), "
            "or open an issue naming the model family."
        )


@dataclass
class Step:
    name: str
    module: nn.Module
    kind: str
    detail: object = None


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    allowed_ann: list[str] = field(default_factory=list)


def _classify(module: nn.Module) -> tuple[str | None, object, str | None]:
    """(kind, detail, problem) for one module; kind None means nothing to do."""
    if isinstance(module, nn.Linear):
        return "linear", None, None
    if isinstance(module, Conv1D):
        return "conv1d", None, None
    if isinstance(module, nn.LayerNorm):
        eps = layer_norm_eps(module)
        return ("layer_norm", eps, None) if eps is not None else (None, None, "LayerNorm over several axes or with a custom forward")
    if type(module).__name__.lower().endswith("rmsnorm"):
        variant = rms_norm_variant(module)
        return ("rms_norm", variant, None) if variant is not None else (None, None, "RMSNorm whose forward matches neither w*x/rms(x) nor (1+w)*x/rms(x)")
    if is_activation_module(module):
        function = activation_function(module)
        if function is None:
            return None, None, f"activation {type(module).__name__} has no HG neuron (supported: gelu, gelu_tanh, silu, sigmoid, tanh, relu)"
        return (None, None, None) if function == IDENTITY else ("activation", function, None)
    if attention_impl.uses_attention_interface(module):
        return "attention", None, None
    if is_gated_mlp(module):
        return "gated_mlp", None, None
    if is_tanh_head(module):
        return "tanh_head", None, None
    if is_gelu_lm_head(module):
        return "gelu_lm_head", None, None
    if isinstance(module, PASSIVE_TYPES):
        return None, None, None
    if _own_parameters(module):
        return None, None, f"{type(module).__name__} holds parameters used outside any supported layer"
    return None, None, None


def _own_parameters(module: nn.Module) -> list[nn.Parameter]:
    """Parameters registered on ``module`` itself that no child uses too (tied copies are the child's)."""
    in_children = {id(p) for child in module.children() for p in child.parameters()}
    return [p for p in module.parameters(recurse=False) if id(p) not in in_children]


def plan_conversion(model: nn.Module, config: LASConfig) -> Plan:
    """Walk the model once and decide each module's spiking form; nothing is changed."""
    plan = Plan()
    skipped: list[str] = []
    for name, module in model.named_modules():
        if any(name.startswith(prefix + ".") for prefix in skipped):
            continue
        if name and config.allows_ann(name, module):
            plan.allowed_ann.append(name)
            skipped.append(name)
            continue
        with align_module_device(module):  # offloaded weights are loaded for the probes, then dropped again
            kind, detail, problem = _classify(module)
        if problem is not None:
            plan.unsupported.append(f"{name or type(module).__name__}: {problem}")
        elif kind is not None:
            plan.steps.append(Step(name, module, kind, detail))
    if any(step.kind == "attention" for step in plan.steps) and not model._can_set_attn_implementation():
        plan.unsupported.append(f"{type(model).__name__}: does not dispatch attention through transformers' AttentionInterface")
    return plan


def _hg(config: LASConfig, function: str) -> HGNeuron:
    return HGNeuron.for_function(function, time_steps=config.time_steps, code=config.code)


def _site(config: LASConfig) -> SiteEncoder:
    return SiteEncoder(make_oat(config))


def _norm_neurons(config: LASConfig, kind: str) -> NormNeurons:
    factory = NormNeurons.layer_norm if kind == "layer_norm" else NormNeurons.rms_norm
    neurons = factory(time_steps=config.time_steps, code=config.code)
    for child in neurons.modules():
        if isinstance(child, OATNeuron):
            child.rounding = config.rounding
            if config.fixed_thresholds is not None:
                nor, out = (torch.tensor(value) for value in config.fixed_thresholds)
                child.load_calibration_state({"theta_nor": nor, "theta_out": out})
    return neurons


def apply_plan(plan: Plan, state: ConversionState) -> None:
    """Give every planned module its spiking form, in place; every change is recorded in ``state.undo``."""
    config, undo = state.config, state.undo
    for step in plan.steps:
        module = step.module
        undo.append(set_attr(module, STATE_ATTR, state))
        if step.kind in ("linear", "conv1d"):
            undo.append(add_child(module, "lasnn_input", _site(config)))
            undo.append(swap_class(module, SpikingLinear if step.kind == "linear" else SpikingConv1D))
        elif step.kind in ("layer_norm", "rms_norm"):
            undo.append(add_child(module, "lasnn_norm", _norm_neurons(config, step.kind)))
            if step.kind == "rms_norm":
                eps, unit_offset = step.detail
                undo.append(set_attr(module, "_lasnn_eps", eps))
                undo.append(set_attr(module, "_lasnn_unit_offset", unit_offset))
            undo.append(swap_class(module, SpikingLayerNorm if step.kind == "layer_norm" else SpikingRMSNorm))
        elif step.kind == "activation":
            undo.append(add_child(module, "lasnn_neuron", _hg(config, step.detail)))
            undo.append(swap_class(module, SpikingActivation))
        elif step.kind == "attention":
            undo.append(add_child(module, "lasnn_attention", attention_impl.AttentionNeurons(config)))
        elif step.kind == "gated_mlp":
            undo.append(add_child(module, "lasnn_up", _site(config)))
            undo.append(swap_class(module, SpikingGatedMLP))
        elif step.kind == "tanh_head":
            undo.append(add_child(module, "lasnn_tanh", _hg(config, "tanh")))
            undo.append(swap_class(module, SpikingTanhHead))
        elif step.kind == "gelu_lm_head":
            undo.append(add_child(module, "lasnn_gelu", _hg(config, "gelu")))
            undo.append(swap_class(module, SpikingGeluLMHead))
