"""Multiple-choice log-likelihood over a local JSON / JSONL file, ANN and spiking model side by side.

Format: one record per example with ``context`` (str), ``choices`` (list of str) and ``label`` (index of the right
choice), either one JSON object per line (``.jsonl``) or a JSON list of records (or ``{"examples": [...]}``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from tqdm.auto import tqdm

from ..convert.inputs import check_positions
from ..metrics.parity import ParityStats
from ..modules.state import spiking_mode
from .common import batched, device_of, logits_at, pad_id, pad_right
from .records import read_json_values
from .result import EvalResult


@dataclass(frozen=True)
class ChoiceExample:
    context: str
    choices: tuple[str, ...]
    label: int


def _example(record: Any, where: str) -> ChoiceExample:
    if not isinstance(record, dict):
        raise ValueError(f"{where}: expected an object with context, choices, label; got {type(record).__name__}")
    missing = [key for key in ("context", "choices", "label") if key not in record]
    if missing:
        raise ValueError(f"{where}: missing key(s) {missing}; each record needs context, choices and label")
    context, choices, label = record["context"], record["choices"], record["label"]
    if not isinstance(context, str) or not isinstance(choices, list) or len(choices) < 2 \
            or not all(isinstance(c, str) and c for c in choices):
        raise ValueError(f"{where}: context must be a string and choices a list of >= 2 non-empty strings")
    if not isinstance(label, int) or isinstance(label, bool) or not 0 <= label < len(choices):
        raise ValueError(f"{where}: label must be an integer index into choices (0..{len(choices) - 1}), got {label!r}")
    return ChoiceExample(context, tuple(choices), label)


def load_choices(path: str | Path) -> list[ChoiceExample]:
    """Read and validate a multiple-choice file (``.json`` or ``.jsonl``)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"multiple-choice file {path} does not exist; pass a .json or .jsonl file of "
                         "{context, choices, label} records")
    data = read_json_values(path)
    records = data.get("examples") if isinstance(data, dict) else data
    if not isinstance(records, list) or not records:
        raise ValueError(f"{path} holds no examples; expected a list of {{context, choices, label}} records")
    return [_example(record, f"{path.name} record {index}") for index, record in enumerate(records)]


def multiple_choice(model: nn.Module, tokenizer: Any, examples: Sequence[ChoiceExample], batch_size: int = 8,
                    mode: str | None = None, task: str = "multiple-choice") -> EvalResult:
    """Accuracy of argmax_c log p(choice_c | context) for both modes (also length-normalised: ``acc_norm``).

    Context and choice are tokenised separately and concatenated, so the choice tokens are scored exactly; parity is
    measured on the logits that predict the choice tokens.
    """
    started = time.perf_counter()
    spiking = spiking_mode(model, mode)
    if not examples:
        raise ValueError("no multiple-choice examples")
    requests = []  # (example, choice, token ids, first continuation position)
    for e_index, example in enumerate(examples):
        context = tokenizer(example.context)["input_ids"] or [pad_id(tokenizer)]
        for c_index, choice in enumerate(example.choices):
            continuation = tokenizer(choice, add_special_tokens=False)["input_ids"]
            requests.append((e_index, c_index, context + continuation, len(context)))
    check_positions(model, max(len(ids) for _, _, ids, _ in requests), "the longest context + choice",
                    "use shorter examples")
    scores = {name: [[0.0] * len(e.choices) for e in examples] for name in ("ann", "snn")}
    stats = ParityStats()
    order = sorted(range(len(requests)), key=lambda i: len(requests[i][2]))
    for group in tqdm(list(batched(order, batch_size)), desc=f"{task} ({len(requests)} choices)", unit="batch", leave=False):
        batch = pad_right([requests[i][2] for i in group], pad_id(tokenizer), device_of(model))
        positions = [range(requests[i][3] - 1, len(requests[i][2]) - 1) for i in group]  # predicting each choice token
        ann, snn = logits_at(model, batch, spiking, positions)
        scored = torch.zeros(ann.shape[:2], dtype=torch.bool)
        for row, i in enumerate(group):
            e_index, c_index, ids, start = requests[i]
            scored[row, : len(ids) - start] = True
            targets = torch.tensor(ids[start:])
            for name, logits in (("ann", ann), ("snn", snn)):
                log_probs = torch.log_softmax(logits[row, : len(ids) - start].double(), dim=-1)
                scores[name][e_index][c_index] = float(log_probs.gather(-1, targets[:, None].to(log_probs.device)).sum())
        stats.update(ann, snn, scored)
    result = {}
    for name in ("ann", "snn"):
        raw = [max(range(len(s)), key=s.__getitem__) for s in scores[name]]
        norm = [max(range(len(s)), key=lambda c, s=s, e=e: s[c] / len(e.choices[c])) for s, e in zip(scores[name], examples)]
        result[name] = (raw, norm)
    n = len(examples)
    accuracy = {name: sum(p == e.label for p, e in zip(result[name][0], examples)) / n for name in result}
    accuracy_norm = {name: sum(p == e.label for p, e in zip(result[name][1], examples)) / n for name in result}
    changed = sum(a != s for a, s in zip(result["ann"][0], result["snn"][0]))
    return EvalResult(task, "accuracy", accuracy["ann"], accuracy["snn"], n, changed, spiking, stats.to_dict(),
                      extra={"ann_acc_norm": accuracy_norm["ann"], "snn_acc_norm": accuracy_norm["snn"],
                             "choices": len(requests)},
                      seconds=time.perf_counter() - started)
