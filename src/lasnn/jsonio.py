"""Writing the JSON reports that every lasnn command and study produces."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path
from typing import Any

# paths that name an output stream, not a file to replace (e.g. --json /dev/stdout)
STREAM_PREFIXES = ("/dev/stdout", "/dev/stderr", "/dev/fd/", "/proc/")


def _is_stream(path: Path) -> bool:
    """True for a FIFO, a device, a socket, or a stream path such as /dev/stdout: written to, never replaced."""
    if str(path.absolute()).startswith(STREAM_PREFIXES):
        return True
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _check_folder(folder: Path, target: Path) -> None:
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot create files in {folder}, so {target} cannot be written; choose another path")


def check_writable(path: str | os.PathLike[str]) -> None:
    """Raise a clear OSError now if a report could not be written to ``path`` (so a long run fails first, not last).

    A read-only file is refused, not replaced; a symbolic link is followed; a stream (a FIFO, /dev/stdout) must be
    writable.
    """
    target = Path(path).expanduser()
    if _is_stream(target):
        if not os.access(target, os.W_OK):
            raise PermissionError(f"{target} is not writable; choose another path")
        return
    real = Path(os.path.realpath(target))
    if real.is_dir():
        raise IsADirectoryError(f"{target} is a folder; give the path of a file for the JSON report")
    if real.exists():
        if not os.access(real, os.W_OK) or not real.stat().st_mode & 0o222:
            raise PermissionError(f"{target} is read-only; make it writable (chmod u+w) or choose another path")
        _check_folder(real.parent, target)
        return
    folder = next(parent for parent in real.parents if parent.exists())
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is a file, so {target} cannot be created; choose another path")
    _check_folder(folder, target)


def write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as indented JSON to ``path`` (parent folders created); return the path.

    A file is replaced by renaming a finished temporary file over it (a symbolic link is followed, the file's mode is
    kept), so a failure (data that cannot be serialised, a full disk) leaves any earlier report whole and never a
    half-written one. A stream (/dev/stdout, a FIFO) is written to directly. See :func:`check_writable`.
    """
    target = Path(path).expanduser()
    check_writable(target)
    text = json.dumps(data, indent=2, default=str)
    if _is_stream(target):
        with open(target, "a", encoding="utf-8") as stream:
            stream.write(text + "\n")
        return target
    real = Path(os.path.realpath(target))
    real.parent.mkdir(parents=True, exist_ok=True)
    staging = real.with_name(f".{real.name}.{os.getpid()}.partial")
    try:
        staging.write_text(text, encoding="utf-8")
        if real.exists():
            shutil.copymode(real, staging)
        os.replace(staging, real)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    return target
