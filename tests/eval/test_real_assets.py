"""The evaluation tasks and the demo pipeline on the pinned real models and data (``-m assets``)."""

import pytest

from lasnn.assets import is_fetched

pytestmark = [pytest.mark.assets, pytest.mark.slow,
              pytest.mark.skipif(not all(is_fetched(a) for a in ("smollm2-135m", "minilm-l6", "polarity", "shakespeare")),
                                 reason="pinned assets not fetched: run `lasnn fetch all`")]


@pytest.fixture(scope="module")
def smollm2():
    """The demo's conversion (8 x 256 Macbeth tokens), from the conversion cache or converted and cached now."""
    from lasnn.eval.demo import demo_model

    model, tokenizer, _ = demo_model()
    return model, tokenizer


def test_smollm2_shakespeare_perplexity_within_a_tenth_of_a_percent(smollm2):
    from lasnn.assets import load_shakespeare
    from lasnn.eval import perplexity

    model, tokenizer = smollm2
    result = perplexity(model, tokenizer, load_shakespeare("hamlet"), window=256, batch_size=2, max_tokens=1024)
    print(result.to_dict())
    assert result.examples == 1020
    assert 20 < result.ann < 80
    assert abs(result.relative_difference) <= 1e-3
    assert result.parity["top1_agreement"] >= 0.99


def test_demo_pipeline_on_a_small_sample(smollm2):
    from lasnn.assets import load_polarity, load_shakespeare
    from lasnn.eval.demo import DemoSizes, run_demo

    model, tokenizer = smollm2
    sizes = DemoSizes(perplexity_tokens=256, sentences=24, new_tokens=4, accounting_tokens=32)
    result = run_demo(model, tokenizer, load_shakespeare("hamlet"), load_polarity("test"), sizes)
    print({k: result[k] for k in ("seconds", "generation")})
    assert result["sentiment"]["examples"] == 24 and result["sentiment"]["changed"] <= 1
    assert abs(result["perplexity"]["relative_difference"]) <= 1e-3
    assert result["generation"]["new_tokens"] == 4 and result["generation"]["ann"]
    assert set(result["seconds"]) >= {"perplexity", "sentiment", "generation"}
    if result["accounting"]["available"]:
        assert result["accounting"]["spikes_per_neuron"] > 0 and result["accounting"]["energy"]


def test_minilm_probe_embeddings_agree_on_200_polarity_sentences():
    import lasnn
    from lasnn.assets import load_model, load_polarity
    from lasnn.eval import calibration_batches, linear_probe

    model, tokenizer = load_model("minilm-l6")
    lasnn.convert(model, lasnn.LASConfig(calibration_sequences=32),
                  calibration_data=calibration_batches(tokenizer, "polarity", 32, 128))
    result = linear_probe(model, tokenizer, load_polarity("train")[:400], load_polarity("test")[:200])
    print(result.to_dict())
    assert result.examples == 200
    assert result.extra["embedding_cosine_min"] >= 0.9999
    assert result.changed <= 2 and result.ann > 0.6
