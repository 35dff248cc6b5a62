"""lasnn.save / lasnn.load: bit-identical round trip and clear errors for bad artifacts."""

import json

import pytest
import torch

import lasnn
from lasnn.convert import persist
from tiny_models import tiny_model, token_batches

CONFIG = lasnn.LASConfig(calibration_sequences=4)


@pytest.fixture
def saved(tmp_path):
    model = lasnn.convert(tiny_model("llama"), CONFIG, calibration_data=token_batches(1))
    folder = lasnn.save(model, tmp_path / "snn")
    return model, folder


def test_round_trip_is_bit_identical(saved):
    model, folder = saved
    loaded = lasnn.load(folder)
    batch = token_batches(1, seed=9)[0]
    for name in ("equivalent", "temporal", "ann"):
        with lasnn.mode(model, name), lasnn.mode(loaded, name), torch.no_grad():
            assert torch.equal(model(**batch).logits, loaded(**batch).logits), name
    assert lasnn.audit(loaded, batch).clean


def test_the_naf_code_is_saved_and_restored(tmp_path):
    config = lasnn.LASConfig(calibration_sequences=4, code="naf")
    model = lasnn.convert(tiny_model("llama"), config, calibration_data=token_batches(1))
    loaded = lasnn.load(lasnn.save(model, tmp_path / "naf"))
    assert loaded._lasnn_state.config.code == "naf"
    batch = token_batches(1, seed=9)[0]
    with lasnn.mode(model, "temporal"), lasnn.mode(loaded, "temporal"), torch.no_grad():
        assert torch.equal(model(**batch).logits, loaded(**batch).logits)


def test_save_refuses_a_non_empty_folder(saved, tmp_path):
    model, folder = saved
    with pytest.raises(FileExistsError, match="overwrite=True"):
        lasnn.save(model, folder)
    lasnn.save(model, folder, overwrite=True)


def test_edited_file_is_detected(saved):
    _, folder = saved
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    with pytest.raises(lasnn.ArtifactError, match="modified after lasnn.save"):
        lasnn.load(folder)


def test_missing_or_corrupt_manifest(saved, tmp_path):
    _, folder = saved
    with pytest.raises(lasnn.ArtifactError, match="not a lasnn model folder"):
        lasnn.load(tmp_path)
    (folder / "lasnn.json").write_text("{not json")
    with pytest.raises(lasnn.ArtifactError, match="corrupted"):
        lasnn.load(folder)


def test_calibration_of_another_model_is_rejected(saved, tmp_path):
    _, folder = saved
    other = lasnn.convert(tiny_model("gpt2"), CONFIG, calibration_data=token_batches(1))
    other_folder = lasnn.save(other, tmp_path / "other")
    manifest = json.loads((folder / "lasnn.json").read_text())
    (folder / "lasnn_calibration.safetensors").write_bytes((other_folder / "lasnn_calibration.safetensors").read_bytes())
    with pytest.raises(lasnn.ArtifactError):
        lasnn.load(folder)
    manifest["sha256"]["lasnn_calibration.safetensors"] = json.loads((other_folder / "lasnn.json").read_text())["sha256"]["lasnn_calibration.safetensors"]
    persist.write_manifest(folder, {k: v for k, v in manifest.items() if k != "manifest_sha256"})
    with pytest.raises(lasnn.ArtifactError, match="does not match this model"):
        lasnn.load(folder)


def test_manifest_of_another_model_is_rejected(saved, tmp_path):
    _, folder = saved
    other = lasnn.convert(tiny_model("llama", seed=5), CONFIG, calibration_data=token_batches(1))
    other_folder = lasnn.save(other, tmp_path / "other")
    for name in ("lasnn.json", "lasnn_calibration.safetensors"):
        (folder / name).write_bytes((other_folder / name).read_bytes())
    with pytest.raises(lasnn.ArtifactError, match="model.safetensors was modified"):
        lasnn.load(folder)


def test_manifest_records_the_code_fingerprint(saved):
    from lasnn.fingerprint import code_fingerprint

    _, folder = saved
    fingerprint = json.loads((folder / "lasnn.json").read_text())["code_fingerprint"]
    assert fingerprint == code_fingerprint()
    assert len(fingerprint) == 16 and int(fingerprint, 16) >= 0


def test_a_cached_conversion_is_reused_only_when_made_by_this_code(saved, tmp_path):
    from lasnn.eval.demo import stale_reason

    _, folder = saved
    assert stale_reason(folder) is None
    assert stale_reason(tmp_path / "absent") == "there is none"
    manifest = {k: v for k, v in json.loads((folder / "lasnn.json").read_text()).items() if k != "manifest_sha256"}
    persist.write_manifest(folder, {**manifest, "code_fingerprint": "0" * 16})
    assert "made by other lasnn code" in stale_reason(folder)
    (folder / "lasnn.json").write_text(json.dumps({**manifest, "format_version": 1}))
    assert "older lasnn" in stale_reason(folder)
    (folder / "lasnn.json").write_text("{")
    assert "unusable" in stale_reason(folder)
