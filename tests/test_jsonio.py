"""write_json: readable indented JSON, folders created, an earlier report kept whole when writing fails, and special
files, symlinks and read-only files treated as a user expects."""

import json
import os
import stat
import threading

import pytest

from lasnn.jsonio import check_writable, write_json


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


# -- issue 13, item 15: special files, symlinks, read-only files, and a check before the run -----------------------

def test_a_read_only_report_is_not_replaced(tmp_path):
    path = write_json(tmp_path / "report.json", {"ok": True})
    path.chmod(0o444)
    for call in (check_writable, lambda p: write_json(p, {"ok": False})):
        with pytest.raises(PermissionError, match="read-only"):
            call(path)
    assert json.loads(path.read_text()) == {"ok": True}


def test_a_symlink_is_written_through(tmp_path):
    real = write_json(tmp_path / "real.json", {"old": True})
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_json(link, {"new": True})
    assert link.is_symlink() and json.loads(real.read_text()) == {"new": True}
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "sub" / "target.json")
    write_json(dangling, {"made": True})
    assert dangling.is_symlink() and json.loads(dangling.read_text()) == {"made": True}


def test_a_fifo_receives_the_report_and_stays_a_fifo(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    write_json(fifo, {"piped": 1})
    reader.join(timeout=30)
    assert json.loads(received[0]) == {"piped": 1} and stat.S_ISFIFO(fifo.lstat().st_mode)


def test_dev_stdout_and_dev_null(capfd):
    check_writable("/dev/stdout")
    write_json("/dev/stdout", {"to": "stdout"})
    assert json.loads(capfd.readouterr().out) == {"to": "stdout"}
    write_json("/dev/null", {"to": "nowhere"})
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_unwritable_paths_are_found_before_the_run(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(IsADirectoryError, match="folder"):
        check_writable(tmp_path)
    with pytest.raises(NotADirectoryError, match="file"):
        check_writable(tmp_path / "file" / "report.json")
    check_writable(tmp_path / "new" / "deeper" / "report.json")
    assert not (tmp_path / "new").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may create files in a read-only folder")
def test_a_folder_without_write_permission_is_found_before_the_run(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(PermissionError, match="locked"):
            check_writable(locked / "report.json")
    finally:
        locked.chmod(0o755)


def test_the_file_mode_of_a_replaced_report_is_kept(tmp_path):
    path = write_json(tmp_path / "report.json", {"ok": True})
    path.chmod(0o600)
    write_json(path, {"ok": 2})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_cli_checks_json_before_the_run(tmp_path, capsys):
    from lasnn.cli import main

    path = write_json(tmp_path / "report.json", {"ok": True})
    path.chmod(0o444)
    assert main(["convert", str(tmp_path / "no-such-model"), str(tmp_path / "out"), "--json", str(path)]) == 2
    err = capsys.readouterr().err
    assert "read-only" in err and len(err.strip().splitlines()) == 1
