"""Data-flow audit: trace one forward and list every op that consumed a non-spike float tensor.

Every tensor derived from the token embeddings is tracked with a kind:
- ``spike``: the decoded output of a neuron (and views/reshapes/concatenations of spikes);
- ``current``: anything else on the data path (synapse outputs, residual sums, constant-weighted terms).
Rules for ops outside lasnn's own modules (which are trusted: their internals are the spiking math):
- wiring (views, reshapes, slicing, concatenation, dtype moves) keeps the kind;
- linear ops (add, sub, neg, sums, means, products or quotients with a constant) give a current;
- a synaptic op (linear, matmul, products of two data-path tensors, ...) must read spikes only;
- any other op on a data-path tensor is a non-spiking non-linearity: a violation.
Tensors that do not depend on the tokens (positions, masks, RoPE tables, weights) are constants.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

import torch
import torch.nn as nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten
from torch.utils.weak import WeakIdKeyDictionary

from ..neurons import Neuron
from .activations import SpikingActivation
from .adapters import SpikingGatedMLP, SpikingGeluLMHead, SpikingTanhHead
from .linear import SpikingSynapse
from .norms import SpikingLayerNorm, SpikingRMSNorm
from .state import get_state, is_converted

SPIKE, CURRENT = "spike", "current"

WIRING = {
    "view", "reshape", "transpose", "permute", "contiguous", "__getitem__", "__setitem__", "cat", "stack", "split",
    "chunk", "unbind", "expand", "expand_as", "repeat", "repeat_interleave", "unsqueeze", "squeeze", "flatten",
    "unflatten", "to", "type", "float", "half", "bfloat16", "double", "clone", "narrow", "select", "index_select",
    "gather", "detach", "dropout", "t", "roll", "flip", "movedim", "view_as", "reshape_as", "type_as", "cpu", "cuda",
    "masked_select", "take_along_dim", "tensor_split", "__iter__", "unfold", "as_strided", "__get__",
}
LINEAR = {"add", "__add__", "__radd__", "__iadd__", "sub", "__sub__", "__rsub__", "__isub__", "neg", "__neg__", "sum",
          "mean", "cumsum", "masked_fill", "where", "__pos__"}
SCALING = {"mul", "__mul__", "__rmul__", "__imul__", "div", "__truediv__", "__itruediv__", "__div__"}
CONSTRUCTORS = {"new_zeros", "new_ones", "new_empty", "new_full", "new_tensor", "zeros_like", "ones_like", "empty_like",
                "full_like"}
SYNAPTIC = {"linear", "matmul", "__matmul__", "__rmatmul__", "bmm", "mm", "addmm", "baddbmm", "einsum", "conv1d",
            "conv2d", "scaled_dot_product_attention", "bilinear", "addbmm", "outer", "dot", "mv", "tensordot"}

TRUSTED_TYPES: tuple[type, ...] = (SpikingSynapse, SpikingLayerNorm, SpikingRMSNorm, SpikingActivation, SpikingGatedMLP,
                                   SpikingTanhHead, SpikingGeluLMHead, Neuron)
SPIKE_EMITTERS: tuple[type, ...] = (SpikingActivation, Neuron)


@dataclass(frozen=True)
class Violation:
    module: str
    op: str
    reason: str

    def __str__(self) -> str:
        return f"{self.module or '<model>'}: {self.op} ({self.reason})"


@dataclass
class AuditReport:
    """Ops that consumed non-spike float tensors, with how often each occurred in the traced forward."""

    violations: dict[Violation, int] = field(default_factory=dict)
    allowed: dict[Violation, int] = field(default_factory=dict)
    ops_checked: int = 0

    @property
    def clean(self) -> bool:
        return not self.violations

    def to_dict(self) -> dict[str, Any]:
        def rows(d: dict[Violation, int]) -> list[dict[str, Any]]:
            return [{"module": v.module, "op": v.op, "reason": v.reason, "count": n} for v, n in d.items()]

        return {"clean": self.clean, "ops_checked": self.ops_checked, "violations": rows(self.violations),
                "allowed_ann": rows(self.allowed)}

    def __str__(self) -> str:
        if self.clean:
            extra = f"; {len(self.allowed)} op(s) inside allow_ann parts" if self.allowed else ""
            return f"audit clean: every synaptic input is a spike train ({self.ops_checked} ops traced{extra})"
        lines = [f"audit found {len(self.violations)} non-spiking op(s):"]
        lines += [f"  - {v} x{n}" for v, n in self.violations.items()]
        return "\n".join(lines)


def _op_name(func: Any) -> str:
    """The op's name with the in-place suffix dropped (``add_`` -> ``add``)."""
    name = getattr(func, "__name__", repr(func))
    return name[:-1] if name.endswith("_") and not name.endswith("__") else name


