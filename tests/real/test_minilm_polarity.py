"""The minilm-polarity fine-tune (recipe asset): its manifest, and its head as ANN and SNN on the held-out split."""

import json

import pytest

from lasnn.assets import is_fetched

pytestmark = [pytest.mark.assets, pytest.mark.slow,
              pytest.mark.skipif(not is_fetched("minilm-polarity"), reason="run `lasnn fetch minilm-polarity` first")]


def test_manifest_records_the_recipe_and_every_sha256():
    from lasnn.assets import fetch
    from lasnn.assets.cache import MARKER
    from lasnn.assets.registry import ASSETS

    folder = fetch("minilm-polarity")
    marker = json.loads((folder / MARKER).read_text())
    assert marker["recipe"] == ASSETS["minilm-polarity"].recipe
    assert set(marker["inputs"]) == {"minilm-l6", "polarity"}
    assert len(marker["files"]["model.safetensors"]["sha256"]) == 64
    assert json.loads((folder / "recipe.json").read_text())["recipe"] == marker["recipe"]


def test_cli_eval_on_the_held_out_split_changes_no_prediction(tmp_path, capsys):
    from lasnn.cli import main

    assert main(["eval", "minilm-polarity", "classify", "--limit", "400", "--batch-size", "32",
                 "--json", str(tmp_path / "r.json")]) == 0
    report = json.loads((tmp_path / "r.json").read_text())
    result = report["result"]
    print(json.dumps({k: result[k] for k in ("ann", "snn", "changed", "parity", "extra", "seconds")}, indent=1))
    assert report["data"] == "polarity:test" and result["examples"] == 400
    assert result["metric"] == "accuracy" and result["ann"] >= 0.75 and result["extra"]["ann_f1"] >= 0.7
    assert result["changed"] == len(result["extra"]["changed_indices"]) == 0  # measured: 0 of all 2000 as well
    assert result["snn"] == result["ann"] and result["parity"]["top1_agreement"] == 1.0
    assert "classify (400 examples, ann vs equivalent)" in capsys.readouterr().out
