"""Data-parallel lm-eval: ``accelerate launch --num_processes 2 -m lm_eval --model lasnn`` on the CPU (gloo) scores
each request once, on one of the two processes, and gives the 1-process metrics and log-likelihoods exactly."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("lm_eval")
pytest.importorskip("accelerate")

sys.path.insert(0, str(Path(__file__).parent.parent))
from eval_helpers import TEXT, save_folder, tiny_lm  # noqa: E402

TASK = """task: dp_mc
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{context}}}}"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: label
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
  - metric: acc_norm
    aggregation: mean
    higher_is_better: true
"""


def _task_folder(folder: Path) -> Path:
    """8 three-way loglikelihood multiple-choice docs over the test text, the answer's place rotating."""
    docs = []
    for index, start in enumerate(range(0, 400, 50)):
        choices = [TEXT[start + 30: start + 40], TEXT[start + 50: start + 60], TEXT[start + 5: start + 12]]
        label = index % 3
        choices[0], choices[label] = choices[label], choices[0]
        docs.append({"context": TEXT[start: start + 30], "choices": choices, "label": label})
    folder.mkdir()
    (folder / "data.jsonl").write_text("\n".join(map(json.dumps, docs)) + "\n")
    (folder / "dp_mc.yaml").write_text(TASK.format(data=folder / "data.jsonl"))
    return folder


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(launcher: list[str], model: Path, calibration: Path, tasks: Path, out: Path) -> tuple[dict, dict, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[2] / "src"), os.environ.get("PYTHONPATH", "")])}
    completed = subprocess.run([
        *launcher, "-m", "lm_eval", "--model", "lasnn", "--model_args",
        f"pretrained={model},calibration={calibration},calibration_sequences=4,calibration_length=64,time_steps=12",
        "--tasks", "dp_mc", "--include_path", str(tasks), "--batch_size", "1", "--device", "cpu", "--log_samples",
        "--output_path", str(out)], env=env, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-4000:]
    results = json.loads(next(out.rglob("results_*.json")).read_text())
    samples = [json.loads(line) for line in next(out.rglob("samples_dp_mc_*.jsonl")).read_text().splitlines()]
    return results, {row["doc_id"]: row["resps"] for row in samples}, completed.stderr


def test_two_process_lm_eval_gives_the_one_process_metrics(tmp_path: Path) -> None:
    model = save_folder(tiny_lm("llama"), tmp_path / "model")
    calibration = tmp_path / "calibration.txt"
    calibration.write_text(TEXT)
    tasks = _task_folder(tmp_path / "tasks")
    one, one_samples, _ = _run([sys.executable], model, calibration, tasks, tmp_path / "one")
    two, two_samples, log = _run([sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu",
                                  "--num_processes", "2", "--main_process_port", str(_free_port())],
                                 model, calibration, tasks, tmp_path / "two")
    assert "Building contexts for dp_mc on rank 1" in log  # the second process scored its own share
    assert two["config"]["lasnn"]["processes"] == 2 and "processes" not in one["config"]["lasnn"]
    assert two["results"]["dp_mc"] == one["results"]["dp_mc"]
    assert sorted(two_samples) == sorted(one_samples) == list(range(8))
    assert two_samples == one_samples  # every log-likelihood, bit for bit (same thresholds, same requests)


def test_calibration_shards_partition_the_sequences_and_need_a_process_group() -> None:
    import torch

    from eval_helpers import byte_tokenizer
    from lasnn.eval.loading import calibration_batches, load_spiking, text_batches

    tokenizer = byte_tokenizer()
    whole = torch.cat([b["input_ids"] for b in text_batches(tokenizer, TEXT, 6, 64)])
    shares = [torch.cat([b["input_ids"] for b in text_batches(tokenizer, TEXT, 6, 64, shard=(rank, 3))])
              for rank in range(3)]
    assert all(torch.equal(shares[rank], whole[rank::3]) for rank in range(3))
    with pytest.raises(ValueError, match="2 calibration sequences cannot be shared by 3 processes"):
        text_batches(tokenizer, TEXT, 2, 64, shard=(0, 3))
    with pytest.raises(ValueError, match="shard must be"):
        calibration_batches(tokenizer, "shakespeare:macbeth", 4, 64, shard=(2, 2))
    with pytest.raises(ValueError, match="needs an initialised torch.distributed group of 2 ranks"):
        load_spiking("tiny-missing", shard=(0, 2))
