"""The metric helpers of benchmarks/peers.py on random tensors (no SpikingJelly, no assets needed)."""

import importlib.util
from pathlib import Path

import pytest
import torch

_SPEC = importlib.util.spec_from_file_location("peers", Path(__file__).parents[2] / "benchmarks" / "peers.py")
peers = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(peers)


def test_additive_mask_is_zero_on_attended_positions_and_the_minimum_on_padding():
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    extended = peers.additive_mask(mask)
    assert extended.shape == (2, 1, 1, 3)
    assert extended[mask[:, None, None, :] == 1].eq(0).all()
    assert extended[mask[:, None, None, :] == 0].eq(torch.finfo(torch.float32).min).all()
    scores = torch.randn(2, 4, 3, 3)
    probs = torch.softmax(scores + extended, dim=-1)
    assert probs[..., 2].max() == 0 and torch.allclose(probs.sum(-1), torch.ones(2, 4, 3))


def test_ratio_summary_divides_each_repeat_by_its_own_ann_time():
    summary = peers.ratio_summary([10.0, 30.0, 12.0], [1.0, 2.0, 1.0])
    assert summary["ratios"] == [10.0, 15.0, 12.0]
    assert (summary["median"], summary["min"], summary["max"]) == (12.0, 10.0, 15.0)
    with pytest.raises(ValueError):
        peers.ratio_summary([1.0, 2.0], [1.0])


def test_nonzero_events_counts_entries_over_time_and_elements_per_position():
    sequence = torch.zeros(8, 2, 3, 4)
    sequence[0] = torch.randn(2, 3, 4).abs() + 0.1
    sequence[3, 0, 0, 0] = -0.5
    assert peers.nonzero_events(sequence) == (2 * 3 * 4 + 1, 1, 2 * 3 * 4)


def test_logit_agreement_of_a_copy_and_of_a_perturbed_copy():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 16, 50, generator=generator)
    same = peers.logit_agreement(logits, logits.clone())
    assert same == {"relative_logit_error": 0.0, "max_abs_over_std": 0.0, "top1_agreement": 1.0}
    noisy = logits + 0.1 * torch.randn(logits.shape, generator=generator)
    measured = peers.logit_agreement(logits, noisy)
    assert measured["relative_logit_error"] == pytest.approx(0.1, rel=0.05)
    flipped = logits.clone()
    flipped[0, 0] = -flipped[0, 0]  # one position's argmax moves
    assert peers.logit_agreement(logits, flipped)["top1_agreement"] == pytest.approx(1 - 1 / 64)


def test_embedding_metrics_counts_the_flipped_decisions_of_the_classifier():
    from sklearn.linear_model import LogisticRegression

    generator = torch.Generator().manual_seed(1)
    labels = torch.arange(40) % 2
    features = torch.randn(40, 8, generator=generator, dtype=torch.float64) + 2.0 * labels[:, None]
    classifier = LogisticRegression().fit(features.numpy(), labels.numpy())
    moved = features.clone()
    moved[3] = features[2] if labels[2] != labels[3] else features[4]  # a row of the other class
    metrics = peers.embedding_metrics(features, moved, classifier)
    decisions = classifier.predict(features.numpy())
    expected = [i for i in range(40) if decisions[i] != classifier.predict(moved[i: i + 1].numpy())[0]]
    assert expected == [3]  # only the moved row, and it does flip
    assert metrics["flipped_indices"] == expected and metrics["flipped"] == 1
    cosine = torch.nn.functional.cosine_similarity(features[3], moved[3], dim=0)
    assert metrics["cosine_min"] == pytest.approx(float(cosine))
    assert metrics["sentences"] == 40 and metrics["cosine_mean"] <= 1.0


def test_a_missing_spikingjelly_is_one_line_naming_the_extra(monkeypatch, capsys):
    monkeypatch.setattr(peers.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(SystemExit) as stop:
        peers.main(["--sentences", "1"])
    message = str(stop.value.code)
    assert "\n" not in message and "SpikingJelly 2.0.0" in message and "pip install -e '.[peers]'" in message
    assert capsys.readouterr().out == ""
