"""The documents of the ``lasnn_winogrande`` lm-eval task and lm-eval's own WinoGrande prompt functions.

``doc_to_text`` (the gold option's index), ``doc_to_choice`` (the sentence up to the blank, filled with each option)
and ``doc_to_target`` (the text after the blank) are lm-eval's ``winogrande`` functions themselves, so the task
scores exactly as lm-eval scores WinoGrande.
"""

from __future__ import annotations

from typing import Any

import datasets
from lm_eval.tasks.winogrande.preprocess_winogrande import doc_to_choice, doc_to_target, doc_to_text

from lasnn.assets.winogrande import load_winogrande

__all__ = ["doc_to_choice", "doc_to_target", "doc_to_text", "load_dataset"]


def load_dataset(**metadata: Any) -> datasets.DatasetDict:
    """The cached items (fetched on first use) as the ``test`` split; lm-eval passes the task's metadata, unused."""
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(load_winogrande())})
