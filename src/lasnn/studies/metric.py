"""Task metric of the studies: perplexity of a causal LM on full (unpadded) token windows."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


def perplexity(model: nn.Module, batches: Iterable[Mapping[str, Any]]) -> float:
    """exp(mean next-token negative log-likelihood) over every position of every window."""
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in batches:
            logits = model(**batch).logits[:, :-1].float()
            targets = batch["input_ids"][:, 1:]
            total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="sum"))
            count += targets.numel()
    return math.exp(total / count)
