"""all-MiniLM-L6-v2 (BERT encoder): sentence-embedding parity on 200 real sentences."""

import pytest
import torch

import lasnn

pytestmark = [pytest.mark.assets, pytest.mark.slow]


def _embed(model, batch):
    hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1)


def test_mean_pooled_embedding_cosine():
    from lasnn.assets import load_model, load_polarity

    model, tokenizer = load_model("minilm-l6")
    train, test = load_polarity("train"), load_polarity("test")
    calibration = [dict(tokenizer([t for t, _ in train[i : i + 16]], return_tensors="pt", padding=True)) for i in range(0, 32, 16)]
    lasnn.convert(model, lasnn.LASConfig(), calibration_data=calibration)
    cosines = []
    with torch.no_grad():
        for i in range(0, 200, 25):
            batch = dict(tokenizer([t for t, _ in test[i : i + 25]], return_tensors="pt", padding=True))
            with lasnn.mode(model, "ann"):
                reference = _embed(model, batch)
            snn = _embed(model, batch)
            cosines.append(torch.nn.functional.cosine_similarity(reference.double(), snn.double(), dim=-1))
    cosine = torch.cat(cosines)
    print(f"MiniLM 200 polarity sentences: min cosine {cosine.min():.9f} (1 - min = {1 - cosine.min():.1e}), "
          f"mean {cosine.mean():.9f}")
    assert cosine.numel() == 200
    assert cosine.min() >= 0.9999
    assert lasnn.audit(model, batch).clean
