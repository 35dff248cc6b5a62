"""What every task shares: positions of both modes' logits, padding, batching."""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

import torch
import torch.nn as nn

from ..convert.api import mode as run_mode
from ..metrics.parity import forward_both

T = TypeVar("T")


def logits_at(model: nn.Module, batch: Mapping[str, Any], mode: str,
              positions: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """ANN and ``mode`` logits at ``positions[b]`` of each row b, [B, P, V] (rows padded by repeating their last
    position). The LM head runs only on those positions when the model takes ``logits_to_keep``."""
    width = max(len(p) for p in positions)
    index = torch.tensor([list(p) + [p[-1]] * (width - len(p)) for p in positions], device=batch["input_ids"].device)
    if "logits_to_keep" in inspect.signature(model.forward).parameters:
        ann, snn = forward_both(model, batch, mode, logits_to_keep=index)
        if ann.logits.dim() == 3 and tuple(ann.logits.shape[:2]) == tuple(index.shape):  # per-row positions honoured
            return ann.logits, snn.logits
    ann, snn = forward_both(model, batch, mode)
    rows = torch.arange(len(positions), device=index.device)[:, None]
    return ann.logits[rows, index], snn.logits[rows, index]


def forward_in(model: nn.Module, batch: Mapping[str, Any], mode: str, **kwargs: Any) -> Any:
    """The model's output on ``batch`` in one mode (no gradients)."""
    with torch.no_grad(), run_mode(model, mode):
        return model(**batch, **kwargs)


def pad_right(sequences: Sequence[Sequence[int]], pad_id: int, device: torch.device | None = None) -> dict[str, torch.Tensor]:
    """input_ids [B, max_len] padded on the right with ``pad_id`` and the matching attention_mask."""
    length = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), length), dtype=torch.long)
    for row, sequence in enumerate(sequences):
        ids[row, : len(sequence)] = torch.tensor(list(sequence), dtype=torch.long)
        mask[row, : len(sequence)] = 1
    return {"input_ids": ids.to(device), "attention_mask": mask.to(device)}


def pad_id(tokenizer: Any) -> int:
    """A token id for padding (masked, so any valid id works): pad, else eos, else 0."""
    for candidate in (tokenizer.pad_token_id, tokenizer.eos_token_id):
        if candidate is not None:
            return int(candidate)
    return 0


def batched(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    if size < 1:
        raise ValueError(f"batch_size must be >= 1, got {size}")
    for start in range(0, len(items), size):
        yield items[start: start + size]


def device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def hidden_states(output: Any) -> torch.Tensor:
    """The last hidden state of a model output (base models, or heads run with output_hidden_states=True)."""
    hidden = getattr(output, "last_hidden_state", None)
    if hidden is None and getattr(output, "hidden_states", None):
        hidden = output.hidden_states[-1]
    if hidden is None:
        raise ValueError("the model output has no last_hidden_state or hidden_states; use a base (embedding) model")
    return hidden
