"""Where the cache lies, what a verified cache entry looks like, and sha256 checks."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from lasnn.assets._ui import byte_bar
from lasnn.assets.registry import AssetSpec

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


def asset_dir(spec: AssetSpec) -> Path:
    """The cache folder of one asset (it exists only once fully fetched and verified)."""
    return cache_dir() / spec.name


def marker_for(spec: AssetSpec) -> dict[str, str | None]:
    """What the marker of a verified entry of ``spec`` holds."""
    return {
        "name": spec.name,
        "requirement": spec.requirement,
        "sha256": spec.sha256,
        "member": spec.member,
        "member_sha256": spec.member_sha256,
        "convert": spec.convert,
    }


def write_marker(spec: AssetSpec, folder: Path) -> None:
    """Record in ``folder`` that it holds the verified contents of ``spec``."""
    (folder / MARKER).write_text(json.dumps(marker_for(spec), indent=2) + "\n", encoding="utf-8")


def is_cached(spec: AssetSpec) -> bool:
    """Whether the cache holds a verified entry of exactly this pinned spec (reads one small file)."""
    try:
        recorded = json.loads((asset_dir(spec) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return recorded == marker_for(spec)


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
