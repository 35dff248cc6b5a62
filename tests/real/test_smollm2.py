"""SmolLM2-135M (LLaMA architecture): parity targets of the conversion on real text."""

import math

import pytest
import torch

import lasnn
from lasnn.metrics.generation import compare_greedy
from real_assets import batches, shakespeare_sequences

pytestmark = [pytest.mark.assets, pytest.mark.slow]

PROMPTS = ["The king said", "Once upon a time", "To be, or not to be:", "The capital of France is", "def fibonacci(n):"]


def _token_nll(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    log_probs = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    return -log_probs.gather(-1, ids[:, 1:, None]).squeeze(-1)


def test_hamlet_perplexity_and_top1_agreement(smollm2):
    model, tokenizer = smollm2
    nll = {"ann": [], "equivalent": []}
    agreement = []
    with torch.no_grad():
        for batch in batches(shakespeare_sequences(tokenizer, "hamlet", 32)):
            logits = {}
            for name in nll:
                with lasnn.mode(model, name):
                    logits[name] = model(**batch).logits
                nll[name].append(_token_nll(logits[name], batch["input_ids"]))
            agreement.append((logits["ann"].argmax(-1) == logits["equivalent"].argmax(-1)).float().flatten())
    ppl = {name: math.exp(torch.cat(values).mean().item()) for name, values in nll.items()}
    top1 = torch.cat(agreement).mean().item()
    print(f"SmolLM2 Hamlet 32x256: ppl ann {ppl['ann']:.4f} snn {ppl['equivalent']:.4f}, top-1 agreement {top1:.5f}")
    assert top1 >= 0.995
    assert abs(ppl["equivalent"] - ppl["ann"]) / ppl["ann"] <= 1e-3


def test_audit_is_clean(smollm2):
    model, tokenizer = smollm2
    batch = batches(shakespeare_sequences(tokenizer, "hamlet", 1, length=32), size=1)[0]
    report = lasnn.audit(model, batch)
    assert report.clean, str(report)


def test_greedy_generation_matches_the_ann(smollm2):
    model, tokenizer = smollm2
    prompts = [dict(tokenizer(p, return_tensors="pt")) for p in PROMPTS]
    result = compare_greedy(model, prompts, new_tokens=32)
    print(result)
    for divergence in result.divergences:
        assert divergence.ann_margin < 0.05, f"diverged where the ANN was not near a tie: {divergence}"
    assert result.identical >= 4


def test_save_load_round_trip_is_bit_identical(smollm2, tmp_path):
    model, tokenizer = smollm2
    loaded = lasnn.load(lasnn.save(model, tmp_path / "snn"))
    batch = batches(shakespeare_sequences(tokenizer, "hamlet", 1, length=64), size=1)[0]
    with torch.no_grad():
        assert torch.equal(model(**batch).logits, loaded(**batch).logits)
