"""Writing the JSON reports that every lasnn command and study produces."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as indented JSON to ``path`` (parent folders created); return the path.

    The text goes to a temporary file beside ``path`` that is renamed over it, so a failure (data that cannot be
    serialised, a full disk) leaves any earlier report whole and never a half-written one.
    """
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=2, default=str)
    staging = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        staging.write_text(text)
        os.replace(staging, target)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    return target
