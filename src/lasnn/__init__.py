"""lasnn: LAS conversion of Hugging Face transformers into fully spike-driven spiking neural networks.

The names below load on first use (PEP 562), so ``import lasnn`` and the command line's ``--help`` do not import
torch or transformers until something needs them.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__

_HOMES = {
    ".config": ("LASConfig",),
    ".convert": ("ArtifactError", "AuditReport", "ConversionError", "ConversionRule", "Edit", "Match", "audit",
                 "calibrate", "conversion_rules", "convert", "freeze", "get_mode", "load", "match_type", "mode",
                 "prepare", "register_rule", "save", "set_code", "set_mode", "unregister_rule"),
    ".metrics.parity": ("ParityReport", "parity"),
    ".metrics.report": ("SpikeReport", "report"),
}
_HOME_OF = {name: home for home, names in _HOMES.items() for name in names}
_SUBPACKAGES = ("assets", "config", "convert", "eval", "metrics", "modules", "neurons", "ops", "studies")

__all__ = ["ArtifactError", "AuditReport", "ConversionError", "ConversionRule", "Edit", "LASConfig", "Match",
           "ParityReport", "SpikeReport", "__version__", "audit", "calibrate", "conversion_rules", "convert", "freeze",
           "get_mode", "load", "match_type", "mode", "parity", "prepare", "register_rule", "report", "save", "set_code",
           "set_mode", "unregister_rule"]


def __getattr__(name: str) -> Any:
    home = _HOME_OF.get(name)
    if home is not None:
        value = getattr(importlib.import_module(home, __name__), name)
    elif name in _SUBPACKAGES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'lasnn' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME_OF, *_SUBPACKAGES})

