"""Validation of model input batches (as a tokenizer returns them) before they reach a model."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn as nn

ID_KEYS = ("input_ids", "token_type_ids", "position_ids")
POSITION_TABLES = ("wpe", "position_embeddings", "embed_positions")


def position_limit(model: nn.Module) -> int | None:
    """The longest input a model with a learned position table takes (None for rotary / relative positions).

    The table is the embedding named ``wpe`` (GPT-2), ``position_embeddings`` (BERT, RoBERTa) or ``embed_positions``
    (OPT); OPT's ``offset`` and RoBERTa's positions, which start after ``padding_idx``, are subtracted.
    """
    for name, module in model.named_modules():
        if isinstance(module, nn.Embedding) and name.rpartition(".")[2] in POSITION_TABLES:
            start = getattr(module, "offset", 0) + (module.padding_idx + 1 if module.padding_idx is not None else 0)
            return module.num_embeddings - start
    return None


def check_positions(model: nn.Module, tokens: int, where: str, fix: str = "use shorter sequences") -> None:
    """ValueError if ``tokens`` positions do not fit the model's position table."""
    limit = position_limit(model)
    if limit is not None and tokens > limit:
        config = getattr(model, "config", None)
        field = "n_positions" if hasattr(config, "n_positions") else "max_position_embeddings"
        raise ValueError(f"{where} has {tokens} tokens but {type(model).__name__} has {limit} positions "
                         f"(config.{field}); {fix}")


def _forward_parameters(model: nn.Module) -> set[str]:
    parameters = inspect.signature(model.forward).parameters.values()
    return {p.name for p in parameters if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}


def validate_batch(model: nn.Module, batch: Any, where: str = "batch") -> dict[str, Any]:
    """Check one input dict against ``model`` and move its tensors to the model's device.

    Raises ValueError naming the key and the fix for: a non-dict, unknown keys, missing ``input_ids`` and
    ``inputs_embeds``, non-tensor, wrongly shaped or empty values, non-integer ids, token ids outside the vocabulary,
    non-finite ``inputs_embeds``, and sequences longer than the model's position table.
    """
    if not isinstance(batch, Mapping):
        raise ValueError(
            f"{where} is a {type(batch).__name__}; expected a dict of model inputs as a tokenizer returns them "
            "(e.g. tokenizer(texts, return_tensors='pt', padding=True))"
        )
    accepted = _forward_parameters(model)
    unknown = sorted(set(batch) - accepted)
    if unknown:
        raise ValueError(
            f"{where} has key(s) {unknown} that {type(model).__name__}.forward does not take; "
            f"accepted keys include {sorted(k for k in accepted if k in ('input_ids', 'attention_mask', 'token_type_ids', 'position_ids', 'inputs_embeds'))}"
        )
    if "input_ids" not in batch and "inputs_embeds" not in batch:
        raise ValueError(f"{where} has neither 'input_ids' nor 'inputs_embeds'; pass the tokenizer's output")
    device = next(model.parameters()).device
    checked: dict[str, Any] = {}
    reference_shape = None
    for key, value in batch.items():
        if value is None:
            continue
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"{where}[{key!r}] is a {type(value).__name__}; expected a torch.Tensor (return_tensors='pt')")
        if key == "inputs_embeds":
            if value.dim() != 3 or not value.is_floating_point():
                raise ValueError(f"{where}['inputs_embeds'] must be a float tensor [batch, seq, hidden], got {tuple(value.shape)} {value.dtype}")
            if value.numel() and not bool(torch.isfinite(value).all()):
                raise ValueError(f"{where}['inputs_embeds'] holds NaN or inf; pass finite embeddings")
        elif key != "labels":
            if value.dim() != 2:
                raise ValueError(f"{where}[{key!r}] must be 2-D [batch, seq], got shape {tuple(value.shape)}")
            if reference_shape is not None and tuple(value.shape) != reference_shape:
                raise ValueError(f"{where}[{key!r}] has shape {tuple(value.shape)} but the other inputs have {reference_shape}")
            reference_shape = tuple(value.shape)
        if key != "labels" and 0 in value.shape[:2]:
            raise ValueError(f"{where}[{key!r}] is empty (shape {tuple(value.shape)}); "
                             "pass at least one sequence of at least one token")
        if key in ID_KEYS and value.is_floating_point():
            raise ValueError(f"{where}[{key!r}] must hold integer ids, got {value.dtype}")
        checked[key] = value.to(device)
    if reference_shape is not None or "inputs_embeds" in checked:
        tokens = reference_shape[1] if reference_shape is not None else checked["inputs_embeds"].shape[1]
        check_positions(model, tokens, where)
    ids = checked.get("input_ids")
    if ids is not None and ids.numel():
        vocabulary = model.get_input_embeddings().num_embeddings
        low, high = int(ids.min()), int(ids.max())
        if low < 0 or high >= vocabulary:
            raise ValueError(
                f"{where}['input_ids'] holds token id {low if low < 0 else high} outside the vocabulary [0, {vocabulary}); "
                "use the tokenizer that belongs to this model"
            )
    return checked
