"""The side-by-side tasks on tiny random models: scoring is right, ANN and SNN agree, results are reported."""

import json
import math

import pytest
import torch
from rich.console import Console

from eval_helpers import TEXT
from lasnn.eval import (
    ChoiceExample,
    ParityStats,
    linear_probe,
    load_choices,
    multiple_choice,
    perplexity,
    windows,
    zero_shot,
)
from lasnn.metrics.parity import compare

EXPECTED_KEYS = {"task", "metric", "ann", "snn", "difference", "relative_difference", "examples", "changed", "parity", "mode"}


def _render(result) -> str:
    console = Console(width=120, record=True, file=open("/dev/null", "w"))
    console.print(result.table())
    return console.export_text()


@pytest.mark.parametrize("length,window,stride", [(10, 4, 4), (10, 4, 2), (9, 5, 3), (2, 2, 1), (100, 16, 7)])
def test_windows_score_every_token_but_the_first_once(length, window, stride):
    scored = []
    for begin, end, first in windows(length, window, stride):
        assert end - begin <= window and begin < first <= end
        scored += range(first, end)
    starts = set(range(stride, length, stride)) if stride == window else set()
    assert scored == [t for t in range(1, length) if t not in starts]


def test_windows_reject_bad_parameters():
    with pytest.raises(ValueError, match="stride"):
        windows(10, 4, 5)
    with pytest.raises(ValueError, match="window"):
        windows(10, 1, 1)


def test_perplexity_matches_transformers_loss_and_the_snn(spiking_lm, tokenizer):
    ids = tokenizer(TEXT[:200], add_special_tokens=False, return_tensors="pt")["input_ids"]
    import lasnn

    with lasnn.mode(spiking_lm, "ann"), torch.no_grad():
        loss = float(spiking_lm(input_ids=ids, labels=ids).loss)
    result = perplexity(spiking_lm, tokenizer, TEXT[:200], window=256, batch_size=2)
    assert result.examples == ids.shape[1] - 1
    assert result.ann == pytest.approx(math.exp(loss), rel=1e-5)
    assert abs(result.relative_difference) < 1e-3
    assert result.changed <= result.examples * 0.02


def test_perplexity_is_independent_of_batching(spiking_lm, tokenizer):
    one = perplexity(spiking_lm, tokenizer, TEXT, window=64, stride=48, batch_size=1, max_tokens=300)
    many = perplexity(spiking_lm, tokenizer, TEXT, window=64, stride=48, batch_size=5, max_tokens=300)
    assert one.examples == many.examples == 299
    assert one.ann == pytest.approx(many.ann, rel=1e-6)
    assert one.snn == pytest.approx(many.snn, rel=1e-4)
    data = many.to_dict()
    assert EXPECTED_KEYS <= set(data) and data["extra"]["windows"] == len(windows(300, 64, 48))
    json.dumps(data)
    assert "perplexity" in _render(many)


def _labelled(n: int) -> list[tuple[str, int]]:
    return [(TEXT[i * 7: i * 7 + 10 + i % 13], i % 2) for i in range(n)]


def test_zero_shot_padding_does_not_change_scores(spiking_lm, tokenizer):
    examples = _labelled(12)
    alone = zero_shot(spiking_lm, tokenizer, examples, ("n", "p"), "R: {text}\nS:", batch_size=1)
    padded = zero_shot(spiking_lm, tokenizer, examples, ("n", "p"), "R: {text}\nS:", batch_size=12)
    assert (alone.ann, alone.snn, alone.changed) == (padded.ann, padded.snn, padded.changed)
    assert padded.examples == 12 and 0 <= padded.ann <= 1
    assert padded.parity["top1_agreement"] >= 0.9 and padded.parity["positions"] == 12
    assert "accuracy" in _render(padded)


