"""lasnn.save(max_shard_size=...) writes safetensors shards with an index (transformers' sharding), each in the
manifest's sha256 table; lasnn.load reads them back, with a device_map too, bit for bit."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

import lasnn
from lasnn.convert.persist import read_manifest, shard_size

sys.path.insert(0, str(Path(__file__).parent.parent))
from tiny_models import tiny_model, token_batches  # noqa: E402

CONFIG = lasnn.LASConfig(calibration_sequences=8)
SPLIT = {"model.embed_tokens": "cpu", "model.rotary_emb": "cpu", "model.layers.0": "cpu",
         "model.layers.1": "disk", "model.norm": "cpu", "lm_head": "cpu"}


@pytest.fixture(scope="module")
def converted():
    return lasnn.convert(tiny_model("llama"), CONFIG, calibration_data=token_batches(2))


def _shards(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("model-*-of-*.safetensors"))


def test_sharded_save_round_trips_bit_for_bit(converted, tmp_path: Path) -> None:
    folder = lasnn.save(converted, tmp_path / "snn", max_shard_size="100KB")
    shards = _shards(folder)
    assert len(shards) >= 3 and not (folder / "model.safetensors").exists()
    assert all((folder / name).stat().st_size < 105_000 for name in shards)  # 100 KB of tensors, plus each header
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    assert sorted(set(index["weight_map"].values())) == shards
    table = read_manifest(folder)["sha256"]
    assert set(shards) | {"model.safetensors.index.json"} <= set(table)
    batch = token_batches(1, seed=5)[0]
    with torch.no_grad():
        expected = converted(**batch).logits
        assert torch.equal(lasnn.load(folder)(**batch).logits, expected)
        assert torch.equal(lasnn.load(folder, device_map={"": "cpu"})(**batch).logits, expected)
        offloaded = lasnn.load(folder, device_map=SPLIT, offload_folder=str(tmp_path / "offload"))
        assert offloaded.model.layers[1].mlp.down_proj.weight.device.type == "meta"
        assert torch.equal(offloaded(**batch).logits, expected)
        with lasnn.mode(converted, "temporal"):
            temporal = converted(**{k: v[:1, :8] for k, v in batch.items()}).logits
        loaded = lasnn.load(folder)
        with lasnn.mode(loaded, "temporal"):
            assert torch.equal(loaded(**{k: v[:1, :8] for k, v in batch.items()}).logits, temporal)


def test_a_shard_is_checked_like_every_other_file(converted, tmp_path: Path) -> None:
    folder = lasnn.save(converted, tmp_path / "snn", max_shard_size=60_000)
    shard = folder / _shards(folder)[1]
    data = bytearray(shard.read_bytes())
    data[-1] ^= 1
    shard.write_bytes(bytes(data))
    with pytest.raises(lasnn.ArtifactError, match="sha256 mismatch"):
        lasnn.load(folder)
    shard.unlink()
    with pytest.raises(lasnn.ArtifactError, match="is missing"):
        lasnn.load(folder)


@pytest.mark.parametrize("value, expected", [(1000, 1000), ("100KB", 100_000), ("2GB", 2 * 10**9),
                                             ("1.5 mb", 1_500_000), ("1GiB", 2**30)])
def test_shard_sizes(value, expected) -> None:
    assert shard_size(value) == expected


@pytest.mark.parametrize("value", [0, -1, "0MB", "abc", "10XB", "", 1.5, True, "MB"])
def test_bad_shard_sizes_are_refused_before_anything_is_written(converted, tmp_path: Path, value) -> None:
    with pytest.raises(ValueError, match="max_shard_size must be a positive number of bytes"):
        lasnn.save(converted, tmp_path / "snn", max_shard_size=value)
    assert not (tmp_path / "snn").exists()


def test_cli_convert_writes_shards(tmp_path: Path, capsys) -> None:
    from eval_helpers import TEXT, save_folder, tiny_lm
    from lasnn.cli import main

    source = save_folder(tiny_lm("llama"), tmp_path / "ann")
    (tmp_path / "text.txt").write_text(TEXT)
    calibration = ["--calibration", str(tmp_path / "text.txt"), "--calibration-sequences", "2",
                   "--calibration-length", "64"]
    with pytest.raises(SystemExit) as exit_info:
        main(["convert", str(source), str(tmp_path / "bad"), *calibration, "--max-shard-size", "lots"])
    assert exit_info.value.code != 0 and "max_shard_size must be a positive number" in capsys.readouterr().err
    assert main(["convert", str(source), str(tmp_path / "snn"), *calibration, "--max-shard-size", "100KB"]) == 0
    assert len(_shards(tmp_path / "snn")) >= 2
    lasnn.load(tmp_path / "snn")
