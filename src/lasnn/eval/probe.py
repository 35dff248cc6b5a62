"""Sentence-embedding linear probe: mean-pooled embeddings, a logistic regression fit on the ANN's, applied to both."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn as nn
from tqdm.auto import tqdm

from ..metrics.parity import ParityStats, forward_both
from ..modules.state import spiking_mode
from .common import batched, device_of, forward_in, hidden_states, pad_id, pad_right
from .result import EvalResult


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """e = sum_t m_t h_t / sum_t m_t over the attended tokens, [B, T, H] -> [B, H]."""
    weights = mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * weights).sum(1) / weights.sum(1).clamp_min(1.0)


def _batch(tokenizer: Any, texts: Sequence[str], model: nn.Module, max_length: int) -> dict[str, torch.Tensor]:
    ids = [tokenizer(text, truncation=True, max_length=max_length)["input_ids"] for text in texts]
    return pad_right(ids, pad_id(tokenizer), device_of(model))


def embed(model: nn.Module, tokenizer: Any, texts: Sequence[str], mode: str = "ann", batch_size: int = 64,
          max_length: int = 128) -> torch.Tensor:
    """Mean-pooled last hidden states of ``texts`` in one mode, [N, H] float64 on the CPU."""
    pooled = []
    for group in tqdm(list(batched(texts, batch_size)), desc=f"embedding ({mode})", unit="batch", leave=False):
        batch = _batch(tokenizer, group, model, max_length)
        out = forward_in(model, batch, mode, output_hidden_states=True)
        pooled.append(mean_pool(hidden_states(out), batch["attention_mask"]).double().cpu())
    return torch.cat(pooled)


def linear_probe(model: nn.Module, tokenizer: Any, train: Sequence[tuple[str, int]], test: Sequence[tuple[str, int]],
                 batch_size: int = 64, max_length: int = 128, mode: str | None = None,
                 task: str = "linear-probe") -> EvalResult:
    """Accuracy of a logistic regression fit on ANN embeddings of ``train``, applied to ANN and SNN embeddings of
    ``test``; also the min / mean cosine between the ANN and SNN embedding of each test sentence."""
    from sklearn.linear_model import LogisticRegression

    started = time.perf_counter()
    spiking = spiking_mode(model, mode)
    if not train or not test:
        raise ValueError("the linear probe needs non-empty train and test examples")
    features = embed(model, tokenizer, [t for t, _ in train], "ann", batch_size, max_length)
    classifier = LogisticRegression(max_iter=2000).fit(features.numpy(), [label for _, label in train])
    stats = ParityStats()
    pooled: dict[str, list[torch.Tensor]] = {"ann": [], "snn": []}
    for group in tqdm(list(batched(test, batch_size)), desc=f"{task} test ({len(test)})", unit="batch", leave=False):
        batch = _batch(tokenizer, [t for t, _ in group], model, max_length)
        ann, snn = forward_both(model, batch, spiking, output_hidden_states=True)
        stats.update(hidden_states(ann), hidden_states(snn), batch["attention_mask"])
        for name, out in (("ann", ann), ("snn", snn)):
            pooled[name].append(mean_pool(hidden_states(out), batch["attention_mask"]).double().cpu())
    ann_e, snn_e = torch.cat(pooled["ann"]), torch.cat(pooled["snn"])
    labels = torch.tensor([label for _, label in test])
    predictions = {name: torch.from_numpy(classifier.predict(e.numpy())) for name, e in (("ann", ann_e), ("snn", snn_e))}
    accuracy = {name: float((p == labels).double().mean()) for name, p in predictions.items()}
    cosine = torch.nn.functional.cosine_similarity(ann_e, snn_e, dim=-1)
    return EvalResult(task, "accuracy", accuracy["ann"], accuracy["snn"], len(test),
                      int((predictions["ann"] != predictions["snn"]).sum()), spiking, stats.to_dict(),
                      extra={"embedding_cosine_min": float(cosine.min()), "embedding_cosine_mean": float(cosine.mean()),
                             "train_examples": len(train)},
                      seconds=time.perf_counter() - started)
