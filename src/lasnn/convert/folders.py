"""Writing an output folder safely: lasnn replaces only its own folders, atomically, and cleans up after interrupts.

A save writes a new folder ``.OUT.lasnn-PID-TOKEN`` beside ``OUT``; on success an existing ``OUT`` is renamed aside
(``...-old``), the new folder is renamed in, and the old one is removed. What a killed process left beside ``OUT``
is removed by the next save of ``OUT`` (an old folder renamed aside but never replaced is put back instead).
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import shutil
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from .manifest import MANIFEST


def resolve_target(path: str | os.PathLike[str]) -> Path:
    """``path`` made absolute, its parent's symbolic links resolved (the last component is kept as given)."""
    given = Path(path).expanduser()
    if given.name in ("", ".", ".."):
        given = given.resolve()
    return given.parent.resolve() / given.name


def check_target(path: str | os.PathLike[str], overwrite: bool, source: str | os.PathLike[str] | None = None) -> Path:
    """The resolved output folder ``path``, or a FileExistsError saying why lasnn may not write it.

    lasnn writes a new or empty folder; with ``overwrite`` it also replaces a folder that holds only what an earlier
    lasnn.save wrote. It never replaces the current directory or a folder that contains it, the ``source`` model
    folder or a folder that contains it, a file, or a symbolic link. What interrupted saves of ``path`` left beside
    it is cleaned first (:func:`clean_stale`).
    """
    target = resolve_target(path)
    _check_not_protected(target, source)
    clean_stale(target)
    if target.is_symlink():
        raise FileExistsError(f"{target} is a symbolic link; give the folder it points to, or a new folder")
    if not target.exists():
        return target
    if not target.is_dir():
        raise FileExistsError(f"{target} exists and is not a folder; choose a new folder")
    entries = list(target.iterdir())
    if entries and not overwrite:
        raise FileExistsError(f"{target} exists and is not empty; choose a new folder or pass overwrite=True")
    foreign = _foreign_entries(target, entries)
    if foreign:
        raise FileExistsError(f"{target} holds {', '.join(foreign[:5])}, not written by lasnn; lasnn replaces only "
                              "its own folders: move them out or choose a new folder")
    return target


def _check_not_protected(target: Path, source: str | os.PathLike[str] | None) -> None:
    cwd = Path.cwd()
    if target == cwd or target in cwd.parents:
        raise FileExistsError(f"{target} is the current directory or contains it; lasnn never replaces it: "
                              "choose a new folder (e.g. ./snn)")
    origin = Path(source).expanduser() if source else None
    if origin is not None and origin.is_dir():
        origin = origin.resolve()
        if target == origin or target in origin.parents:
            raise FileExistsError(f"{target} is the source model {origin} or contains it; "
                                  "write the conversion to a new folder")


def _foreign_entries(target: Path, entries: list[Path]) -> list[str]:
    """Names in ``target`` that its lasnn manifest does not list (all of them when there is no manifest)."""
    if not entries:
        return []
    manifest = target / MANIFEST
    if not manifest.is_file() or manifest.is_symlink():
        raise FileExistsError(f"{target} is not empty and was not written by lasnn (no {MANIFEST}); lasnn replaces "
                              "only its own folders: choose a new folder or empty this one yourself")
    try:
        table = json.loads(manifest.read_text(encoding="utf-8")).get("sha256")
    except (ValueError, RecursionError, AttributeError) as error:
        raise FileExistsError(f"{target} has an unreadable {MANIFEST} ({error}), so lasnn cannot tell that it wrote "
                              "this folder: remove it yourself or choose a new folder") from None
    listed = {MANIFEST, *table} if isinstance(table, dict) else {MANIFEST}
    return sorted(e.name for e in entries if e.name not in listed or e.is_symlink() or not e.is_file())


def _pid_alive(pid: int) -> bool:
    if not 0 < pid < 2**31:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def clean_stale(target: Path) -> None:
    """Remove what interrupted saves of ``target`` left beside it; put back an old ``target`` renamed aside."""
    if not target.parent.is_dir():
        return
    pattern = re.compile(rf"\.{re.escape(target.name)}\.lasnn-(\d+)-[0-9a-z_]+(-old)?")
    for entry in sorted(target.parent.iterdir()):
        match = pattern.fullmatch(entry.name)
        if match is None or entry.is_symlink() or not entry.is_dir() or _pid_alive(int(match[1])):
            continue
        if match[2] and not target.exists() and not target.is_symlink():
            os.rename(entry, target)
        else:
            shutil.rmtree(entry, ignore_errors=True)


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@contextmanager
def _sigterm_as_exit() -> Iterator[None]:
    """Within the block, a SIGTERM that would kill the process raises SystemExit instead, so cleanup runs."""
    install = threading.current_thread() is threading.main_thread() \
        and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm) if install else None
    try:
        yield
    finally:
        if install:
            signal.signal(signal.SIGTERM, previous)


def _swap_in(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``; an existing ``target`` is renamed aside first and removed only after."""
    aside = staging.with_name(f"{staging.name}-old")
    moved = target.exists()
    if moved:
        os.rename(target, aside)
    try:
        os.rename(staging, target)
    except BaseException as error:
        if moved:
            os.rename(aside, target)
        if isinstance(error, OSError) and error.errno in (errno.EEXIST, errno.ENOTEMPTY):
            raise FileExistsError(f"{target} was created by someone else during the save; nothing was replaced") \
                from error
        raise
    if moved:
        shutil.rmtree(aside, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _normal_permissions(folder: Path) -> None:
    """Give ``folder`` and its files the modes a new folder and file get under the umask (some writers make 0600)."""
    mask = _umask()
    folder.chmod(0o777 & ~mask)
    for entry in folder.iterdir():
        if entry.is_file() and not entry.is_symlink():
            entry.chmod(0o666 & ~mask)


@contextmanager
def staged(target: Path, overwrite: bool, source: str | os.PathLike[str] | None = None) -> Iterator[Path]:
    """A new folder beside ``target`` to write into; it replaces ``target`` when the block succeeds (with the modes
    the umask gives), and is removed if the block fails or the process gets SIGTERM. ``target`` is checked again
    (:func:`check_target`) just before."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.lasnn-{os.getpid()}-{secrets.token_hex(4)}")
    staging.mkdir()
    try:
        with _sigterm_as_exit():
            yield staging
            _normal_permissions(staging)
            check_target(target, overwrite, source)
            _swap_in(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
