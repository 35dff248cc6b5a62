"""Helpers for tests on the pinned real assets (marked ``assets``; fetched by ``python -m lasnn.assets fetch all``)."""

import torch

SEQUENCE_LENGTH = 256


def shakespeare_sequences(tokenizer, work: str, count: int, length: int = SEQUENCE_LENGTH) -> torch.Tensor:
    from lasnn.assets import load_shakespeare

    ids = tokenizer(load_shakespeare(work), return_tensors="pt").input_ids[0]
    return ids[: count * length].view(count, length)


def batches(ids: torch.Tensor, size: int = 4) -> list[dict[str, torch.Tensor]]:
    return [{"input_ids": ids[i : i + size], "attention_mask": torch.ones_like(ids[i : i + size])} for i in range(0, len(ids), size)]


