"""The lm-eval bridge: the registered ``lasnn`` model runs local custom tasks (YAML + JSONL) on the spiking model."""

import json
import os
import subprocess

import pytest

lm_eval = pytest.importorskip("lm_eval")

from harness_tasks import RECORDS, lm_eval_command  # noqa: E402

import lasnn  # noqa: E402
from lasnn.eval.harness import LASNNLM  # noqa: E402


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


def test_bare_lm_eval_command_runs_local_tasks_on_the_spiking_model(lm_folder, calibration_text, task_dir, tmp_path):
    """``lm_eval --model lasnn ...`` in a fresh process: the installed startup hook registers the model."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    completed = subprocess.run([
        lm_eval_command(), "--model", "lasnn", "--model_args",
        f"pretrained={lm_folder},calibration={calibration_text},calibration_sequences=2,calibration_length=64,time_steps=12",
        "--tasks", "tiny_mc,tiny_ppl,tiny_gen", "--include_path", str(task_dir), "--batch_size", "2", "--device", "cpu",
        "--output_path", str(tmp_path / "out")], env=env, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-4000:]
    assert "tiny_mc" in completed.stdout
    written = list((tmp_path / "out").rglob("results_*.json"))
    results = json.loads(written[0].read_text())
    assert results["config"]["model"] == "lasnn"
    assert results["config"]["lasnn"]["mode"] == "equivalent"
    assert results["config"]["lasnn"]["config"]["time_steps"] == 12
    metrics = results["results"]
    assert 0 <= metrics["tiny_mc"]["acc,none"] <= 1
    assert metrics["tiny_ppl"]["word_perplexity,none"] > 1
    assert 0 <= metrics["tiny_gen"]["exact_match,none"] <= 1


@pytest.mark.parametrize("model_args, message", [
    ("mode=bogus", "unknown mode 'bogus'"),
    ("time_steps=abc", "time_steps must be an integer, got 'abc'"),
    ("quantile=high", "quantile must be a number"),
    ("paper=maybe", "paper must be true or false"),
    ("calibration_sequences=many", "calibration_sequences must be an integer"),
    ("time_steps=0", "time_steps"),
    ("code=ternary", "code must be one of"),
])
def test_bad_model_args_fail_before_any_loading(model_args, message, monkeypatch):
    def no_loading(*args, **kwargs):
        raise AssertionError("the model was loaded before the arguments were checked")

    monkeypatch.setattr("lasnn.eval.harness.load_spiking", no_loading)
    with pytest.raises(ValueError, match=message):
        LASNNLM.create_from_arg_string(f"pretrained=unused,{model_args}", {"device": "cpu"})