def test_zero_shot_rejects_labels_that_share_a_first_token(spiking_lm, tokenizer):
    with pytest.raises(ValueError, match="distinct"):
        zero_shot(spiking_lm, tokenizer, _labelled(4), (" negative", " positive"))
    with pytest.raises(ValueError, match="labels must be"):
        zero_shot(spiking_lm, tokenizer, [("x", 2)], ("n", "p"))
    with pytest.raises(ValueError, match="'ann'"):
        zero_shot(spiking_lm, tokenizer, _labelled(4), ("n", "p"), mode="ann")


def test_multiple_choice_scores_continuations_exactly(spiking_lm, tokenizer):
    import lasnn

    example = ChoiceExample("Now is the winter of our", (" discontent", " content", " xyz"), 0)
    result = multiple_choice(spiking_lm, tokenizer, [example] * 3, batch_size=2)
    context = tokenizer(example.context)["input_ids"]
    scores = []
    with lasnn.mode(spiking_lm, "ann"), torch.no_grad():
        for choice in example.choices:
            cont = tokenizer(choice, add_special_tokens=False)["input_ids"]
            logits = spiking_lm(input_ids=torch.tensor([context + cont])).logits[0].double().log_softmax(-1)
            scores.append(sum(float(logits[len(context) + i - 1, t]) for i, t in enumerate(cont)))
    expected = float(max(range(3), key=scores.__getitem__) == 0)
    assert result.ann == expected and result.examples == 3 and result.extra["choices"] == 9
    assert result.changed == 0 and "snn_acc_norm" in result.extra
    assert "acc_norm" in _render(result)


def test_load_choices_formats_and_errors(tmp_path):
    records = [{"context": "a", "choices": ["b", "c"], "label": 1}, {"context": "d", "choices": ["e", "f", "g"], "label": 0}]
    (tmp_path / "x.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    (tmp_path / "x.json").write_text(json.dumps({"examples": records}))
    assert load_choices(tmp_path / "x.jsonl") == load_choices(tmp_path / "x.json")
    assert load_choices(tmp_path / "x.json")[1] == ChoiceExample("d", ("e", "f", "g"), 0)
    bad = {"missing.jsonl": None, "bad.json": "{", "nolabel.json": json.dumps([{"context": "a", "choices": ["b", "c"]}]),
           "range.json": json.dumps([{"context": "a", "choices": ["b", "c"], "label": 2}]),
           "empty.json": "[]"}
    for name, content in bad.items():
        if content is not None:
            (tmp_path / name).write_text(content)
        with pytest.raises(ValueError):
            load_choices(tmp_path / name)


def test_linear_probe_on_a_tiny_encoder(spiking_encoder, tokenizer):
    train = [(TEXT[i: i + 40], int("winter" in TEXT[i: i + 40])) for i in range(0, 400, 10)]
    test = [(TEXT[i + 5: i + 45], int("winter" in TEXT[i + 5: i + 45])) for i in range(0, 200, 10)]
    result = linear_probe(spiking_encoder, tokenizer, train, test, batch_size=8)
    assert result.examples == 20 and result.extra["train_examples"] == 40
    assert result.extra["embedding_cosine_min"] >= 0.999
    assert result.extra["embedding_cosine_mean"] >= result.extra["embedding_cosine_min"]
    assert result.parity["top1_agreement"] is not None
    assert "embedding_cosine_min" in _render(result)


def test_parity_stats_aggregate_compare():
    torch.manual_seed(0)
    a, b = torch.randn(2, 5, 7), torch.randn(3, 5, 7)
    noise_a, noise_b = a + 1e-3 * torch.randn_like(a), b + 1e-2 * torch.randn_like(b)
    stats = ParityStats()
    stats.update(a, noise_a, torch.ones(2, 5))
    stats.update(b, noise_b, torch.ones(3, 5))
    first, second = compare(a, noise_a, torch.ones(2, 5)), compare(b, noise_b, torch.ones(3, 5))
    data = stats.to_dict()
    assert data["positions"] == 25
    assert data["max_abs"] == max(first[0].max_abs, second[0].max_abs)
    assert data["mean_abs"] == pytest.approx((10 * first[0].mean_abs + 15 * second[0].mean_abs) / 25)
    assert data["cosine_min"] == min(first[2], second[2])
