"""generate() in the spiking modes, with the KV cache."""

import torch

import lasnn
from lasnn.metrics.generation import compare_greedy
from tiny_models import tiny_model, token_batches


def test_generate_with_kv_cache_matches_the_spiking_forward_without_cache():
    model = lasnn.convert(tiny_model("llama"), lasnn.LASConfig(calibration_sequences=4), calibration_data=token_batches(1))
    prompt = token_batches(1, batch=1, length=6, seed=4)[0]
    with torch.no_grad():
        cached = model.generate(**prompt, max_new_tokens=12, do_sample=False, use_cache=True, pad_token_id=0)
        uncached = model.generate(**prompt, max_new_tokens=12, do_sample=False, use_cache=False, pad_token_id=0)
    assert torch.equal(cached, uncached)
    assert lasnn.get_mode(model) == "equivalent"


def test_compare_greedy_reports_agreement_or_the_divergence():
    model = lasnn.convert(tiny_model("qwen2"), lasnn.LASConfig(calibration_sequences=4), calibration_data=token_batches(1))
    prompts = [token_batches(1, batch=1, length=5, seed=s)[0] for s in range(3)]
    result = compare_greedy(model, prompts, new_tokens=8)
    assert result.prompts == 3 and len(result.snn_tokens) == 3
    assert result.identical + len(result.divergences) == 3
    for divergence in result.divergences:
        assert divergence.ann_margin < 0.05, "a divergence where the ANN was not near a tie"
    assert "prompts identical" in str(result)
