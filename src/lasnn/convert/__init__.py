"""Model conversion: rules and surgery, calibration, modes, audit and persistence."""

from .api import audit, calibrate, convert, freeze, get_mode, mode, prepare, set_code, set_mode
from .audit import AuditReport
from .persist import ArtifactError, load, save
from .rules import ConversionRule, Edit, Match, conversion_rules, match_type, register_rule, unregister_rule
from .surgery import ConversionError

__all__ = ["ArtifactError", "AuditReport", "ConversionError", "ConversionRule", "Edit", "Match", "audit",
           "calibrate", "convert", "freeze", "get_mode", "load", "match_type", "mode", "prepare", "register_rule",
           "conversion_rules", "save", "set_code", "set_mode", "unregister_rule"]
