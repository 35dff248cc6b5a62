"""benchmarks/scale.py runs end to end at the tiny shape and writes every number it prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize("dtype", ["bfloat16"])
def test_scale_benchmark_tiny(tmp_path: Path, dtype: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    completed = subprocess.run([
        sys.executable, str(ROOT / "benchmarks" / "scale.py"), "--shape", "tiny", "--dtype", dtype, "--device", "cpu",
        "--batch", "1", "--length", "32", "--calibration-sequences", "4", "--repeats", "1", "--temporal-length", "8",
        "--prompt-length", "8", "--new-tokens", "4", "--json", str(tmp_path / "scale.json")],
        env=env, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-4000:]
    assert "greedy generation" in completed.stdout and "calibration per sequence" in completed.stdout
    result = json.loads((tmp_path / "scale.json").read_text())
    assert result["shape"] == "tiny" and result["dtype"] == dtype and result["parameters"] > 0
    assert result["conversion"]["calibration_seconds"] <= result["conversion"]["seconds"]
    assert result["forward"]["time_ratio"] > 0 and result["temporal"]["time_ratio"] > 0
    assert result["generation"]["snn_tokens_per_second"] > 0
    assert result["parity"]["top1_agreement"] >= 0.95  # bf16 tiny model, 32 positions
