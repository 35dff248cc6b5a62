"""A fingerprint of the code that makes and runs a conversion: lasnn's version and every one of its source files."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from ._version import __version__

__all__ = ["code_fingerprint"]


@functools.cache
def code_fingerprint() -> str:
    """sha256 over ``__version__`` and each ``*.py`` file of the installed package (path and bytes), 16 hex digits.

    A cached conversion recorded with another fingerprint was made by other code: its thresholds may differ from
    what this code computes from the same model, config and calibration data.
    """
    root = Path(__file__).parent
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
