"""Where the cache lies, what a verified cache entry looks like, and sha256 checks.

The marker of an entry records the pinned spec and, for every file, its sha256 and a stamp (size, mtime, ctime)
taken at fetch time. A use of the entry compares the stamps (one ``stat`` per file); a file whose stamp differs is
hashed again, and the entry is usable only if every file still has its recorded sha256 and no file was added.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from lasnn.assets._ui import byte_bar
from lasnn.assets.registry import AssetSpec, RecipeSpec, get_spec

MARKER = ".lasnn-asset.json"
_CHUNK = 1 << 20


class AssetError(RuntimeError):
    """An asset could not be fetched, verified or read."""


class AssetIntegrityError(AssetError):
    """A downloaded or extracted file does not match its pinned sha256."""


class AssetUnavailableError(AssetError):
    """An asset is not cached and cannot be fetched now (offline, index unreachable)."""


def cache_dir() -> Path:
    """The lasnn cache: ``$LASNN_CACHE``, else ``$XDG_CACHE_HOME/lasnn``, else ``~/.cache/lasnn``."""
    if override := os.environ.get("LASNN_CACHE"):
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "lasnn"


def asset_dir(spec: AssetSpec | RecipeSpec) -> Path:
    """The cache folder of one asset (it exists only once fully fetched and verified)."""
    return cache_dir() / spec.name


def marker_for(spec: AssetSpec | RecipeSpec) -> dict[str, Any]:
    """The pinned spec, as the marker of a verified entry of ``spec`` records it (a recipe: with its inputs' pins)."""
    if isinstance(spec, RecipeSpec):
        return {"name": spec.name, "builder": spec.builder, "recipe": spec.recipe,
                "inputs": {name: marker_for(get_spec(name)) for name in spec.inputs}}
    return {
        "name": spec.name,
        "requirement": spec.requirement,
        "sha256": spec.sha256,
        "member": spec.member,
        "member_sha256": spec.member_sha256,
        "convert": spec.convert,
        "converted_sha256": spec.converted_sha256,
    }


def write_marker(spec: AssetSpec | RecipeSpec, folder: Path) -> None:
    """Record in ``folder`` that it holds the verified contents of ``spec``: the spec, each file's sha256 and stamp."""
    files = {name: {"sha256": sha256_file(folder / name), **_stamp(folder / name)} for name in _files(folder)}
    _write(folder, {**marker_for(spec), "files": files})


def stale_reason(spec: AssetSpec | RecipeSpec) -> str | None:
    """Why the cache entry of ``spec`` cannot be used (not fetched, another pin, a file changed), or None if it can."""
    folder = asset_dir(spec)
    try:
        recorded = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "not fetched"
    if not isinstance(recorded, dict) or {k: recorded.get(k) for k in marker_for(spec)} != marker_for(spec):
        return "the cached entry was fetched for another pin"
    files = recorded.get("files")
    if not isinstance(files, dict):
        return "the cached entry was written by an older lasnn and carries no file checksums"
    return _changed(folder, recorded, files)


def is_cached(spec: AssetSpec | RecipeSpec) -> bool:
    """Whether the cache holds a verified, unchanged entry of exactly this pinned spec (stats its files)."""
    return stale_reason(spec) is None


def _changed(folder: Path, recorded: dict[str, Any], files: dict[str, Any]) -> str | None:
    """The first file of ``folder`` that differs from the marker (re-hashing a file whose stamp moved), or None."""
    present = _files(folder)
    added = sorted(set(present) - set(files))
    if added:
        return f"{added[0]} was added to the cached entry after it was fetched"
    refreshed = False
    for name, entry in files.items():
        path = folder / name
        if name not in present:
            return f"{name} is missing from the cached entry"
        stamp = _stamp(path)
        if stamp == {k: entry.get(k) for k in stamp}:
            continue
        if stamp["size"] != entry.get("size") or sha256_file(path) != entry.get("sha256"):
            return f"{name} was modified after it was fetched (sha256 mismatch)"
        entry.update(stamp)
        refreshed = True
    if refreshed:
        _refresh(folder, recorded)
    return None


def _files(folder: Path) -> list[str]:
    """The relative paths of the files under ``folder``, the marker excluded."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if not p.is_dir() and not p.name.startswith(MARKER))


def _stamp(path: Path) -> dict[str, int]:
    """What a cheap check compares: size, modification and change times (any write moves at least one)."""
    info = path.stat()
    return {"size": info.st_size, "mtime_ns": info.st_mtime_ns, "ctime_ns": info.st_ctime_ns}


def _write(folder: Path, marker: dict[str, Any]) -> None:
    """Write the marker atomically (a new file renamed over the old one)."""
    partial = folder / f"{MARKER}.partial"
    partial.write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, folder / MARKER)


def _refresh(folder: Path, marker: dict[str, Any]) -> None:
    """Record the new stamps of re-verified files (best effort: a read-only cache is re-hashed next time)."""
    with contextlib.suppress(OSError):
        _write(folder, marker)


def sha256_file(path: Path) -> str:
    """The sha256 of a file, with a progress bar."""
    digest = hashlib.sha256()
    with path.open("rb") as f, byte_bar(f"Verifying {path.name}", path.stat().st_size) as advance:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            advance(len(chunk))
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str, origin: str) -> None:
    """Check ``path`` against its pinned sha256; on mismatch delete it and raise AssetIntegrityError."""
    actual = sha256_file(path)
    if actual != expected:
        path.unlink()
        raise AssetIntegrityError(
            f"sha256 mismatch for {path.name} from {origin}: expected {expected}, got {actual}. "
            "The file was discarded and nothing was cached."
        )
