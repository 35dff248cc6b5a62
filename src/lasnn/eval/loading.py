"""Load a model by name or folder and make it spiking: convert with calibration data, or load a saved conversion."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from ..config import LASConfig
from ..convert.persist import MANIFEST

DEFAULT_CALIBRATION = {"causal-lm": "shakespeare:macbeth", "embedding": "polarity", "sequence-classification": "polarity"}


def _task_of(model: nn.Module) -> str:
    return "causal-lm" if hasattr(model, "get_output_embeddings") and model.get_output_embeddings() is not None \
        else "embedding"


def is_saved_conversion(name_or_path: str | os.PathLike[str]) -> bool:
    """True if ``name_or_path`` is a folder written by :func:`lasnn.save`."""
    return (Path(name_or_path).expanduser() / MANIFEST).is_file()


def text_batches(tokenizer: Any, text: str, sequences: int, length: int, batch_size: int = 4) -> list[dict[str, torch.Tensor]]:
    """The first ``sequences`` consecutive chunks of ``length`` tokens of ``text``, in batches of ``batch_size``."""
    ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"][0]
    available = len(ids) // length
    if available < 1:
        raise ValueError(f"the calibration text has {len(ids)} tokens, fewer than one sequence of {length}")
    chunks = ids[: min(sequences, available) * length].view(-1, length)
    return [{"input_ids": chunk, "attention_mask": torch.ones_like(chunk)} for chunk in chunks.split(batch_size)]


def sentence_batches(tokenizer: Any, texts: list[str], batch_size: int = 32, max_length: int = 128) -> list[dict[str, torch.Tensor]]:
    """Tokenised, right-padded batches of sentences."""
    return [dict(tokenizer(texts[i: i + batch_size], padding=True, truncation=True, max_length=max_length, return_tensors="pt"))
            for i in range(0, len(texts), batch_size)]


def calibration_batches(tokenizer: Any, source: str, sequences: int = 8, length: int = 256) -> list[dict[str, torch.Tensor]]:
    """Calibration inputs from ``source``: ``shakespeare:WORK``, ``polarity`` (train sentences) or a .txt file."""
    from ..assets import load_polarity, load_shakespeare
    from ..assets.datasets import read_utf8

    if source.startswith("shakespeare:"):
        return text_batches(tokenizer, load_shakespeare(source.partition(":")[2]), sequences, length)
    if source == "polarity":
        return sentence_batches(tokenizer, [text for text, _ in load_polarity("train")[:sequences]], max_length=length)
    path = Path(source).expanduser()
    if path.is_file():
        return text_batches(tokenizer, read_utf8(path), sequences, length)
    raise ValueError(f"unknown calibration source {source!r}; use shakespeare:WORK (e.g. shakespeare:macbeth), "
                     "polarity, or the path of a text file")


def held_out_batch(tokenizer: Any, source: str, sequences: int, length: int) -> dict[str, torch.Tensor]:
    """Up to 2 inputs from ``source`` that calibration on ``sequences`` sequences did not see (for a parity check)."""
    from ..assets import load_polarity

    if source == "polarity":
        return sentence_batches(tokenizer, [text for text, _ in load_polarity("test")[:16]], max_length=length)[0]
    chunks = [b["input_ids"] for b in calibration_batches(tokenizer, source, sequences + 2, length)]
    ids = torch.cat(chunks)[sequences:]
    if len(ids) == 0:
        raise ValueError(f"calibration source {source!r} has no text beyond the {sequences} calibration sequences "
                         f"of {length} tokens; use fewer or shorter calibration sequences")
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}


def load_spiking(name_or_path: str, task: str | None = None, config: LASConfig | None = None,
                 calibration: str | None = None, sequences: int = 8, length: int = 256,
                 mode: str = "equivalent") -> tuple[nn.Module, Any, dict[str, Any]]:
    """(model, tokenizer, info): a saved lasnn folder is loaded as saved; anything :func:`lasnn.assets.load_model`
    accepts is loaded and converted with ``config`` on ``sequences`` calibration sequences from ``calibration``."""

    from ..assets import ASSETS, load_model
    from ..assets.models import load_tokenizer
    from ..convert import convert, load, set_mode

    if calibration is not None and not calibration.strip():
        raise ValueError("the calibration source is empty; give shakespeare:WORK, polarity or the path of a text file, "
                         "or leave it out (None) for the default")
    if is_saved_conversion(name_or_path):
        model = load(Path(name_or_path).expanduser())
        tokenizer = load_tokenizer(Path(name_or_path).expanduser())
        info = {"model": str(name_or_path), "source": "saved conversion", "task": _task_of(model)}
    else:
        spec = ASSETS.get(str(name_or_path))
        task = task or (spec.task if spec is not None and spec.task else "causal-lm")
        model, tokenizer = load_model(name_or_path, task)
        calibration = DEFAULT_CALIBRATION.get(task, "shakespeare:macbeth") if calibration is None else calibration
        config = dataclasses.replace(config or LASConfig(), calibration_sequences=sequences)
        batches = calibration_batches(tokenizer, calibration, sequences, length)
        convert(model, config, calibration_data=batches)
        info = {"model": str(name_or_path), "source": "converted", "task": task, "calibration": calibration,
                "calibration_sequences": sequences, "calibration_length": length, "config": config.to_dict()}
    set_mode(model, mode)
    return model, tokenizer, info
