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


Shard = tuple[int, int]  # (rank, world size) of a data-parallel run


def _check_shard(shard: Shard | None) -> None:
    if shard is not None and not (isinstance(shard, tuple) and len(shard) == 2 and 0 <= shard[0] < shard[1]):
        raise ValueError(f"shard must be (rank, world_size) with 0 <= rank < world_size, got {shard!r}")


def text_batches(tokenizer: Any, text: str, sequences: int, length: int, batch_size: int = 4,
                 shard: Shard | None = None) -> list[dict[str, torch.Tensor]]:
    """The first ``sequences`` consecutive chunks of ``length`` tokens of ``text``, in batches of ``batch_size``;
    with ``shard=(rank, world_size)`` only the chunks ``rank::world_size`` (every rank at least one)."""
    _check_shard(shard)
    ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"][0]
    available = len(ids) // length
    if available < 1:
        raise ValueError(f"the calibration text has {len(ids)} tokens, fewer than one sequence of {length}")
    chunks = ids[: min(sequences, available) * length].view(-1, length)
    if shard is not None:
        rank, world = shard
        if len(chunks) < world:
            raise ValueError(f"{len(chunks)} calibration sequences cannot be shared by {world} processes (each needs "
                             f"one); use at least {world} calibration sequences")
        chunks = chunks[rank::world]
    return [{"input_ids": chunk, "attention_mask": torch.ones_like(chunk)} for chunk in chunks.split(batch_size)]


def sentence_batches(tokenizer: Any, texts: list[str], batch_size: int = 32, max_length: int = 128) -> list[dict[str, torch.Tensor]]:
    """Tokenised, right-padded batches of sentences."""
    return [dict(tokenizer(texts[i: i + batch_size], padding=True, truncation=True, max_length=max_length, return_tensors="pt"))
            for i in range(0, len(texts), batch_size)]


def calibration_batches(tokenizer: Any, source: str, sequences: int = 8, length: int = 256,
                        shard: Shard | None = None) -> list[dict[str, torch.Tensor]]:
    """Calibration inputs from ``source``: ``shakespeare:WORK``, ``polarity`` (train sentences) or a .txt file.

    ``shard=(rank, world_size)``: this rank's share for data-parallel calibration. Text is shared by sequence; the
    padded sentence batches of polarity are shared whole (padding depends on a batch's members), so that the ranks
    together see exactly the one-process batches."""
    from ..assets import load_polarity, load_shakespeare
    from ..assets.datasets import read_utf8

    _check_shard(shard)
    if source.startswith("shakespeare:"):
        return text_batches(tokenizer, load_shakespeare(source.partition(":")[2]), sequences, length, shard=shard)
    if source == "polarity":
        batches = sentence_batches(tokenizer, [text for text, _ in load_polarity("train")[:sequences]], max_length=length)
        if shard is not None:
            if len(batches) < shard[1]:
                raise ValueError(f"polarity calibration of {sequences} sentences is {len(batches)} batch(es) of 32, "
                                 f"which {shard[1]} processes cannot share (each needs one); use at least "
                                 f"{32 * (shard[1] - 1) + 1} calibration sequences")
            batches = batches[shard[0]::shard[1]]
        return batches
    path = Path(source).expanduser()
    if path.is_file():
        return text_batches(tokenizer, read_utf8(path), sequences, length, shard=shard)
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


def _world_size() -> int:
    import torch.distributed as dist

    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def load_spiking(name_or_path: str, task: str | None = None, config: LASConfig | None = None,
                 calibration: str | None = None, sequences: int = 8, length: int = 256,
                 mode: str = "equivalent", shard: Shard | None = None) -> tuple[nn.Module, Any, dict[str, Any]]:
    """(model, tokenizer, info): a saved lasnn folder is loaded as saved; anything :func:`lasnn.assets.load_model`
    accepts is loaded and converted with ``config`` on ``sequences`` calibration sequences from ``calibration``.

    ``shard=(rank, world_size)``: data-parallel conversion under an initialised torch.distributed group; this rank
    calibrates on its share of the sequences and the observers are reduced across the ranks, so every rank freezes
    the one-process thresholds."""

    from ..assets import ASSETS, load_model
    from ..assets.models import load_tokenizer
    from ..convert import convert, load, set_mode

    _check_shard(shard)
    if shard is not None and shard[1] > 1 and _world_size() != shard[1]:
        raise ValueError(f"shard {shard} needs an initialised torch.distributed group of {shard[1]} ranks "
                         "(each rank calibrates on its share and the observers are reduced across them)")
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
        batches = calibration_batches(tokenizer, calibration, sequences, length, shard=shard)
        convert(model, config, calibration_data=batches)
        info = {"model": str(name_or_path), "source": "converted", "task": task, "calibration": calibration,
                "calibration_sequences": sequences, "calibration_length": length, "config": config.to_dict()}
    set_mode(model, mode)
    return model, tokenizer, info
