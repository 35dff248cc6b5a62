"""Model surgery: decide what every module becomes (the plan, from the rule registry), then apply it in place
with an undo log."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch.nn as nn
from accelerate.utils import align_module_device

from ..config import LASConfig
from ..modules.attention import uses_attention_interface
from ..modules.state import STATE_ATTR, ConversionState
from .rules import ConversionRule, Edit, find_rule
from .swap import set_attr


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
    """One module and the rule that converts it (``detail``: what the rule's match found)."""

    name: str
    module: nn.Module
    rule: ConversionRule
    detail: Any = None

    @property
    def kind(self) -> str:
        return self.rule.name


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    allowed_ann: list[str] = field(default_factory=list)


def plan_conversion(model: nn.Module, config: LASConfig) -> Plan:
    """Walk the model once and decide each module's spiking form from the registered rules; nothing is changed."""
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
            found = find_rule(module)
        if found is None:
            continue
        rule, match = found
        if match.problem is not None:
            plan.unsupported.append(f"{name or type(module).__name__}: {match.problem}")
        elif rule.build is not None:
            plan.steps.append(Step(name, module, rule, match.detail))
    if any(step.kind == "attention" for step in plan.steps) and not model._can_set_attn_implementation():
        plan.unsupported.append(f"{type(model).__name__}: does not dispatch attention through transformers' AttentionInterface")
    return plan


def apply_plan(model: nn.Module, plan: Plan, state: ConversionState) -> None:
    """Give every planned module its spiking form, in place; every change is recorded in ``state.undo``."""
    edit = Edit(model, state)
    for step in plan.steps:
        state.undo.append(set_attr(step.module, STATE_ATTR, state))
        step.rule.build(step.module, step.detail, edit)
    for name in plan.allowed_ann:  # float attention still dispatches through the registered function
        for module in model.get_submodule(name).modules():
            if uses_attention_interface(module):
                state.undo.append(set_attr(module, STATE_ATTR, state))
