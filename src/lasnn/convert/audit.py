"""Data-flow audit: trace every aten op of one forward and list each one that is not spike-driven.

Nothing is trusted: lasnn's own modules, neurons and functions are traced like the model's code. A
``TorchDispatchMode`` sees every aten op (inside any module, hook or ``torch.vmap``, in-place and ``out=`` writes
read from the op schema); a ``TorchFunctionMode`` catches values leaving torch (``Tensor.numpy``, ``tolist``,
``__array__``, ``__dlpack__``). Global module hooks name the innermost module running each op.

Kinds of data-dependent tensors (untracked tensors are constants: weights, buffers, masks, positions, RoPE tables):

- CURRENT: a data-path float that is not a spike train: the input embeddings (and float ``inputs_embeds``),
  synapse outputs, sums, membranes.
- CODE: a discrete value: data-derived bool/int tensors, floor/round/trunc/ceil, bit-pattern views, selections
  of constants by codes, and any op whose only dynamic inputs are codes (a table function of discrete states).
- SPIKE: a spike train or its decoded value: code x constant (an emission), kept by wiring, sign, zero fills,
  constant gains and constant clamps.

Rules (op names are aten overload packets, in-place ``_`` dropped):

- wiring (views, cat, index, casts, copies): SPIKE if all data inputs are SPIKE, CODE if all CODE, else CURRENT;
  selecting from constants by a code gives a CODE; ``where``, ``masked_fill`` and padding keep a SPIKE only with
  a zero (or NaN) fill.
- add, sub, sums, means, cumsum, diff: CURRENT (CODE if only codes).
- comparisons, logic, bit ops, bucketize, counts, floor/round/trunc/ceil, sign, casts to integers: CODE.
- abs, neg, nan_to_num, copysign, clamp / minimum / maximum against constants or codes: keep the dynamic kind.
- mul: CURRENT x constant = CURRENT (a gain); CODE x constant or CODE x CODE = SPIKE; CODE x SPIKE = SPIKE;
  CODE x CURRENT = CURRENT (a gated gain); SPIKE x SPIKE or SPIKE x CURRENT = CURRENT; CURRENT x CURRENT is a
  violation (product of two dynamic tensors with no spike operand). div: by a constant or a code as mul; by a
  SPIKE or CURRENT a violation (also reciprocal and ``1 / x``).
- synaptic ops (mm, bmm, addmm, convolutions, ...): one dynamic operand must be SPIKE, of two at least one; they
  give a CURRENT.
- row max, softmax, attention kernels, sort, top-k, every order statistic: a violation on any dynamic tensor,
  codes included (a row max is a bit-serial winner-take-all of sums and comparisons).
- values leaving torch (``item``, ``float``, ``numpy``, ``tolist``): a violation for CURRENT and SPIKE.
- any other op (exp, log, pow, sqrt, rsqrt, sigmoid, tanh, erf, gelu, silu, relu, frexp, ...) on a CURRENT or
  SPIKE: a violation; on codes only: a CODE.
- in-place and ``out=`` writes give the written tensor the op's kind; its base joins it (CODE < SPIKE < CURRENT).
- temporal mode: a synaptic op's SPIKE operand must hold single spikes of one site's ladder (each non-zero finite
  entry +-c 2^j, one significand c); so must one operand of a product with a SPIKE operand (not a CURRENT: the
  other may be a code-selected weight, e.g. a unit spike times its synapse's weight).
"""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import torch
import torch.nn as nn
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from ..modules.state import Mode, get_state, is_converted


class Kind(IntEnum):
    """Kinds of data-dependent tensors, in join order."""

    CODE = 1
    SPIKE = 2
    CURRENT = 3


CODE, SPIKE, CURRENT = Kind.CODE, Kind.SPIKE, Kind.CURRENT
KindOrConst = Kind | None

SYNAPSE = "synaptic op reads a non-spike tensor"
PRODUCT = "product of two dynamic tensors with no spike operand"
DIVISION = "division by a dynamic tensor"
ORDER = "row max / softmax / order statistic on a data-path tensor"
NONLINEAR = "non-linear op on a data-path tensor"
LEAVES = "value leaves torch"
NOT_A_TRAIN = "temporal synaptic input is not a spike train (entries are not single spikes of one site's ladder)"

