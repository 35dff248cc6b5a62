"""lasnn.save / lasnn.load under hostile or careless use: what may be replaced, atomic replacement, interrupted
saves, a checksummed manifest, no pickles, and calibration tensors of the wrong shape (issue 13, part A)."""

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

import lasnn
from lasnn.cli import main
from lasnn.convert import persist
from tiny_models import tiny_model, token_batches

CONFIG = lasnn.LASConfig(calibration_sequences=4)
TESTS = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model():
    return lasnn.convert(tiny_model("llama"), CONFIG, calibration_data=token_batches(1))


@pytest.fixture(scope="module")
def original(model, tmp_path_factory):
    return lasnn.save(model, tmp_path_factory.mktemp("saved") / "snn")


@pytest.fixture
def folder(original, tmp_path):
    return Path(shutil.copytree(original, tmp_path / "snn"))


def _manifest(folder):
    return json.loads((folder / "lasnn.json").read_text())


def _rewrite(folder, manifest):
    """Write ``manifest`` as lasnn would (checksummed): the edits a careful attacker, or a bug, could make."""
    persist.write_manifest(folder, {k: v for k, v in manifest.items() if k != "manifest_sha256"})


def _contents(path):
    return {p.relative_to(path): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def _siblings(path):
    return sorted(p.name for p in path.parent.iterdir() if p.name != path.name)


# -- items 1 and 2: only lasnn's own folders are replaced -----------------------------------------------------------

def test_overwrite_refuses_the_current_directory(model, folder, monkeypatch):
    monkeypatch.chdir(folder)
    before = _contents(folder)
    with pytest.raises(FileExistsError, match="current directory"):
        lasnn.save(model, ".", overwrite=True)
    with pytest.raises(FileExistsError, match="current directory"):
        lasnn.save(model, folder.parent, overwrite=True)
    assert _contents(folder) == before and _siblings(folder) == []


def test_cli_convert_into_the_current_directory_deletes_nothing(tmp_path, monkeypatch, capsys):
    from eval_helpers import save_folder, tiny_lm

    source = save_folder(tiny_lm("llama"), tmp_path / "model")
    before = _contents(source)
    monkeypatch.chdir(source)
    capsys.readouterr()
    assert main(["convert", str(source), ".", "--overwrite", "--calibration-sequences", "1"]) == 2
    err = capsys.readouterr().err
    assert "current directory" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert _contents(source) == before


def test_overwrite_refuses_the_source_model(folder):
    loaded = lasnn.load(folder)
    before = _contents(folder)
    with pytest.raises(FileExistsError, match="source"):
        lasnn.save(loaded, folder, overwrite=True)
    with pytest.raises(FileExistsError, match="source"):
        lasnn.save(loaded, folder.parent, overwrite=True)
    assert _contents(folder) == before


def test_overwrite_refuses_a_folder_lasnn_did_not_write(model, tmp_path):
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "thesis.txt").write_text("four years of work")
    with pytest.raises(FileExistsError, match="not written by lasnn"):
        lasnn.save(model, thesis, overwrite=True)
    assert (thesis / "thesis.txt").read_text() == "four years of work" and _siblings(thesis) == []


def test_overwrite_refuses_a_lasnn_folder_with_foreign_files(model, folder):
    (folder / "notes.txt").write_text("mine")
    (folder / "runs").mkdir()
    with pytest.raises(FileExistsError, match="notes.txt.*runs|runs.*notes.txt"):
        lasnn.save(model, folder, overwrite=True)
    assert (folder / "notes.txt").read_text() == "mine"


def test_overwrite_refuses_a_folder_with_an_unreadable_manifest(model, folder):
    (folder / "lasnn.json").write_text("[1, 2")
    with pytest.raises(FileExistsError, match="unreadable"):
        lasnn.save(model, folder, overwrite=True)
    assert (folder / "model.safetensors").is_file()


def test_a_file_or_a_symlink_is_not_replaced(model, folder, tmp_path):
    path = tmp_path / "report.txt"
    path.write_text("keep")
    with pytest.raises(FileExistsError, match="not a folder"):
        lasnn.save(model, path, overwrite=True)
    link = tmp_path / "link"
    link.symlink_to(folder)
    with pytest.raises(FileExistsError, match="symbolic link"):
        lasnn.save(model, link, overwrite=True)
    assert path.read_text() == "keep" and link.is_symlink()


def test_overwrite_replaces_a_lasnn_folder_and_an_empty_one(model, original, folder, tmp_path):
    other = lasnn.convert(tiny_model("llama", seed=3), CONFIG, calibration_data=token_batches(1))
    lasnn.save(other, folder, overwrite=True)
    assert (folder / "model.safetensors").read_bytes() != (original / "model.safetensors").read_bytes()
    batch = token_batches(1, seed=9)[0]
    with torch.no_grad():
        assert torch.equal(lasnn.load(folder)(**batch).logits, other(**batch).logits)
    empty = tmp_path / "empty"
    empty.mkdir()
    lasnn.save(model, empty)
    assert (empty / "lasnn.json").is_file() and _siblings(folder) == ["empty"]


