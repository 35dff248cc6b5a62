"""Side-by-side evaluation: every task runs the ANN and the spiking model on identical inputs with identical scoring.

Tasks: :func:`perplexity` (sliding windows), :func:`zero_shot` / :func:`sentiment` (label-token logits),
:func:`multiple_choice` (local JSON / JSONL), :func:`linear_probe` (sentence embeddings), :func:`classify` (a
classifier's own head, GLUE metrics; tables read by :func:`read_records`). Each returns an
:class:`EvalResult`. ``lasnn.eval.harness`` registers the ``lasnn`` model for lm-evaluation-harness.
"""

from ..metrics.parity import ParityStats
from .choice import ChoiceExample, load_choices, multiple_choice
from .classification import SENTIMENT_TEMPLATE, SENTIMENT_WORDS, sentiment, zero_shot
from .classify import classify
from .loading import calibration_batches, is_saved_conversion, load_spiking
from .perplexity import perplexity, windows
from .probe import embed, linear_probe, mean_pool
from .records import ClassifyExample, read_records, resolve_columns, to_examples
from .result import EvalResult

__all__ = ["SENTIMENT_TEMPLATE", "SENTIMENT_WORDS", "ChoiceExample", "ClassifyExample", "EvalResult", "ParityStats",
           "calibration_batches", "classify", "embed", "is_saved_conversion", "linear_probe", "load_choices",
           "load_spiking", "mean_pool", "multiple_choice", "perplexity", "read_records", "resolve_columns",
           "sentiment", "to_examples", "windows", "zero_shot"]