WIRING = frozenset({
    "view", "_unsafe_view", "reshape", "_reshape_alias", "as_strided", "alias", "detach", "lift_fresh", "t",
    "transpose", "permute", "expand", "unsqueeze", "squeeze", "flatten", "unflatten", "movedim", "slice", "select",
    "narrow", "split", "split_with_sizes", "unsafe_split", "chunk", "unbind", "diagonal", "unfold", "cat", "stack",
    "clone", "contiguous", "_to_copy", "to", "copy", "repeat", "repeat_interleave", "flip", "roll", "tril", "triu",
    "index", "_unsafe_index", "index_select", "gather", "take_along_dim", "masked_select", "embedding", "index_copy",
    "scatter", "masked_scatter", "slice_scatter", "select_scatter", "view_as_real", "view_as_complex", "dropout",
    "native_dropout", "expand_copy", "permute_copy", "view_copy",
    "transpose_copy", "unsqueeze_copy", "squeeze_copy", "slice_copy", "select_copy", "t_copy", "alias_copy", "fill",
    "zero",
})
ADDITIVE = frozenset({"add", "sub", "rsub", "sum", "mean", "cumsum", "nansum", "diff", "index_add", "scatter_add"})
DISCRETE = frozenset({
    "eq", "ne", "lt", "le", "gt", "ge", "isnan", "isinf", "isfinite", "isposinf", "isneginf", "signbit", "sign", "sgn",
    "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor",
    "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "__and__", "__or__", "__xor__", "__lshift__",
    "__rshift__", "__iand__", "__ior__", "__ixor__", "__ilshift__", "__irshift__", "bucketize", "searchsorted", "any",
    "all", "count_nonzero", "bincount", "histc", "nonzero", "argwhere", "floor", "round", "trunc", "ceil",
})
KEEP = frozenset({"abs", "neg", "positive", "nan_to_num", "clamp", "clamp_min", "clamp_max", "clip", "maximum",
                  "minimum", "fmax", "fmin"})
FILLS = {"masked_fill": 2, "constant_pad_nd": 2, "index_fill": 3}
SYNAPTIC = {
    "mm": (0, 1), "bmm": (0, 1), "mv": (0, 1), "dot": (0, 1), "vdot": (0, 1), "matmul": (0, 1), "linear": (0, 1),
    "tensordot": (0, 1), "addmm": (1, 2), "baddbmm": (1, 2), "addbmm": (1, 2), "addmv": (1, 2), "addr": (1, 2),
    "_int_mm": (0, 1), "_scaled_mm": (0, 1), "einsum": (1,),
}
SYNAPTIC_PREFIXES = ("_weight_", "conv", "_convolution", "_conv_depthwise", "mkldnn_conv", "cudnn_conv", "miopen_conv",
                     "slow_conv", "_slow_conv", "thnn_conv", "_nnpack_spatial_conv")
ORDER_PREFIXES = ("_scaled_dot_product", "scaled_dot_product", "_flash_attention", "_efficient_attention",
                  "_cudnn_attention", "_fused_sdp")
ORDERS = frozenset({
    "max", "min", "amax", "amin", "aminmax", "argmax", "argmin", "sort", "argsort", "msort", "topk", "kthvalue",
    "median", "nanmedian", "mode", "cummax", "cummin", "logsumexp", "logcumsumexp", "softmax", "_softmax",
    "log_softmax", "_log_softmax", "_safe_softmax", "softmin", "max_pool1d", "max_pool2d", "max_pool3d",
    "max_pool2d_with_indices", "max_pool3d_with_indices", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "unique", "_unique", "_unique2", "unique_consecutive", "unique_dim",
})
CONSTRUCTORS = frozenset({"zeros_like", "ones_like", "empty_like", "full_like", "rand_like", "randn_like",
                          "randint_like", "new_zeros", "new_ones", "new_empty", "new_full", "new_empty_strided",
                          "empty_strided"})
OVERWRITES = frozenset({"copy", "fill", "zero"})
SELECTORS = frozenset({"index", "indices", "mask", "condition"})
LEAVING = {torch.Tensor.numpy: "numpy", torch.Tensor.tolist: "tolist", torch.Tensor.__array__: "__array__",
           torch.Tensor.__dlpack__: "__dlpack__"}


