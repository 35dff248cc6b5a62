"""In-place class swaps: a module keeps its identity, parameters, buffers and hooks, and gains a spiking forward.

``swap_class(module, Mixin)`` turns ``module`` into an instance of ``type("Spiking<Base>", (Mixin, Base), {})``.
``super().forward`` inside the mixin is therefore the original forward, which is what the "ann" mode runs, and
the state-dict keys never change.
"""

from __future__ import annotations

import types
from collections.abc import Callable

import torch.nn as nn

_CLASS_CACHE: dict[tuple[type, type], type] = {}


def spiking_class(mixin: type, base: type) -> type:
    """The (cached) class that puts ``mixin`` in front of ``base``."""
    key = (mixin, base)
    if key not in _CLASS_CACHE:
        _CLASS_CACHE[key] = type(f"Spiking{base.__name__}", (mixin, base), {"__module__": mixin.__module__})
    return _CLASS_CACHE[key]


def swap_class(module: nn.Module, mixin: type) -> Callable[[], None]:
    """Swap ``module`` to the spiking class of its type; return the undo action.

    accelerate's hooks (``device_map``) keep a bound ``_old_forward``; it is re-bound to the new class so the
    hooked call path reaches the spiking forward too.
    """
    base = type(module)
    module.__class__ = spiking_class(mixin, base)
    old_forward = module.__dict__.get("_old_forward")
    if old_forward is not None:
        module._old_forward = types.MethodType(module.__class__.forward, module)

    def undo() -> None:
        module.__class__ = base
        if old_forward is not None:
            module._old_forward = old_forward

    return undo


def add_child(module: nn.Module, name: str, child: nn.Module) -> Callable[[], None]:
    """Register ``child`` as ``module.<name>``; return the undo action."""
    if hasattr(module, name):
        raise RuntimeError(f"{type(module).__name__} already has an attribute {name!r}")
    module.add_module(name, child)

    def undo() -> None:
        delattr(module, name)

    return undo


def set_attr(obj: object, name: str, value: object) -> Callable[[], None]:
    """Set a plain attribute; return the undo action that deletes it again."""
    object.__setattr__(obj, name, value)

    def undo() -> None:
        if name in obj.__dict__:
            object.__delattr__(obj, name)

    return undo
