"""Validation of model input batches (as a tokenizer returns them) before they reach a model."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn as nn

ID_KEYS = ("input_ids", "token_type_ids", "position_ids")


def _forward_parameters(model: nn.Module) -> set[str]:
    parameters = inspect.signature(model.forward).parameters.values()
    return {p.name for p in parameters if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}


def validate_batch(model: nn.Module, batch: Any, where: str = "batch") -> dict[str, Any]:
    """Check one input dict against ``model`` and move its tensors to the model's device.

    Raises ValueError naming the key and the fix for: a non-dict, unknown keys, missing ``input_ids`` and
    ``inputs_embeds``, non-tensor or wrongly shaped values, non-integer ids, token ids outside the vocabulary.
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
        elif key != "labels":
            if value.dim() != 2:
                raise ValueError(f"{where}[{key!r}] must be 2-D [batch, seq], got shape {tuple(value.shape)}")
            if reference_shape is not None and tuple(value.shape) != reference_shape:
                raise ValueError(f"{where}[{key!r}] has shape {tuple(value.shape)} but the other inputs have {reference_shape}")
            reference_shape = tuple(value.shape)
        if key in ID_KEYS and value.is_floating_point():
            raise ValueError(f"{where}[{key!r}] must hold integer ids, got {value.dtype}")
        checked[key] = value.to(device)
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
