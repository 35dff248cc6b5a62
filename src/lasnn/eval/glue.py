"""Classification and regression metrics by name (GLUE's), computed with scikit-learn and scipy.

============== ====== =============================================================
name           labels scores (the first is the headline)
============== ====== =============================================================
accuracy       >= 2   accuracy, f1
f1             >= 2   f1, accuracy
glue-sst2      2      accuracy
glue-qnli      2      accuracy
glue-rte       2      accuracy
glue-mnli      3      accuracy (matched / mismatched: see :func:`lasnn.eval.classify`)
glue-mrpc      2      f1, accuracy
glue-qqp       2      f1, accuracy
glue-stsb      1      pearson, spearman (a regression head)
============== ====== =============================================================

``f1`` is the F1 of label 1 (GLUE's positive class: paraphrase, duplicate) for two labels, the macro average of the
per-label F1 for more. ``pearson`` / ``spearman`` are the correlation coefficients of the predicted and gold scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    """A named set of scores; ``labels`` is the number of labels the head must have (None: any >= 2)."""

    name: str
    scores: tuple[str, ...]
    labels: int | None = None

    @property
    def regression(self) -> bool:
        return self.labels == 1


METRICS: dict[str, Metric] = {metric.name: metric for metric in (
    Metric("accuracy", ("accuracy", "f1")),
    Metric("f1", ("f1", "accuracy")),
    Metric("glue-sst2", ("accuracy",), 2),
    Metric("glue-qnli", ("accuracy",), 2),
    Metric("glue-rte", ("accuracy",), 2),
    Metric("glue-mnli", ("accuracy",), 3),
    Metric("glue-mrpc", ("f1", "accuracy"), 2),
    Metric("glue-qqp", ("f1", "accuracy"), 2),
    Metric("glue-stsb", ("pearson", "spearman"), 1),
)}


def get_metric(name: str | None, num_labels: int) -> Metric:
    """The metric ``name`` for a head with ``num_labels`` outputs (None: accuracy, or glue-stsb for one output).

    ValueError if the name is unknown or the head does not fit the metric.
    """
    if name is None:
        name = "glue-stsb" if num_labels == 1 else "accuracy"
    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r}; use one of {', '.join(METRICS)}")
    metric = METRICS[name]
    if metric.regression and num_labels != 1:
        raise ValueError(f"{name} scores a regression head (num_labels=1) but the model has {num_labels} labels; "
                         "use accuracy, f1 or a classification metric")
    if not metric.regression and num_labels == 1:
        raise ValueError(f"{name} scores a classification head but the model has one output (a regression head, "
                         "num_labels=1); use glue-stsb")
    if metric.labels is not None and metric.labels != num_labels:
        raise ValueError(f"{name} expects a head with {metric.labels} labels but the model has {num_labels}; "
                         "use accuracy or f1, or the model fine-tuned for this task")
    return metric


def score(metric: Metric, references: Sequence[float], predictions: Sequence[float],
          num_labels: int) -> dict[str, float]:
    """The scores of ``metric`` for ``predictions`` (label ids, or real scores for a regression metric)."""
    if metric.regression:
        from scipy.stats import pearsonr, spearmanr

        if len(references) < 2:
            raise ValueError("pearson / spearman need at least 2 examples")
        values = {"pearson": float(pearsonr(predictions, references).statistic),
                  "spearman": float(spearmanr(predictions, references).statistic)}
    else:
        from sklearn.metrics import accuracy_score, f1_score

        labels = list(range(num_labels))
        f1 = f1_score(references, predictions, labels=labels, average="binary" if num_labels == 2 else "macro",
                      zero_division=0.0)
        values = {"accuracy": float(accuracy_score(references, predictions)), "f1": float(f1)}
    return {name: values[name] for name in metric.scores}
