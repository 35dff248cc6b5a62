"""Conversion rules: what each module becomes, as an ordered registry that surgery walks.

A :class:`ConversionRule` says what it matches (``match(module)`` returns a :class:`Match`, or None when the rule
does not apply) and how it builds the spiking counterpart (``build(module, detail, edit)``). Every change a build
makes goes through ``edit`` (:class:`Edit`), which records its undo, so a failed conversion and
``lasnn.load``'s rebuild restore or repeat it exactly. Rules are tried in order; the first that matches decides.
A match without ``build`` leaves the module as it is (passive parts); a match with a
``problem`` blocks the conversion, naming the module.

Register a rule for your own module with :func:`register_rule` (placed before the built-in rules unless
``before`` names one); register it again before ``lasnn.load`` of a conversion that used it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn as nn
from transformers.pytorch_utils import Conv1D

from ..config import LASConfig
from ..modules import attention as attention_impl
from ..modules.activations import IDENTITY, SpikingActivation, activation_function, is_activation_module
from ..modules.adapters import (
    SpikingGatedMLP,
    SpikingGeluLMHead,
    SpikingTanhHead,
    is_gated_mlp,
    is_gelu_lm_head,
    is_tanh_head,
)
from ..modules.linear import SpikingConv1D, SpikingLinear
from ..modules.norms import SpikingLayerNorm, SpikingRMSNorm, layer_norm_eps, rms_norm_variant
from ..modules.sites import SiteEncoder, make_oat
from ..modules.state import ConversionState
from ..neurons import HGNeuron, OATNeuron
from ..ops.norms import NormNeurons
from .swap import add_child, set_attr, swap_class


@dataclass(frozen=True)
class Match:
    """A rule applies: ``detail`` is handed to its build; ``problem`` says why the module cannot be converted."""

    detail: Any = None
    problem: str | None = None


class Edit:
    """The edits a rule's build may make to the model; each one records its undo in the conversion state."""

    def __init__(self, model: nn.Module, state: ConversionState) -> None:
        self.model = model
        self.state = state

    @property
    def config(self) -> LASConfig:
        return self.state.config

    def add_child(self, module: nn.Module, name: str, child: nn.Module) -> None:
        """Register ``child`` as ``module.<name>`` (its parameters and buffers join the state dict)."""
        self.state.undo.append(add_child(module, name, child))

    def swap_class(self, module: nn.Module, mixin: type) -> None:
        """Put ``mixin`` (a :class:`lasnn.modules.SpikingModule`) in front of ``module``'s class."""
        self.state.undo.append(swap_class(module, mixin))

    def set_attr(self, obj: object, name: str, value: object) -> None:
        """Set a plain attribute that the spiking forward reads."""
        self.state.undo.append(set_attr(obj, name, value))

    def on_undo(self, action: Callable[[], None]) -> None:
        """Run ``action`` when the conversion is rolled back (for any other change a build makes)."""
        self.state.undo.append(action)

    def site(self) -> SiteEncoder:
        """A new OAT site (calibrated, or with the recipe's fixed thresholds)."""
        return SiteEncoder(make_oat(self.config))

    def hg(self, function: str) -> HGNeuron:
        """A new HG neuron of ``function`` (one of ``lasnn.neurons.HG_FUNCTIONS``)."""
        return HGNeuron.for_function(function, time_steps=self.config.time_steps, code=self.config.code)


Matcher = Callable[[nn.Module], Match | None]
Builder = Callable[[nn.Module, Any, Edit], None]


@dataclass(frozen=True)
class ConversionRule:
    """``name``: unique; ``match``: Match or None; ``build``: None for "keep as it is"."""

    name: str
    match: Matcher
    build: Builder | None = None


def match_type(*types: type) -> Matcher:
    """A matcher for modules of the given types."""
    return lambda module: Match() if isinstance(module, types) else None


def _synapse(mixin: type) -> Builder:
    def build(module: nn.Module, _: Any, edit: Edit) -> None:
        edit.add_child(module, "lasnn_input", edit.site())
        edit.swap_class(module, mixin)

    return build


def _norm_neurons(config: LASConfig, layer_norm: bool) -> NormNeurons:
    factory = NormNeurons.layer_norm if layer_norm else NormNeurons.rms_norm
    neurons = factory(time_steps=config.time_steps, code=config.code)
    for child in neurons.modules():
        if isinstance(child, OATNeuron):
            child.rounding = config.rounding
            if config.fixed_thresholds is not None:
                nor, out = (torch.tensor(value) for value in config.fixed_thresholds)
                child.load_calibration_state({"theta_nor": nor, "theta_out": out})
    return neurons


def _match_layer_norm(module: nn.Module) -> Match | None:
    if not isinstance(module, nn.LayerNorm):
        return None
    if layer_norm_eps(module) is None:
        return Match(problem="LayerNorm over several axes or with a custom forward")
    return Match()


def _build_layer_norm(module: nn.Module, _: Any, edit: Edit) -> None:
    edit.add_child(module, "lasnn_norm", _norm_neurons(edit.config, layer_norm=True))
    edit.swap_class(module, SpikingLayerNorm)


def _match_rms_norm(module: nn.Module) -> Match | None:
    if not type(module).__name__.lower().endswith("rmsnorm"):
        return None
    variant = rms_norm_variant(module)
    if variant is None:
        return Match(problem="RMSNorm whose forward matches neither w*x/rms(x) nor (1+w)*x/rms(x)")
    return Match(variant)