@dataclass(frozen=True)
class Violation:
    module: str
    op: str
    reason: str

    def __str__(self) -> str:
        return f"{self.module or '<model>'}: {self.op} ({self.reason})"


@dataclass
class AuditReport:
    """Ops that were not spike-driven, with how often each occurred in the traced forward."""

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
            return f"audit clean: every op on the data path is spike-driven ({self.ops_checked} ops traced{extra})"
        lines = [f"audit found {len(self.violations)} non-spiking op(s):"]
        lines += [f"  - {v} x{n}" for v, n in self.violations.items()]
        return "\n".join(lines)


@dataclass(frozen=True)
class _Arg:
    """One argument of an op schema."""

    index: int
    name: str
    kwarg_only: bool


@dataclass(frozen=True)
class _Op:
    """What the tracer needs of one aten overload: its rule name, data and selector arguments, written arguments."""

    name: str
    rule: str
    data: tuple[_Arg, ...]
    selectors: tuple[_Arg, ...]
    written: tuple[_Arg, ...]


def _rule(name: str, overload: str) -> str:
    if name == "view" and overload == "dtype":
        return "discrete"
    if name in ("max", "min") and overload == "other":
        return "keep"
    for rule, names in (("wiring", WIRING), ("additive", ADDITIVE), ("discrete", DISCRETE), ("keep", KEEP),
                        ("synaptic", SYNAPTIC), ("order", ORDERS), ("constant", CONSTRUCTORS)):
        if name in names:
            return rule
    if name in FILLS:
        return "zero_fill"
    if name in ("true_divide", "floor_divide", "reciprocal"):
        return "div"
    if name in ("_index_put_impl", "index_put"):
        return "index_put"
    if name in ("mul", "div", "copysign", "where"):
        return name
    if name.startswith(SYNAPTIC_PREFIXES):
        return "synaptic"
    if name.startswith(ORDER_PREFIXES):
        return "order"
    if name == "_local_scalar_dense":
        return "leaves"
    return "other"


def _describe(func: torch._ops.OpOverload) -> _Op:
    packet = func.overloadpacket.__name__
    name = packet[:-1] if packet.endswith("_") and not packet.endswith("__") else packet
    args = [_Arg(i, a.name, a.kwarg_only) for i, a in enumerate(func._schema.arguments)]
    writes = {a.name for a in func._schema.arguments if a.alias_info is not None and a.alias_info.is_write}
    write_only = {a.name for a in args if a.name in writes and (a.kwarg_only or name in OVERWRITES)}
    return _Op(name, _rule(name, func._overloadname),
               tuple(a for a in args if a.name not in SELECTORS and a.name not in write_only),
               tuple(a for a in args if a.name in SELECTORS),
               tuple(a for a in args if a.name in writes))


