"""The ``finetune-classifier`` recipe: a short, deterministic fine-tune of a pinned encoder into a classifier.

With the constants of a :class:`~lasnn.assets.registry.RecipeSpec` ``recipe`` (``minilm-polarity``: see the
registry), the build is: ``BertForSequenceClassification`` from the ``base`` asset with a fresh head
(``torch.manual_seed(seed)`` before it is made; labels ``labels``, id i = label i of the dataset), the embeddings
frozen if ``freeze_embeddings``, trained on every example of the ``train`` split for ``epochs`` epochs of
mini-batches of ``batch_size`` (sentences tokenised to at most ``max_length`` tokens). Batch order, per epoch:
``torch.randperm`` of the examples from a generator seeded with ``seed``, cut into windows of
``length_buckets * batch_size`` examples, each window sorted by token count (stable) and cut into batches (less
padding), then the batches permuted by the same generator. AdamW (``learning_rate``, ``weight_decay``), the learning
rate rising linearly over the first ``warmup_fraction`` of the steps and then falling linearly to 0, dropout as in
the base config, cross-entropy loss. It runs with ``torch.use_deterministic_algorithms(True)`` on ``threads`` CPU
threads, so the same machine writes the same bits.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from lasnn.assets._ui import console
from lasnn.assets.registry import RecipeSpec

RECIPE_FILE = "recipe.json"


def split_examples(reference: str) -> list[tuple[str, int]]:
    """The (text, label) examples of a recipe's ``dataset:split`` reference (``polarity:train``)."""
    from lasnn.assets.datasets import load_polarity

    dataset, _, split = reference.partition(":")
    if dataset != "polarity":
        raise ValueError(f"unknown recipe dataset {reference!r}; recipes train on polarity:train or polarity:test")
    return load_polarity(split)


def build_classifier(spec: RecipeSpec, out: Path) -> Path:
    """Run the recipe of ``spec`` and save the classifier (weights, config, tokenizer, ``recipe.json``) in ``out``."""
    from lasnn.assets.fetching import fetch
    from lasnn.assets.models import load_tokenizer

    recipe = spec.recipe
    base = fetch(recipe["base"])
    train = split_examples(recipe["train"])
    started = time.perf_counter()
    console.print(f"{spec.name}: fine-tuning {recipe['base']} on {len(train)} {recipe['train']} examples "
                  f"({recipe['epochs']} epochs; about 2 minutes on 2 cores, once)", highlight=False)
    tokenizer = load_tokenizer(base)
    with _deterministic(recipe["threads"]):
        model = _classifier(base, recipe)
        losses = train_classifier(model, tokenizer, train, recipe)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    record = {"name": spec.name, "recipe": recipe, "epoch_losses": losses}
    (out / RECIPE_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    console.print(f"{spec.name}: fine-tuned in {time.perf_counter() - started:.0f} s; epoch losses "
                  f"{', '.join(f'{loss:.4f}' for loss in losses)}", highlight=False)
    return out


def _classifier(base: Path, recipe: dict[str, Any]) -> Any:
    """A BertForSequenceClassification from ``base`` with a head made right after seeding with ``recipe['seed']``."""
    import transformers

    labels = list(recipe["labels"])
    torch.manual_seed(recipe["seed"])
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()  # the fresh head is the point, not a missing weight
    try:
        return transformers.BertForSequenceClassification.from_pretrained(
            base, num_labels=len(labels), id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)}, local_files_only=True, trust_remote_code=False,
            dtype=torch.float32)
    finally:
        transformers.logging.set_verbosity(verbosity)


def train_classifier(model: Any, tokenizer: Any, train: Sequence[tuple[str, int]],
                     recipe: dict[str, Any]) -> list[float]:
    """Fine-tune ``model`` in place as the module docstring states; the mean training loss of each epoch."""
    generator = torch.Generator().manual_seed(recipe["seed"])
    lengths = [len(ids) for ids in tokenizer([text for text, _ in train], truncation=True,
                                             max_length=recipe["max_length"])["input_ids"]]
    epochs = recipe["epochs"]
    steps = epochs * -(-len(train) // recipe["batch_size"])
    warmup = max(1, round(recipe["warmup_fraction"] * steps))
    if recipe["freeze_embeddings"]:
        model.base_model.embeddings.requires_grad_(False)
    trained = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=recipe["learning_rate"], weight_decay=recipe["weight_decay"])
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (steps - step) / max(1, steps - warmup))))
    model.train()
    losses = []
    for _ in range(epochs):
        total = 0.0
        for indices in batch_order(lengths, recipe["batch_size"], recipe["length_buckets"], generator):
            rows = [train[i] for i in indices]
            batch = tokenizer([text for text, _ in rows], padding=True, truncation=True,
                              max_length=recipe["max_length"], return_tensors="pt")
            loss = model(**batch, labels=torch.tensor([label for _, label in rows])).loss
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            total += loss.item() * len(rows)
        losses.append(total / len(train))
    model.eval()
    return losses


def batch_order(lengths: Sequence[int], size: int, buckets: int, generator: torch.Generator) -> list[list[int]]:
    """One epoch's batches of example indices: shuffled, length-sorted within windows of ``buckets * size``,
    batched, and the batches shuffled (every index exactly once)."""
    order = torch.randperm(len(lengths), generator=generator).tolist()
    batches = []
    for start in range(0, len(order), buckets * size):
        window = sorted(order[start: start + buckets * size], key=lengths.__getitem__)
        batches += [window[i: i + size] for i in range(0, len(window), size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


@contextmanager
def _deterministic(threads: int) -> Iterator[None]:
    """Deterministic torch algorithms on ``threads`` CPU threads for the duration; the caller's settings and random
    state after."""
    previous = (torch.are_deterministic_algorithms_enabled(), torch.get_num_threads())
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)
    try:
        with torch.random.fork_rng(devices=[]):  # the caller's random state is left as it was
            yield
    finally:
        torch.use_deterministic_algorithms(previous[0])
        torch.set_num_threads(previous[1])