def _build_rms_norm(module: nn.Module, variant: tuple[float, bool], edit: Edit) -> None:
    eps, unit_offset = variant
    edit.add_child(module, "lasnn_norm", _norm_neurons(edit.config, layer_norm=False))
    edit.set_attr(module, "_lasnn_eps", eps)
    edit.set_attr(module, "_lasnn_unit_offset", unit_offset)
    edit.swap_class(module, SpikingRMSNorm)


def _match_activation(module: nn.Module) -> Match | None:
    """An activation's HG function; None for identity activations (nothing to convert, and no later rule matches a
    parameter-free leaf), so each module is probed once."""
    if not is_activation_module(module):
        return None
    function = activation_function(module)
    if function == IDENTITY:
        return None
    if function is None:
        return Match(problem=f"activation {type(module).__name__} has no HG neuron "
                             "(supported: gelu, gelu_tanh, silu, sigmoid, tanh, relu)")
    return Match(function)


def _build_activation(module: nn.Module, function: str, edit: Edit) -> None:
    edit.add_child(module, "lasnn_neuron", edit.hg(function))
    edit.swap_class(module, SpikingActivation)


def _build_attention(module: nn.Module, _: Any, edit: Edit) -> None:
    rope = any(name.endswith("rotary_emb") for name, _ in edit.model.named_modules())
    edit.add_child(module, "lasnn_attention", attention_impl.SpikingAttention(edit.config, edit.state, rope=rope))


def _build_gated_mlp(module: nn.Module, _: Any, edit: Edit) -> None:
    edit.add_child(module, "lasnn_up", edit.site())
    edit.swap_class(module, SpikingGatedMLP)


def _head(child: str, function: str, mixin: type) -> Builder:
    def build(module: nn.Module, _: Any, edit: Edit) -> None:
        edit.add_child(module, child, edit.hg(function))
        edit.swap_class(module, mixin)

    return build


def _when(predicate: Callable[[nn.Module], bool]) -> Matcher:
    return lambda module: Match() if predicate(module) else None


PASSIVE_TYPES: tuple[type, ...] = (nn.Dropout, nn.Identity, nn.Embedding, nn.ModuleList, nn.ModuleDict, nn.Sequential)


def _own_parameters(module: nn.Module) -> list[nn.Parameter]:
    """Parameters registered on ``module`` itself that no child uses too (tied copies are the child's)."""
    in_children = {id(p) for child in module.children() for p in child.parameters()}
    return [p for p in module.parameters(recurse=False) if id(p) not in in_children]


def _match_own_parameters(module: nn.Module) -> Match | None:
    if _own_parameters(module):
        return Match(problem=f"{type(module).__name__} holds parameters used outside any supported layer "
                             "(register a lasnn.ConversionRule for it, or keep it in float with allow_ann)")
    return None


BUILTIN_RULES: tuple[ConversionRule, ...] = (
    ConversionRule("linear", match_type(nn.Linear), _synapse(SpikingLinear)),
    ConversionRule("conv1d", match_type(Conv1D), _synapse(SpikingConv1D)),
    ConversionRule("layer_norm", _match_layer_norm, _build_layer_norm),
    ConversionRule("rms_norm", _match_rms_norm, _build_rms_norm),
    ConversionRule("activation", _match_activation, _build_activation),
    ConversionRule("attention", _when(attention_impl.uses_attention_interface), _build_attention),
    ConversionRule("gated_mlp", _when(is_gated_mlp), _build_gated_mlp),
    ConversionRule("tanh_head", _when(is_tanh_head), _head("lasnn_tanh", "tanh", SpikingTanhHead)),
    ConversionRule("gelu_lm_head", _when(is_gelu_lm_head), _head("lasnn_gelu", "gelu", SpikingGeluLMHead)),
    ConversionRule("passive", match_type(*PASSIVE_TYPES)),
    ConversionRule("own_parameters", _match_own_parameters),
)

_RULES: list[ConversionRule] = list(BUILTIN_RULES)


def conversion_rules() -> tuple[ConversionRule, ...]:
    """The registered rules, in the order surgery tries them."""
    return tuple(_RULES)


def register_rule(rule: ConversionRule, before: str | None = None) -> ConversionRule:
    """Add ``rule`` in front of the rule named ``before`` (default: in front of every rule); returns it."""
    if not isinstance(rule, ConversionRule):
        raise TypeError(f"register_rule expects a lasnn.ConversionRule, got {type(rule).__name__}")
    names = [r.name for r in _RULES]
    if rule.name in names:
        raise ValueError(f"a conversion rule named {rule.name!r} is already registered; unregister_rule it first")
    if before is not None and before not in names:
        raise ValueError(f"no conversion rule named {before!r}; registered: {', '.join(names)}")
    _RULES.insert(0 if before is None else names.index(before), rule)
    return rule


def unregister_rule(name: str) -> None:
    """Remove the rule named ``name`` (built-in rules included)."""
    for index, rule in enumerate(_RULES):
        if rule.name == name:
            del _RULES[index]
            return
    raise ValueError(f"no conversion rule named {name!r}; registered: {', '.join(r.name for r in _RULES)}")


def find_rule(module: nn.Module) -> tuple[ConversionRule, Match] | None:
    """The first registered rule that matches ``module``, with its match."""
    for rule in _RULES:
        found = rule.match(module)
        if found is not None:
            return rule, found
    return None
