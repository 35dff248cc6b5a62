"""Resolve and load models: a named pinned model (fetched on first use) or any local HF folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from lasnn.assets.fetching import fetch
from lasnn.assets.registry import ASSETS

TASKS: dict[str, str] = {
    "causal-lm": "AutoModelForCausalLM",
    "embedding": "AutoModel",
    "masked-lm": "AutoModelForMaskedLM",
    "sequence-classification": "AutoModelForSequenceClassification",
}


def model_names() -> list[str]:
    """The names of the pinned models."""
    return [name for name, spec in ASSETS.items() if spec.kind == "model"]


def resolve_model(name_or_path: str | os.PathLike[str]) -> Path:
    """The folder of a named model (fetched and cached on first use) or of a local HF model folder."""
    spec = ASSETS.get(str(name_or_path))
    if spec is not None and spec.kind == "model":
        return fetch(spec.name)
    path = Path(name_or_path).expanduser()
    if (path / "config.json").is_file():
        return path
    raise ValueError(
        f"{str(name_or_path)!r} is neither a known model ({', '.join(model_names())}) "
        "nor a local Hugging Face model folder (a directory holding config.json)"
    )


def load_model(
    name_or_path: str | os.PathLike[str],
    task: str | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[Any, Any]:
    """Load (model, tokenizer) in eval mode, from local files only.

    ``task`` is one of :data:`TASKS`; by default a named model's own task
    (``smollm2-135m``: causal-lm, ``minilm-l6``: embedding), else causal-lm.
    """
    import transformers

    task = task or _default_task(name_or_path)
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; known tasks: {', '.join(TASKS)}")
    folder = resolve_model(name_or_path)
    auto = getattr(transformers, TASKS[task])
    model = auto.from_pretrained(folder, dtype=dtype, local_files_only=True)
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
    return model.eval(), tokenizer


def _default_task(name_or_path: str | os.PathLike[str]) -> str:
    """A named model's task, causal-lm for anything else."""
    spec = ASSETS.get(str(name_or_path))
    return spec.task if spec is not None and spec.task else "causal-lm"
