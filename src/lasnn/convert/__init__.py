"""Model conversion: surgery, calibration, modes, audit and persistence."""

from .api import audit, convert, get_mode, mode, set_code, set_mode
from .audit import AuditReport
from .config import LASConfig
from .persist import ArtifactError, load, save
from .surgery import ConversionError

__all__ = ["ArtifactError", "AuditReport", "ConversionError", "LASConfig", "audit", "convert", "get_mode", "load",
           "mode", "save", "set_code", "set_mode"]