def test_the_cli_checks_the_output_folder_before_converting(tmp_path, capsys):
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "thesis.txt").write_text("four years of work")
    assert main(["convert", str(tmp_path / "no-such-model"), str(thesis), "--overwrite"]) == 2
    assert "not written by lasnn" in capsys.readouterr().err


# -- item 3: replacement is atomic ----------------------------------------------------------------------------------

@pytest.mark.parametrize("failing_rename", [0, 1])
def test_an_interrupted_replacement_keeps_the_old_model(model, folder, monkeypatch, failing_rename):
    before = _contents(folder)
    other = lasnn.convert(tiny_model("llama", seed=3), CONFIG, calibration_data=token_batches(1))
    rename, calls = os.rename, []

    def interrupted(source, target):
        calls.append(source)
        if len(calls) - 1 == failing_rename:
            raise KeyboardInterrupt
        rename(source, target)

    monkeypatch.setattr(os, "rename", interrupted)
    with pytest.raises(KeyboardInterrupt):
        lasnn.save(other, folder, overwrite=True)
    monkeypatch.undo()
    assert _contents(folder) == before and _siblings(folder) == []
    lasnn.load(folder)


# -- item 16: interrupted saves leave nothing behind ----------------------------------------------------------------

CHILD = """
import os, signal, sys
sys.path.insert(0, {tests!r})
import lasnn
from lasnn.convert import persist
from tiny_models import tiny_model, token_batches

model = lasnn.convert(tiny_model("llama"), lasnn.LASConfig(calibration_sequences=4), calibration_data=token_batches(1))
real = persist.save_file

def killed(tensors, path):
    real(tensors, path)
    os.kill(os.getpid(), signal.{signal})

persist.save_file = killed
lasnn.save(model, {out!r}, overwrite=True)
"""


def _save_killed_by(sig, out):
    script = CHILD.format(tests=str(TESTS), signal=sig, out=str(out))
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)


def test_sigterm_during_save_leaves_nothing(tmp_path):
    out = tmp_path / "snn"
    child = _save_killed_by("SIGTERM", out)
    assert child.returncode != 0
    assert "Traceback" not in child.stderr
    assert list(tmp_path.iterdir()) == []


def test_sigkill_during_save_is_cleaned_by_the_next_save(model, original, tmp_path):
    out = Path(shutil.copytree(original, tmp_path / "snn"))
    child = _save_killed_by("SIGKILL", out)
    assert child.returncode == -signal.SIGKILL
    assert len(_siblings(out)) == 1
    lasnn.save(model, out, overwrite=True)
    assert _siblings(out) == []


def test_a_crash_between_the_two_renames_is_recovered(model, folder):
    before = _contents(folder)
    aside = folder.with_name(f".{folder.name}.lasnn-999999999-crash-old")
    folder.rename(aside)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        lasnn.save(model, folder)
    assert _contents(folder) == before and _siblings(folder) == []


def test_a_save_in_progress_elsewhere_is_left_alone(model, folder):
    live = folder.with_name(f".{folder.name}.lasnn-{os.getppid()}-busy")
    live.mkdir()
    lasnn.save(model, folder, overwrite=True)
    assert live.is_dir()


# -- item 8: the manifest is checksummed ----------------------------------------------------------------------------

def test_an_edited_manifest_is_detected(folder):
    text = (folder / "lasnn.json").read_text()
    (folder / "lasnn.json").write_text(text.replace('"time_steps": 16', '"time_steps": 8'))
    with pytest.raises(lasnn.ArtifactError, match="lasnn.json was modified"):
        lasnn.load(folder)


def test_an_unchecked_manifest_is_refused(folder):
    manifest = _manifest(folder)
    del manifest["manifest_sha256"]
    (folder / "lasnn.json").write_text(json.dumps(manifest))
    with pytest.raises(lasnn.ArtifactError, match="checksum"):
        lasnn.load(folder)


@pytest.mark.parametrize("table", [{}, {"config.json": None}])
def test_an_empty_checksum_table_is_an_error(folder, table):
    manifest = _manifest(folder)
    (folder / "lasnn.json").write_text(json.dumps({**manifest, "sha256": table}))
    with pytest.raises(lasnn.ArtifactError):
        lasnn.load(folder)
    _rewrite(folder, {**manifest, "sha256": table})
    with pytest.raises(lasnn.ArtifactError, match="sha256"):
        lasnn.load(folder)


def test_a_manifest_without_the_weights_is_refused(folder):
    manifest = _manifest(folder)
    for name in ("model.safetensors", "lasnn_calibration.safetensors", "config.json"):
        table = {k: v for k, v in manifest["sha256"].items() if k != name}
        _rewrite(folder, {**manifest, "sha256": table})
        with pytest.raises(lasnn.ArtifactError, match=name.replace(".", r"\.")):
            lasnn.load(folder)


def test_an_older_format_asks_to_save_again(folder):
    _rewrite(folder, {**_manifest(folder), "format_version": 1})
    with pytest.raises(lasnn.ArtifactError, match="save it again"):
        lasnn.load(folder)


