"""Zero-shot classification from the next-token logits of label words, ANN and spiking model side by side."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn as nn
from tqdm.auto import tqdm

from ..convert.inputs import check_positions
from ..metrics.parity import ParityStats
from ..modules.state import spiking_mode
from .common import batched, device_of, logits_at, pad_id, pad_right
from .result import EvalResult

SENTIMENT_TEMPLATE = "Review: {text}\nSentiment:"
SENTIMENT_WORDS = (" negative", " positive")  # label 0, label 1 (as lasnn.assets.load_polarity)


def label_token_ids(tokenizer: Any, words: Sequence[str]) -> list[int]:
    """The first token of each label word; the words must start with distinct tokens."""
    ids = []
    for word in words:
        tokens = tokenizer(word, add_special_tokens=False)["input_ids"]
        if not tokens:
            raise ValueError(f"label word {word!r} encodes to no tokens")
        ids.append(int(tokens[0]))
    if len(set(ids)) != len(ids):
        raise ValueError(f"label words {list(words)} do not start with distinct tokens ({ids}); choose other words")
    return ids


def zero_shot(model: nn.Module, tokenizer: Any, examples: Sequence[tuple[str, int]], label_words: Sequence[str],
              template: str = "{text}", batch_size: int = 16, mode: str | None = None,
              task: str = "zero-shot") -> EvalResult:
    """Accuracy of argmax_c logit(label_word_c | template(text)) at the last prompt token, for both modes.

    Parity is measured on the full next-token logit vector at that position.
    """
    started = time.perf_counter()
    spiking = spiking_mode(model, mode)
    if not examples:
        raise ValueError("no examples to classify")
    if any(not 0 <= label < len(label_words) for _, label in examples):
        raise ValueError(f"labels must be in 0..{len(label_words) - 1} (one per label word)")
    label_ids = torch.tensor(label_token_ids(tokenizer, label_words))
    prompts = [tokenizer(template.format(text=text))["input_ids"] for text, _ in examples]
    check_positions(model, max(map(len, prompts)), "the longest prompt", "use shorter examples")
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))  # similar lengths share a batch
    correct = {"ann": 0, "snn": 0}
    changed = 0
    stats = ParityStats()
    for group in tqdm(list(batched(order, batch_size)), desc=f"{task} ({len(order)} prompts)", unit="batch", leave=False):
        batch = pad_right([prompts[i] for i in group], pad_id(tokenizer), device_of(model))
        last = [[len(prompts[i]) - 1] for i in group]
        ann_last, snn_last = (logits[:, 0] for logits in logits_at(model, batch, spiking, last))
        stats.update(ann_last, snn_last)
        labels = torch.tensor([examples[i][1] for i in group])
        predictions = {}
        for name, logits in (("ann", ann_last), ("snn", snn_last)):
            predictions[name] = logits[:, label_ids.to(logits.device)].argmax(-1).cpu()
            correct[name] += int((predictions[name] == labels).sum())
        changed += int((predictions["ann"] != predictions["snn"]).sum())
    n = len(examples)
    return EvalResult(task, "accuracy", correct["ann"] / n, correct["snn"] / n, n, changed, spiking, stats.to_dict(),
                      extra={"label_words": list(label_words), "template": template},
                      seconds=time.perf_counter() - started)


def sentiment(model: nn.Module, tokenizer: Any, examples: Sequence[tuple[str, int]], batch_size: int = 16,
              mode: str | None = None) -> EvalResult:
    """Zero-shot sentiment: ``"Review: {s}\\nSentiment:"`` then " positive" against " negative" (labels 1 / 0)."""
    return zero_shot(model, tokenizer, examples, SENTIMENT_WORDS, SENTIMENT_TEMPLATE, batch_size, mode, task="sentiment")
