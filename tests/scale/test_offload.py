"""A tiny LLaMA dispatched by accelerate over cpu + disk offload converts in place, with the unsharded thresholds and
outputs bit for bit (equivalent and temporal), and generates the same tokens."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from accelerate import dispatch_model

import lasnn
from lasnn.convert.persist import _calibration_tensors

sys.path.insert(0, str(Path(__file__).parent.parent))
from tiny_models import tiny_model, token_batches  # noqa: E402

CONFIG = lasnn.LASConfig(calibration_sequences=8)
DEVICE_MAP = {"model.embed_tokens": "cpu", "model.rotary_emb": "cpu", "model.layers.0": "cpu",
              "model.layers.1": "disk", "model.norm": "disk", "lm_head": "cpu"}


def test_disk_offloaded_llama_converts_like_the_unsharded_one(tmp_path: Path) -> None:
    reference = lasnn.convert(tiny_model("llama"), CONFIG, calibration_data=token_batches(2))
    model = dispatch_model(tiny_model("llama"), device_map=DEVICE_MAP, offload_dir=str(tmp_path))
    assert model.model.layers[1].mlp.down_proj.weight.device.type == "meta"
    lasnn.convert(model, CONFIG, calibration_data=token_batches(2))
    assert model.model.layers[1].mlp.down_proj.weight.device.type == "meta"  # nothing was gathered
    expected, got = _calibration_tensors(reference), _calibration_tensors(model)
    assert got.keys() == expected.keys() and all(torch.equal(got[k], expected[k]) for k in expected)
    batch = token_batches(1, seed=5)[0]
    prompt = {key: value[:1, :6] for key, value in batch.items()}
    with torch.no_grad():
        assert torch.equal(model(**batch).logits, reference(**batch).logits)
        greedy = dict(max_new_tokens=6, do_sample=False, pad_token_id=0)
        assert torch.equal(model.generate(**prompt, **greedy), reference.generate(**prompt, **greedy))
        with lasnn.mode(model, "temporal"), lasnn.mode(reference, "temporal"):
            assert torch.equal(model(**prompt).logits, reference(**prompt).logits)


def test_offloaded_conversion_saves_and_loads_with_a_device_map(tmp_path: Path) -> None:
    model = dispatch_model(tiny_model("llama"), device_map=DEVICE_MAP, offload_dir=str(tmp_path / "offload"))
    lasnn.convert(model, CONFIG, calibration_data=token_batches(2))
    lasnn.save(model, tmp_path / "snn")
    loaded = lasnn.load(tmp_path / "snn", device_map={"": "cpu"})
    batch = token_batches(1, seed=5)[0]
    with torch.no_grad():
        assert torch.equal(loaded(**batch).logits, model(**batch).logits)