def _value(arg: _Arg, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
    if not arg.kwarg_only and arg.index < len(args):
        return args[arg.index]
    return kwargs.get(arg.name)


def _tensors(value: Any) -> Iterator[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        yield from (v for v in value if isinstance(v, torch.Tensor))


def _wired(kinds: Sequence[KindOrConst]) -> KindOrConst:
    """Kind of data moved or combined unchanged: SPIKE if all are SPIKE, CODE if all are CODE, else CURRENT."""
    tracked = {k for k in kinds if k is not None}
    if not tracked:
        return None
    return tracked.pop() if len(tracked) == 1 else CURRENT


def _is_blank(value: Any) -> bool:
    """Whether a constant fill carries no value: zero or NaN (an omitted fill value defaults to zero)."""
    if isinstance(value, torch.Tensor):
        return not bool((torch.nan_to_num(value, nan=0.0) if value.is_floating_point() else value).any())
    return value is None or value == 0 or value != value


def is_spike_train(t: torch.Tensor) -> bool:
    """Whether every non-zero finite entry of ``t`` is +-c 2^j with one significand c (single spikes of one ladder)."""
    a = (t.detach() if t.is_floating_point() else t.detach().double()).abs()
    a = a[(a != 0) & torch.isfinite(a)]
    if a.numel() == 0:
        return True
    mantissa = torch.frexp(a).mantissa
    return bool((mantissa == mantissa[0]).all())


class _Tracer(TorchDispatchMode):
    """Tracks the kind of every data-dependent tensor through aten ops and counts violations per module."""

    def __init__(self, temporal: bool) -> None:
        super().__init__()
        self.temporal = temporal
        self.kinds: dict[int, tuple[Kind, int, weakref.ref]] = {}
        self.ops: dict[Any, _Op] = {}
        self.stack: list[str] = []
        self.found: Counter[Violation] = Counter()
        self.checked = 0

    # -- kinds ---------------------------------------------------------------------------------------------------
    def kind(self, t: torch.Tensor) -> KindOrConst:
        """Kind of ``t``; a view written through another view of its storage since it was marked joins its base."""
        entry = self.kinds.get(id(t))
        base = t._base
        if base is not None and (entry is None or entry[1] != t._version):
            stored = self.kinds.get(id(base))
            if stored is not None:
                return stored[0] if entry is None else max(entry[0], stored[0])
        return None if entry is None else entry[0]

    def set_kind(self, t: torch.Tensor, kind: Kind) -> None:
        if not (t.is_floating_point() or t.is_complex()):
            kind = CODE
        key = id(t)
        entry = self.kinds.get(key)
        ref = entry[2] if entry is not None else weakref.ref(t, lambda _, key=key: self.kinds.pop(key, None))
        self.kinds[key] = (kind, t._version, ref)

    def mark(self, output: Any, kind: KindOrConst) -> None:
        if kind is None:
            return
        for t in _tensors(output):
            self.set_kind(t, kind)

    def kind_of(self, value: Any) -> KindOrConst:
        """Kind of an argument: a tensor's kind, the wired kind of a tensor list, None for anything else."""
        if isinstance(value, torch.Tensor):
            return self.kind(value)
        if isinstance(value, (list, tuple)):
            return _wired([self.kind(t) for t in value if isinstance(t, torch.Tensor)])
        return None

    # -- reporting -----------------------------------------------------------------------------------------------
    def record(self, op: str, reason: str) -> None:
        self.found[Violation(self.stack[-1] if self.stack else "", op, reason)] += 1

    def leaves(self, op: str, t: torch.Tensor) -> None:
        if self.kind(t) in (SPIKE, CURRENT):
            self.record(op, LEAVES)

    def check_trains(self, op: str, candidates: Sequence[torch.Tensor]) -> None:
        """Temporal mode: one of the candidate operands of a synapse or product must be a spike train (the other
        may be a weight selected by a code, e.g. a gated sub-neuron's synapse)."""
        if self.temporal and candidates and not any(is_spike_train(t) for t in candidates):
            self.record(op, NOT_A_TRAIN)

    # -- dispatch ------------------------------------------------------------------------------------------------
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        """Judge the op on its inputs (before an in-place op changes them), run it, mark what it produced."""
        kwargs = kwargs or {}
        op = self.ops.get(func)
        if op is None:
            op = self.ops[func] = _describe(func)
        values = [_value(a, args, kwargs) for a in op.data]
        kinds = [self.kind_of(v) for v in values]
        selected = bool(op.selectors) and any(self.kind_of(_value(a, args, kwargs)) is not None for a in op.selectors)
        if not selected and all(k is None for k in kinds):
            return func(*args, **kwargs)
        self.checked += 1
        kind = RULES[op.rule](self, _Call(op, args, kwargs, values, kinds))
        if kind is None and selected and op.rule != "constant":
            kind = CODE
        output = func(*args, **kwargs)
        self.mark(output, kind)
        self._written(op, args, kwargs, kind)
        return output

    def _written(self, op: _Op, args: Sequence[Any], kwargs: Mapping[str, Any], kind: KindOrConst) -> None:
        for arg in op.written:
            for t in _tensors(_value(arg, args, kwargs)):
                if kind is not None:
                    self.set_kind(t, kind)
                base = t._base
                if base is not None:
                    joined = max((k for k in (self.kind(base), kind) if k is not None), default=None)
                    if joined is not None:
                        self.set_kind(base, joined)


Rule = Callable[[_Tracer, "_Call"], KindOrConst]


@dataclass(frozen=True)
class _Call:
    """One traced op: its description, raw arguments, and the values and kinds of its data arguments."""

    op: _Op
    args: Sequence[Any]
    kwargs: Mapping[str, Any]
    values: list[Any]
    kinds: list[KindOrConst]

    def arg(self, index: int) -> Any:
        """Positional argument ``index`` (None where it was left at its default)."""
        return self.args[index] if index < len(self.args) else None


def _wiring(tracer: _Tracer, call: _Call) -> KindOrConst:
    return _wired(call.kinds)


def _additive(tracer: _Tracer, call: _Call) -> KindOrConst:
    return CODE if all(k in (None, CODE) for k in call.kinds) else CURRENT


def _discrete(tracer: _Tracer, call: _Call) -> KindOrConst:
    return CODE


def _constant(tracer: _Tracer, call: _Call) -> KindOrConst:
    return None


def _other(tracer: _Tracer, call: _Call) -> KindOrConst:
    """Codes only: a table function of discrete states (CODE); any SPIKE or CURRENT input: a violation."""
    if all(k in (None, CODE) for k in call.kinds):
        return CODE
    tracer.record(call.op.name, NONLINEAR)
    return CURRENT


def _order(tracer: _Tracer, call: _Call) -> KindOrConst:
    tracer.record(call.op.name, ORDER)
    return _additive(tracer, call)


def _leaves(tracer: _Tracer, call: _Call) -> KindOrConst:
    if call.kinds[0] in (SPIKE, CURRENT):
        tracer.record(call.op.name, LEAVES)
    return None


def _keep(tracer: _Tracer, call: _Call) -> KindOrConst:
    """abs, neg, clamps, element-wise min/max against constants or codes keep the one dynamic operand's kind."""
    signals = [k for k in call.kinds if k in (SPIKE, CURRENT)]
    if len(signals) > 1:
        return _other(tracer, call)
    return signals[0] if signals else CODE


def _copysign(tracer: _Tracer, call: _Call) -> KindOrConst:
    """copysign(x, s) has the kind of x; a constant with a data-dependent sign is an emission (SPIKE)."""
    return call.kinds[0] if call.kinds[0] is not None else SPIKE


def _product(tracer: _Tracer, call: _Call, a: KindOrConst, b: KindOrConst, operands: Sequence[Any]) -> KindOrConst:
    """Kind of an element-wise product a * b (see the module docstring); checks SPIKE operands in temporal mode."""
    if a is None or b is None:
        k = a if b is None else b
        return SPIKE if k is CODE else k
    if a is CURRENT and b is CURRENT:
        tracer.record(call.op.name, PRODUCT)
        return CURRENT
    if SPIKE in (a, b):
        tracer.check_trains(call.op.name, [t for t, k in zip(operands, (a, b)) if k is not CURRENT])
    if a is CODE and b is CODE:
        return SPIKE
    if CODE in (a, b):
        return b if a is CODE else a
    return CURRENT


def _mul(tracer: _Tracer, call: _Call) -> KindOrConst:
    return _product(tracer, call, call.kinds[0], call.kinds[1], call.values)


def _div(tracer: _Tracer, call: _Call) -> KindOrConst:
    """By a constant or a code: as mul (reciprocal: 1 / x); by a SPIKE or CURRENT: a violation; rounded: a CODE."""
    operands = [None, *call.values] if call.op.name == "reciprocal" else call.values
    dividend, divisor = (None, call.kinds[0]) if call.op.name == "reciprocal" else (call.kinds[0], call.kinds[1])
    if divisor in (SPIKE, CURRENT):
        tracer.record(call.op.name, DIVISION)
        return CURRENT
    if call.kwargs.get("rounding_mode") is not None or call.op.name == "floor_divide":
        return CODE
    return _product(tracer, call, dividend, divisor, operands)


def _synaptic(tracer: _Tracer, call: _Call) -> KindOrConst:
    """A synapse's dynamic operand must be SPIKE; of two dynamic operands, at least one; the output is a CURRENT."""
    operands = [t for i in SYNAPTIC.get(call.op.name, (0, 1)) for t in _tensors(call.arg(i))]
    kinds = [tracer.kind(t) for t in operands]
    dynamic = [k for k in kinds if k is not None]
    spikes = [t for t, k in zip(operands, kinds) if k is SPIKE]
    if dynamic and not spikes:
        tracer.record(call.op.name, SYNAPSE if len(dynamic) == 1 else PRODUCT)
    tracer.check_trains(call.op.name, spikes)
    return CURRENT


def _index_put(tracer: _Tracer, call: _Call) -> KindOrConst:
    """x[i] = v is wiring; x[i] += v (``accumulate``) is a sum."""
    return (_additive if call.arg(3) else _wiring)(tracer, call)


def _zero_fill(tracer: _Tracer, call: _Call) -> KindOrConst:
    """masked_fill, padding, index_fill: a zero or NaN fill keeps the kind; another fill makes a SPIKE a CURRENT."""
    fill = call.arg(FILLS[call.op.name])
    source, fill_kind = tracer.kind_of(call.arg(0)), tracer.kind_of(fill)
    if fill_kind is None and source is SPIKE and not _is_blank(fill):
        return CURRENT
    return _wired([source, fill_kind])


def _where(tracer: _Tracer, call: _Call) -> KindOrConst:
    """Routing by a condition: codes or constants give a CODE, spikes against zeros (or NaN) a SPIKE, else a CURRENT."""
    tracked = [k for k in call.kinds if k is not None]
    if all(k is CODE for k in tracked):
        return CODE
    constants = [v for v, k in zip(call.values, call.kinds) if k is None]
    if all(k is SPIKE for k in tracked) and all(_is_blank(v) for v in constants):
        return SPIKE
    return CURRENT


RULES: dict[str, Rule] = {
    "wiring": _wiring, "additive": _additive, "discrete": _discrete, "keep": _keep, "synaptic": _synaptic,
    "order": _order, "constant": _constant, "zero_fill": _zero_fill, "mul": _mul, "div": _div, "copysign": _copysign,
    "where": _where, "index_put": _index_put, "leaves": _leaves, "other": _other,
}


class _Exits(TorchFunctionMode):
    """Catches float data leaving torch through Python-level conversions that have no aten op."""

    def __init__(self, tracer: _Tracer) -> None:
        super().__init__()
        self.tracer = tracer

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        name = LEAVING.get(func)
        if name is not None and args and isinstance(args[0], torch.Tensor):
            self.tracer.leaves(name, args[0])
        return func(*args, **(kwargs or {}))


@contextmanager
def _module_scope(model: nn.Module, tracer: _Tracer) -> Iterator[None]:
    """Keep ``tracer.stack`` at the path of the innermost running module (its own hooks included)."""
    names = {id(m): n for n, m in model.named_modules()}
    embeddings = model.get_input_embeddings()
    hooked = [m for m in model.modules() if m._forward_hooks]
    late = {id(m) for m in hooked}

    def enter(module: nn.Module, args: Any) -> None:
        tracer.stack.append(names.get(id(module), type(module).__name__))

    def leave(module: nn.Module, args: Any, output: Any) -> None:
        if module is embeddings:
            tracer.mark(output, CURRENT)
        if id(module) not in late:
            tracer.stack.pop()

    def leave_late(module: nn.Module, args: Any, output: Any) -> None:
        tracer.stack.pop()

    handles = [torch.nn.modules.module.register_module_forward_pre_hook(enter),
               torch.nn.modules.module.register_module_forward_hook(leave)]
    handles += [m.register_forward_hook(leave_late) for m in hooked]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _temporal(model: nn.Module) -> bool:
    return is_converted(model) and get_state(model).mode is Mode.TEMPORAL


def trace(model: nn.Module, batch: Mapping[str, Any], allowed: list[str] | None = None) -> AuditReport:
    """Run one forward of ``model`` on ``batch`` under the tracer; violations inside ``allowed`` parts are listed
    apart."""
    allowed = allowed or []
    tracer = _Tracer(_temporal(model))
    with torch.no_grad(), _module_scope(model, tracer), _Exits(tracer), tracer:
        embeds = batch.get("inputs_embeds")
        if isinstance(embeds, torch.Tensor) and embeds.is_floating_point():
            tracer.set_kind(embeds, CURRENT)
        model(**batch)
    report = AuditReport(ops_checked=tracer.checked)
    for violation, count in tracer.found.items():
        inside_allowed = any(violation.module == a or violation.module.startswith(a + ".") for a in allowed)
        (report.allowed if inside_allowed else report.violations)[violation] = count
    return report


def audit(model: nn.Module, batch: Mapping[str, Any]) -> AuditReport:
    """Every op of one forward on ``batch`` that is not spike-driven (empty for a fully converted model)."""
    allowed = list(get_state(model).allowed_ann) if is_converted(model) else []
    return trace(model, batch, allowed)

