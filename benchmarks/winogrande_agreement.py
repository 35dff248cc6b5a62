"""ANN against SNN on ``lasnn_winogrande``: accuracies and per-item agreement from two ``lm_eval --log_samples`` runs.

    for mode in ann equivalent; do
      lm_eval --model lasnn --model_args pretrained=smollm2-135m,mode=$mode --tasks lasnn_winogrande --limit 500 \\
        --batch_size 16 --device cpu --log_samples --output_path reports/winogrande/$mode
    done
    python benchmarks/winogrande_agreement.py reports/winogrande/ann reports/winogrande/equivalent \\
        --json reports/winogrande_smollm2.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from lasnn.jsonio import write_json

TASK = "lasnn_winogrande"


def newest(folder: Path, pattern: str) -> Path:
    """The newest file lm-eval wrote under its ``--output_path`` folder whose name matches ``pattern``."""
    files = sorted(folder.rglob(pattern), key=lambda path: path.name)
    if not files:
        raise SystemExit(f"{folder}: no {pattern}; run lm_eval with --log_samples --output_path {folder}")
    return files[-1]


def samples(folder: Path) -> dict[int, dict[str, Any]]:
    """The newest logged samples of the task, by document id."""
    lines = newest(folder, f"samples_{TASK}_*.jsonl").read_text().splitlines()
    return {record["doc_id"]: record for record in map(json.loads, lines)}


def run_info(folder: Path) -> dict[str, Any]:
    """The run's wall time (model load, calibration and evaluation) and what lasnn built."""
    results = json.loads(newest(folder, "results_*.json").read_text())
    return {"seconds": round(float(results["total_evaluation_time_seconds"]), 1), "lasnn": results["config"]["lasnn"]}


def loglikelihoods(record: dict[str, Any]) -> list[float]:
    """The log-likelihood of the text after the blank given each filled option."""
    return [float(value) for value, _ in record["filtered_resps"]]


def choice(record: dict[str, Any]) -> int:
    """The option the model chose: the one whose filled sentence makes the text after the blank likelier."""
    values = loglikelihoods(record)
    return values.index(max(values))


def compare(ann: dict[int, dict[str, Any]], snn: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Accuracies, agreement of the chosen options and the largest log-likelihood difference on the same items."""
    if ann.keys() != snn.keys():
        raise SystemExit("the two runs scored different items; run both with the same --limit")
    ids = sorted(ann)
    changed = [i for i in ids if choice(ann[i]) != choice(snn[i])]
    return {
        "items": len(ids),
        "by_source": {s: sum(ann[i]["doc"]["source"] == s for i in ids) for s in ("object", "person")},
        "ann_accuracy": sum(ann[i]["acc"] for i in ids) / len(ids),
        "snn_accuracy": sum(snn[i]["acc"] for i in ids) / len(ids),
        "agreement": 1 - len(changed) / len(ids),
        "changed_items": changed,
        "max_abs_loglikelihood_difference": max(abs(a - b) for i in ids
                                                for a, b in zip(loglikelihoods(ann[i]), loglikelihoods(snn[i]))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ann", type=Path, help="--output_path of the mode=ann run")
    parser.add_argument("snn", type=Path, help="--output_path of the spiking run")
    parser.add_argument("--json", type=Path, help="write the comparison here")
    args = parser.parse_args()
    result = {**compare(samples(args.ann), samples(args.snn)),
              "runs": {"ann": run_info(args.ann), "snn": run_info(args.snn)}}
    print(json.dumps(result, indent=2))
    if args.json:
        write_json(args.json, result)


if __name__ == "__main__":
    main()
