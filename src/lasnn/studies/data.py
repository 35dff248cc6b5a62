"""Evaluation text as model batches: fixed-length token windows of one text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..assets import load_shakespeare, shakespeare_works
from ..assets.datasets import read_utf8


def read_text(source: str) -> str:
    """``shakespeare`` (Hamlet), ``shakespeare:WORK``, or the path of a UTF-8 text file."""
    if source == "shakespeare" or source.startswith("shakespeare:"):
        work = source.partition(":")[2] or "hamlet"
        if work not in shakespeare_works():
            raise ValueError(f"unknown Shakespeare work {work!r}; available: {', '.join(shakespeare_works())}")
        return load_shakespeare(work)
    path = Path(source).expanduser()
    if not path.is_file():
        raise ValueError(f"--data {source!r} is neither 'shakespeare[:WORK]' nor a readable text file")
    return read_utf8(path)


def token_windows(tokenizer: Any, text: str, sequences: int, length: int, batch_size: int = 4,
                  skip: int = 0) -> list[dict[str, torch.Tensor]]:
    """``sequences`` consecutive windows of ``length`` tokens (after skipping ``skip`` windows), in batches.

    Every window is full (no padding), so every position is attended and perplexity needs no mask.
    """
    if sequences < 1 or length < 2 or batch_size < 1:
        raise ValueError(f"need sequences >= 1, length >= 2, batch_size >= 1; got {sequences}, {length}, {batch_size}")
    ids = tokenizer(text, return_tensors="pt")["input_ids"][0]
    needed = (skip + sequences) * length
    if ids.numel() < needed:
        raise ValueError(f"the text has {ids.numel()} tokens; {skip + sequences} windows of {length} need {needed}")
    windows = ids[skip * length: needed].view(sequences, length)
    return [{"input_ids": chunk, "attention_mask": torch.ones_like(chunk)} for chunk in windows.split(batch_size)]
