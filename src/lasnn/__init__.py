"""lasnn: LAS conversion of Hugging Face transformers into fully spike-driven spiking neural networks."""

from ._version import __version__
from .config import LASConfig
from .convert import (
    ArtifactError,
    AuditReport,
    ConversionError,
    ConversionRule,
    Edit,
    Match,
    audit,
    calibrate,
    conversion_rules,
    convert,
    freeze,
    get_mode,
    load,
    match_type,
    mode,
    prepare,
    register_rule,
    save,
    set_code,
    set_mode,
    unregister_rule,
)
from .metrics.parity import ParityReport, parity
from .metrics.report import SpikeReport, report

__all__ = ["ArtifactError", "AuditReport", "ConversionError", "ConversionRule", "Edit", "LASConfig", "Match",
           "ParityReport", "SpikeReport", "__version__", "audit", "calibrate", "conversion_rules", "convert", "freeze",
           "get_mode", "load", "match_type", "mode", "parity", "prepare", "register_rule", "report", "save", "set_code",
           "set_mode", "unregister_rule"]
