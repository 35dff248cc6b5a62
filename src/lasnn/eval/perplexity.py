"""Perplexity of a causal LM on one text with sliding windows, ANN and spiking model side by side."""

from __future__ import annotations

import math
import time
from typing import Any

import torch
import torch.nn as nn
from tqdm.auto import tqdm

from ..convert.inputs import check_positions, position_limit
from ..metrics.parity import ParityStats, forward_both
from ..modules.state import spiking_mode
from .common import batched, device_of, pad_id, pad_right
from .result import EvalResult


def windows(length: int, window: int, stride: int) -> list[tuple[int, int, int]]:
    """(begin, end, first_scored) for sliding windows over ``length`` tokens.

    Window i covers tokens [begin, end) with begin = i * stride, end = min(begin + window, length); it scores the
    tokens in [max(begin + 1, previous end), end), each predicted from the tokens before it inside the window. With
    stride < window every token but the first is scored exactly once, with at least ``window - stride`` tokens of
    context; with stride == window (no overlap) the first token of each window has no context and is not scored.
    """
    if window < 2:
        raise ValueError(f"window must be >= 2 tokens, got {window}")
    if not 1 <= stride <= window:
        raise ValueError(f"stride must be in 1..window ({window}), got {stride}")
    spans, previous_end, begin = [], 0, 0
    while previous_end < length:
        end = min(begin + window, length)
        first = max(begin + 1, previous_end)
        if first < end:
            spans.append((begin, end, first))
        previous_end, begin = end, begin + stride
    return spans


def _token_nll(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """-log p(ids[:, t] | ids[:, <t]) for t >= 1, shape [B, T-1]."""
    log_probs = torch.log_softmax(logits[:, :-1].double(), dim=-1)
    return -log_probs.gather(-1, ids[:, 1:, None]).squeeze(-1)


def perplexity(model: nn.Module, tokenizer: Any, text: str, window: int = 256, stride: int | None = None,
               batch_size: int = 4, max_tokens: int | None = None, mode: str | None = None,
               task: str = "perplexity") -> EvalResult:
    """exp(mean NLL) of every token of ``text`` (truncated to ``max_tokens``) under the ANN and the spiking model.

    ``changed`` counts scored tokens whose greedy next-token prediction differs between the two.
    """
    started = time.perf_counter()
    spiking = spiking_mode(model, mode)
    stride = window if stride is None else stride
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    ids = ids[:max_tokens] if max_tokens else ids
    if len(ids) < 2:
        raise ValueError("the text has fewer than 2 tokens; perplexity needs a longer text")
    check_positions(model, min(window, len(ids)), "a perplexity window",
                    f"use a window of at most {position_limit(model)} tokens (--window)")
    spans = windows(len(ids), window, stride)
    nll = {"ann": 0.0, "snn": 0.0}
    scored = changed = 0
    stats = ParityStats()
    for group in tqdm(list(batched(spans, batch_size)), desc=f"{task} ({len(spans)} windows)", unit="batch", leave=False):
        batch = pad_right([ids[b:e] for b, e, _ in group], pad_id(tokenizer), device_of(model))
        ann, snn = forward_both(model, batch, spiking)
        # score mask over target positions 1..T-1: the tokens this window scores
        score = torch.zeros_like(batch["attention_mask"][:, 1:], dtype=torch.bool)
        for row, (begin, end, first) in enumerate(group):
            score[row, first - begin - 1: end - begin - 1] = True
        for name, out in (("ann", ann), ("snn", snn)):
            nll[name] += float(_token_nll(out.logits, batch["input_ids"])[score].sum())
        predictions = [out.logits[:, :-1].argmax(-1)[score] for out in (ann, snn)]
        changed += int((predictions[0] != predictions[1]).sum())
        scored += int(score.sum())
        stats.update(ann.logits, snn.logits, batch["attention_mask"])
    ann_ppl, snn_ppl = math.exp(nll["ann"] / scored), math.exp(nll["snn"] / scored)
    return EvalResult(task, "perplexity", ann_ppl, snn_ppl, scored, changed, spiking, stats.to_dict(),
                      higher_is_better=False,
                      extra={"windows": len(spans), "window": window, "stride": stride, "tokens": len(ids),
                             "ann_nll": nll["ann"] / scored, "snn_nll": nll["snn"] / scored},
                      seconds=time.perf_counter() - started)
