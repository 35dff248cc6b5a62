"""The lm-eval bridge: the registered ``lasnn`` model runs local custom tasks (YAML + JSONL) on the spiking model."""

import json
import sys

import pytest

lm_eval = pytest.importorskip("lm_eval")

import lasnn  # noqa: E402
from lasnn.eval.harness import LASNNLM, main  # noqa: E402

RECORDS = [
    {"context": "Now is the winter of our", "choices": [" discontent", " summer"], "label": 0,
     "text": "Now is the winter of our discontent.", "answer": " made"},
    {"context": "made glorious summer by this", "choices": [" sun", " moon"], "label": 0,
     "text": "Made glorious summer by this sun of York.", "answer": " sun"},
    {"context": "and all the clouds that", "choices": [" lour'd", " rained"], "label": 0,
     "text": "And all the clouds that lour'd upon our house.", "answer": " lour"},
]

TASK = """task: {name}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: {output_type}
{body}
"""
BODIES = {
    "tiny_mc": ("multiple_choice", 'doc_to_text: "{{context}}"\ndoc_to_choice: "{{choices}}"\ndoc_to_target: label\n'
                                   "metric_list:\n  - metric: acc\n    aggregation: mean\n    higher_is_better: true"),
    "tiny_ppl": ("loglikelihood_rolling", 'doc_to_text: ""\ndoc_to_target: "{{text}}"\nmetric_list:\n'
                                          "  - metric: word_perplexity\n    aggregation: weighted_perplexity\n"
                                          "    higher_is_better: false"),
    "tiny_gen": ("generate_until", 'doc_to_text: "{{context}}"\ndoc_to_target: "{{answer}}"\n'
                                   'generation_kwargs:\n  until: ["\\n"]\n  max_gen_toks: 6\n  do_sample: false\n'
                                   "metric_list:\n  - metric: exact_match\n    aggregation: mean\n    higher_is_better: true"),
}


@pytest.fixture(scope="module")
def task_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tasks")
    data = folder / "data.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in RECORDS) + "\n")
    for name, (output_type, body) in BODIES.items():
        (folder / f"{name}.yaml").write_text(TASK.format(name=name, data=data, output_type=output_type, body=body))
    return folder


@pytest.fixture(scope="module")
def calibration_text(tmp_path_factory):
    from eval_helpers import TEXT

    path = tmp_path_factory.mktemp("calibration") / "calibration.txt"
    path.write_text(TEXT)
    return path


@pytest.fixture(scope="module")
def lm(lm_folder, calibration_text):
    return LASNNLM.create_from_arg_string(
        f"pretrained={lm_folder},calibration={calibration_text},calibration_sequences=4,calibration_length=64",
        {"batch_size": 2, "device": "cpu"})


def test_lasnn_is_registered():
    from lm_eval.api.registry import get_model

    assert get_model("lasnn") is LASNNLM


def test_loglikelihoods_agree_with_the_ann(lm):
    from lm_eval.api.instance import Instance

    requests = [Instance("loglikelihood", {}, (r["context"], c), 0) for r in RECORDS for c in r["choices"]]
    snn = [value for value, _ in lm.loglikelihood(requests)]
    with lasnn.mode(lm.model, "ann"):
        ann = [value for value, _ in lm.loglikelihood(requests)]
    assert snn == pytest.approx(ann, rel=1e-3, abs=1e-3)
    assert lasnn.get_mode(lm.model) == "equivalent"


def test_rolling_loglikelihood_and_generation_run_spiking(lm):
    from lm_eval.api.instance import Instance

    rolling = lm.loglikelihood_rolling([Instance("loglikelihood_rolling", {}, (RECORDS[0]["text"],), 0)])
    assert len(rolling) == 1 and rolling[0] < 0
    generated = lm.generate_until([Instance("generate_until", {}, (r["context"], {"until": ["\n"], "max_gen_toks": 4,
                                                                                   "do_sample": False}), 0)
                                   for r in RECORDS])
    assert len(generated) == 3 and all(isinstance(text, str) for text in generated)


def test_command_line_runs_local_tasks_on_the_spiking_model(lm_folder, calibration_text, task_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setattr(sys, "argv", [
        "lasnn-lm-eval", "--model", "lasnn", "--model_args",
        f"pretrained={lm_folder},calibration={calibration_text},calibration_sequences=2,calibration_length=64,time_steps=12",
        "--tasks", "tiny_mc,tiny_ppl,tiny_gen", "--include_path", str(task_dir), "--batch_size", "2", "--device", "cpu",
        "--output_path", str(tmp_path / "out")])
    main()
    assert "tiny_mc" in capsys.readouterr().out
    written = list((tmp_path / "out").rglob("results_*.json"))
    results = json.loads(written[0].read_text())
    assert results["config"]["model"] == "lasnn"
    metrics = results["results"]
    assert 0 <= metrics["tiny_mc"]["acc,none"] <= 1
    assert metrics["tiny_ppl"]["word_perplexity,none"] > 1
    assert 0 <= metrics["tiny_gen"]["exact_match,none"] <= 1