# -- item 10: safetensors and JSON only ------------------------------------------------------------------------------

def _pickled_weights(folder):
    weights = load_file(str(folder / "model.safetensors"))
    torch.save(weights, folder / "pytorch_model.bin")


def test_pickled_weights_in_place_of_safetensors_are_refused(folder):
    _pickled_weights(folder)
    (folder / "model.safetensors").unlink()
    manifest = _manifest(folder)
    table = {k: v for k, v in manifest["sha256"].items() if k != "model.safetensors"}
    table["pytorch_model.bin"] = persist._sha256(folder / "pytorch_model.bin")
    _rewrite(folder, {**manifest, "sha256": table})
    with pytest.raises(lasnn.ArtifactError, match="pickle"):
        lasnn.load(folder)


def test_a_pickle_beside_the_weights_is_refused(folder):
    _pickled_weights(folder)
    with pytest.raises(lasnn.ArtifactError, match="pytorch_model.bin.*not in lasnn.json"):
        lasnn.load(folder)


def test_code_beside_the_weights_is_refused(folder):
    (folder / "modeling_evil.py").write_text("raise SystemExit('ran')")
    with pytest.raises(lasnn.ArtifactError, match="modeling_evil.py"):
        lasnn.load(folder)


# -- item 11: calibration tensors are checked -------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [torch.ones(3), torch.ones(1, 1), torch.ones((), dtype=torch.int64)])
def test_a_threshold_of_the_wrong_shape_or_type_is_refused(folder, bad):
    path = folder / "lasnn_calibration.safetensors"
    tensors = load_file(str(path))
    key = next(k for k in sorted(tensors) if k.endswith(":theta_nor"))
    tensors[key] = bad
    save_file(tensors, str(path))
    manifest = _manifest(folder)
    _rewrite(folder, {**manifest, "sha256": {**manifest["sha256"], path.name: persist._sha256(path)}})
    with pytest.raises(lasnn.ArtifactError, match=key.partition(":")[0].replace(".", r"\.")):
        lasnn.load(folder)


def test_a_corrupted_calibration_file_is_refused(folder):
    path = folder / "lasnn_calibration.safetensors"
    path.write_bytes(b"\xff" * 16)
    manifest = _manifest(folder)
    _rewrite(folder, {**manifest, "sha256": {**manifest["sha256"], path.name: persist._sha256(path)}})
    with pytest.raises(lasnn.ArtifactError, match="calibration"):
        lasnn.load(folder)


# -- item 4 (for saved conversions): no code from the folder runs ----------------------------------------------------

@pytest.mark.parametrize("name", ["config.json", "tokenizer_config.json"])
def test_a_saved_config_naming_custom_code_is_refused(folder, name, monkeypatch):
    monkeypatch.setattr("builtins.input", lambda *a: pytest.fail("prompted to run code"))
    path = folder / name
    data = json.loads(path.read_text()) if path.is_file() else {}
    path.write_text(json.dumps({**data, "auto_map": {"AutoModelForCausalLM": "evil.Model"}}))
    manifest = _manifest(folder)
    _rewrite(folder, {**manifest, "sha256": {**manifest["sha256"], name: persist._sha256(path)}})
    with pytest.raises(lasnn.ArtifactError, match="custom code.*trust_remote_code=False"):
        lasnn.load(folder)


def test_load_refuses_to_trust_remote_code(folder):
    with pytest.raises(ValueError, match="trust_remote_code"):
        lasnn.load(folder, trust_remote_code=True)


def test_load_keeps_transformers_quiet(folder, capfd):
    capfd.readouterr()
    lasnn.load(folder)
    assert capfd.readouterr().err == ""


# -- item 18 (for saved folders): normal permissions ----------------------------------------------------------------

def test_a_saved_folder_gets_the_permissions_of_the_umask(model, tmp_path):
    umask = os.umask(0o027)
    try:
        out = lasnn.save(model, tmp_path / "snn")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o750
    assert {stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()} == {0o640}


# -- item 16: leftovers that lasnn did not make are left alone -------------------------------------------------------

def test_only_lasnn_staging_folders_are_cleaned(model, folder):
    mine = folder.with_name(f".{folder.name}.backup")
    mine.mkdir()
    other = folder.with_name(f".{folder.name}x.lasnn-999999999-dead")
    other.mkdir()
    dead = folder.with_name(f".{folder.name}.lasnn-999999999-dead")
    dead.mkdir()
    lasnn.save(model, folder, overwrite=True)
    assert mine.is_dir() and other.is_dir() and not dead.exists()


# -- load_spiking: an empty calibration source is refused, not replaced by the default --------------------------------

@pytest.mark.parametrize("calibration", ["", "  "])
def test_an_empty_calibration_source_is_refused(calibration):
    from lasnn.eval.loading import load_spiking

    with pytest.raises(ValueError, match="calibration source is empty"):
        load_spiking("smollm2-135m", calibration=calibration)
