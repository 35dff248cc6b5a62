#!/usr/bin/env bash
# Install lasnn with its test extras, fetch the pinned real assets, lint, run the whole suite.
set -euo pipefail
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
python -m pip install -q -e ".[test]"
python -m lasnn.assets fetch all
python -m ruff check src tests benchmarks
python -m pytest -q