class _Tracer(TorchFunctionMode):
    def __init__(self, names: dict[int, str], allowed: list[str]) -> None:
        super().__init__()
        self.kinds: WeakIdKeyDictionary = WeakIdKeyDictionary()
        self.names = names
        self.allowed = allowed
        self.stack: list[str] = []
        self.trusted = 0
        self.found: Counter[Violation] = Counter()
        self.ops = 0

    def kind(self, t: torch.Tensor) -> str | None:
        return self.kinds.get(t)

    def mark(self, output: Any, kind: str) -> None:
        for t in tree_flatten(output)[0]:
            if isinstance(t, torch.Tensor) and t.is_floating_point():
                self.kinds[t] = kind

    def record(self, op: str, reason: str) -> None:
        module = self.stack[-1] if self.stack else ""
        self.found[Violation(module, op, reason)] += 1

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        kwargs = kwargs or {}
        output = func(*args, **kwargs)
        if self.trusted:
            return output
        inputs = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        kinds = [self.kinds.get(t) for t in inputs]
        tracked = [k for k in kinds if k is not None]
        if not tracked or not any(isinstance(t, torch.Tensor) for t in tree_flatten(output)[0]):
            return output
        self.ops += 1
        name = _op_name(func)
        if name in CONSTRUCTORS:
            return output
        if name in WIRING:
            self.mark(output, SPIKE if all(k == SPIKE for k in tracked) else CURRENT)
        elif name in LINEAR:
            self.mark(output, CURRENT)
        elif name in SCALING and len(tracked) == 1:
            self.mark(output, CURRENT)
        elif name in SYNAPTIC or name in SCALING:
            if any(k != SPIKE for k in tracked):
                self.record(name, "synaptic op reads a non-spike tensor")
            self.mark(output, CURRENT)
        else:
            self.record(name, "non-linear op on a data-path tensor outside any spiking neuron")
            self.mark(output, CURRENT)
        return output


_ACTIVE = threading.local()


@contextmanager
def _module_hooks(model: nn.Module, tracer: _Tracer) -> Iterator[None]:
    embeddings = model.get_input_embeddings()

    def pre(module: nn.Module, args: Any) -> None:
        tracer.stack.append(tracer.names.get(id(module), type(module).__name__))
        if isinstance(module, TRUSTED_TYPES):
            tracer.trusted += 1

    def post(module: nn.Module, args: Any, output: Any) -> None:
        tracer.stack.pop()
        if isinstance(module, TRUSTED_TYPES):
            tracer.trusted -= 1
            if not tracer.trusted:
                tracer.mark(output, SPIKE if isinstance(module, SPIKE_EMITTERS) else CURRENT)
        elif module is embeddings:
            tracer.mark(output, CURRENT)

    handles = [torch.nn.modules.module.register_module_forward_pre_hook(pre),
               torch.nn.modules.module.register_module_forward_hook(post)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def trusted_region() -> Iterator[None]:
    """Mark ops inside lasnn's own functions (e.g. the attention interface) as spiking math, not glue code."""
    tracer: _Tracer | None = getattr(_ACTIVE, "tracer", None)
    if tracer is None:
        yield
        return
    tracer.trusted += 1
    try:
        yield
    finally:
        tracer.trusted -= 1


def mark_current(output: Any) -> Any:
    """Record ``output`` of a trusted function as a synaptic current (no-op outside an audit)."""
    tracer: _Tracer | None = getattr(_ACTIVE, "tracer", None)
    if tracer is not None and not tracer.trusted:
        tracer.mark(output, CURRENT)
    return output


def trace(model: nn.Module, batch: Mapping[str, Any], allowed: list[str] | None = None) -> AuditReport:
    """Run one forward of ``model`` on ``batch`` under the tracer and return what it found."""
    names = {id(m): n for n, m in model.named_modules()}
    allowed = allowed or []
    tracer = _Tracer(names, allowed)
    _ACTIVE.tracer = tracer
    try:
        with torch.no_grad(), _module_hooks(model, tracer), tracer:
            model(**batch)
    finally:
        _ACTIVE.tracer = None
    report = AuditReport(ops_checked=tracer.ops)
    for violation, count in tracer.found.items():
        inside_allowed = any(violation.module == a or violation.module.startswith(a + ".") for a in allowed)
        (report.allowed if inside_allowed else report.violations)[violation] = count
    return report


def audit(model: nn.Module, batch: Mapping[str, Any]) -> AuditReport:
    """Every op of one forward that consumed a non-spike float tensor (empty for a fully converted model)."""
    allowed = list(get_state(model).allowed_ann) if is_converted(model) else []
    return trace(model, batch, allowed)
