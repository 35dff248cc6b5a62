"""A local lm-eval task folder (YAML + JSONL, no downloads) and the ``lm_eval`` command, for the harness tests."""

import json
import shutil
import sys
from pathlib import Path

RECORDS = [
    {"context": "Now is the winter of our", "choices": ["discontent", "summer"], "label": 0,
     "text": "Now is the winter of our discontent.", "answer": " made"},
    {"context": "made glorious summer by this", "choices": ["sun", "moon"], "label": 0,
     "text": "Made glorious summer by this sun of York.", "answer": " sun"},
    {"context": "and all the clouds that", "choices": ["lour'd", "rained"], "label": 0,
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


def write_tasks(folder: Path) -> Path:
    """Write the data and the three tasks (tiny_mc, tiny_ppl, tiny_gen: one per lm-eval request type) into ``folder``."""
    data = folder / "data.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in RECORDS) + "\n")
    for name, (output_type, body) in BODIES.items():
        (folder / f"{name}.yaml").write_text(TASK.format(name=name, data=data, output_type=output_type, body=body))
    return folder


def lm_eval_command() -> str:
    """The ``lm_eval`` console script of this interpreter's environment."""
    script = shutil.which("lm_eval", path=str(Path(sys.executable).parent)) or shutil.which("lm_eval")
    if script is None:
        raise RuntimeError("lm-eval is installed but its `lm_eval` command is not on PATH")
    return script
