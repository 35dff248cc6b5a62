"""A sequence-classification model's own head, ANN and spiking model side by side, with GLUE metrics."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn as nn
from tqdm.auto import tqdm

from ..convert.inputs import check_positions
from ..metrics.parity import ParityStats, forward_both
from ..modules.state import spiking_mode
from .common import batched, device_of, pad_id, pad_right
from .glue import Metric, get_metric, score
from .records import ClassifyExample
from .result import EvalResult


def head_labels(model: nn.Module) -> int:
    """The number of outputs of the model's sequence-classification head; ValueError if it has none."""
    name = type(model).__name__
    if not name.endswith("ForSequenceClassification"):
        raise ValueError(f"{name} has no sequence-classification head; classify scores the head of a "
                         "...ForSequenceClassification model: load one fine-tuned for the task (lasnn convert "
                         "--task sequence-classification, or AutoModelForSequenceClassification)")
    return int(model.config.num_labels)


def check_labels(examples: Sequence[ClassifyExample], num_labels: int) -> None:
    """ValueError naming the first example whose label does not fit the head (an id in 0..num_labels-1, or a
    real score for a regression head)."""
    for index, example in enumerate(examples):
        label = example.label
        if num_labels == 1:
            if isinstance(label, bool) or not isinstance(label, (int, float)):
                raise ValueError(f"example {index}: a regression head needs a real score, got {label!r}")
        elif isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < num_labels:
            raise ValueError(f"example {index} has label {label!r}, outside 0..{num_labels - 1} (the head has "
                             f"{num_labels} labels); use label ids or names of the model's config.id2label")


def _encode(tokenizer: Any, example: ClassifyExample, max_length: int | None) -> dict[str, list[int]]:
    encoded = tokenizer(example.text, example.text_pair, truncation=max_length is not None, max_length=max_length)
    return {key: list(encoded[key]) for key in ("input_ids", "token_type_ids") if key in encoded}


def _batch(model: nn.Module, tokenizer: Any, encoded: Sequence[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
    """Right-padded input_ids / attention_mask (and token_type_ids) with the head's own pad id when it has one
    (decoder classifiers find the last token by it)."""
    pad = getattr(model.config, "pad_token_id", None)
    batch = pad_right([e["input_ids"] for e in encoded], pad_id(tokenizer) if pad is None else int(pad),
                      device_of(model))
    if all("token_type_ids" in e for e in encoded):
        batch["token_type_ids"] = pad_right([e["token_type_ids"] for e in encoded], 0, device_of(model))["input_ids"]
    return batch


def _scores(metric: Metric, examples: Sequence[ClassifyExample], predictions: dict[str, list[Any]],
            num_labels: int) -> dict[str, dict[str, float]]:
    """{"ann": scores, "snn": scores} over all examples, then ``<score>_<split>`` over each split's examples."""
    result = {}
    splits = list(dict.fromkeys(e.split for e in examples if e.split is not None))
    for name, predicted in predictions.items():
        values = score(metric, [e.label for e in examples], predicted, num_labels)
        for split in splits:
            rows = [i for i, e in enumerate(examples) if e.split == split]
            scores = score(metric, [examples[i].label for i in rows], [predicted[i] for i in rows], num_labels)
            values.update({f"{key}_{split}": value for key, value in scores.items()})
        result[name] = values
    return result


def classify(model: nn.Module, tokenizer: Any, examples: Sequence[ClassifyExample], metric: str | None = None,
             batch_size: int = 16, max_length: int | None = None, mode: str | None = None,
             score_tolerance: float = 1e-2, task: str = "classify") -> EvalResult:
    """Score the model's own sequence-classification head on ``examples``, as an ANN and as an SNN.

    Prediction: argmax_c logits_c (classification), or logits_0 (regression head, num_labels 1). ``metric`` is a name
    of :data:`lasnn.eval.glue.METRICS` (default: accuracy, or glue-stsb for a regression head); its first score is the
    headline, the others go to ``extra`` as ``ann_<score>`` / ``snn_<score>``, also per split (``<score>_<split>``)
    when examples carry a split (MNLI: one table with split matched / mismatched). ``changed`` counts examples whose
    predicted label differs (regression: whose score differs by more than ``score_tolerance``); their indices are
    ``extra["changed_indices"]``. Parity is measured on the head's logits. Texts longer than ``max_length`` tokens are
    truncated; without ``max_length`` they must fit the position table.
    """
    started = time.perf_counter()
    spiking = spiking_mode(model, mode)
    num_labels = head_labels(model)
    chosen = get_metric(metric, num_labels)
    if not examples:
        raise ValueError("no examples to classify")
    check_labels(examples, num_labels)
    encoded = [_encode(tokenizer, example, max_length) for example in examples]
    check_positions(model, max(len(e["input_ids"]) for e in encoded), "the longest example",
                    "use shorter texts, or max_length= to truncate them")
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]["input_ids"]))  # similar lengths share a batch
    outputs = {"ann": [0.0] * len(examples), "snn": [0.0] * len(examples)}
    stats = ParityStats()
    for group in tqdm(list(batched(order, batch_size)), desc=f"{task} ({len(order)} examples)", unit="batch",
                      leave=False):
        ann, snn = forward_both(model, _batch(model, tokenizer, [encoded[i] for i in group]), spiking)
        stats.update(ann.logits, snn.logits)
        for name, logits in (("ann", ann.logits), ("snn", snn.logits)):
            values = logits[:, 0].double() if num_labels == 1 else logits.argmax(-1)
            for i, value in zip(group, values.cpu().tolist()):
                outputs[name][i] = value
    if num_labels == 1:
        changed = [i for i, (a, s) in enumerate(zip(outputs["ann"], outputs["snn"])) if abs(a - s) > score_tolerance]
    else:
        changed = [i for i, (a, s) in enumerate(zip(outputs["ann"], outputs["snn"])) if a != s]
    scores = _scores(chosen, examples, outputs, num_labels)
    headline = chosen.scores[0]
    extra: dict[str, Any] = {"metric": chosen.name}
    for key in scores["ann"]:
        if key != headline:
            extra[f"ann_{key}"], extra[f"snn_{key}"] = scores["ann"][key], scores["snn"][key]
    extra["changed_indices"] = changed
    if num_labels == 1:
        extra["score_tolerance"] = score_tolerance
    return EvalResult(task, headline, scores["ann"][headline], scores["snn"][headline], len(examples), len(changed),
                      spiking, stats.to_dict(), extra=extra, seconds=time.perf_counter() - started)
