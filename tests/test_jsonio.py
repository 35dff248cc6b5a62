"""write_json: readable indented JSON, folders created, and an earlier report kept whole when writing fails."""

import json

import pytest

from lasnn.jsonio import write_json


def test_writes_indented_json_and_creates_folders(tmp_path):
    path = write_json(tmp_path / "a" / "b" / "report.json", {"ratio": 1.5, "path": tmp_path})
    assert json.loads(path.read_text()) == {"ratio": 1.5, "path": str(tmp_path)}
    assert path.read_text().startswith("{\n  ")


def test_unserialisable_data_keeps_the_earlier_report(tmp_path):
    path = write_json(tmp_path / "report.json", {"ok": True})
    looped = {}
    looped["self"] = looped
    with pytest.raises(ValueError, match="Circular"):
        write_json(path, looped)
    assert json.loads(path.read_text()) == {"ok": True}


def test_a_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    path = write_json(tmp_path / "report.json", {"ok": True})

    def disk_full(source, target):
        raise OSError("No space left on device")

    monkeypatch.setattr("lasnn.jsonio.os.replace", disk_full)
    with pytest.raises(OSError, match="No space"):
        write_json(path, {"ok": False})
    assert json.loads(path.read_text()) == {"ok": True}
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
