"""lasnn: LAS conversion of Hugging Face transformers into fully spike-driven spiking neural networks."""

__version__ = "0.1.0"

from .convert import (  # noqa: E402
    ArtifactError,
    AuditReport,
    ConversionError,
    LASConfig,
    audit,
    convert,
    get_mode,
    load,
    mode,
    save,
    set_code,
    set_mode,
)
from .metrics.parity import ParityReport, parity  # noqa: E402
from .metrics.report import SpikeReport, report  # noqa: E402

__all__ = ["ArtifactError", "AuditReport", "ConversionError", "LASConfig", "ParityReport", "audit", "convert",
           "get_mode", "load", "mode", "parity", "report", "save", "set_code", "set_mode", "SpikeReport"]
