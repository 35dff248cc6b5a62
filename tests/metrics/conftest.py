import pytest

import lasnn
from tiny_models import tiny_model, token_batches


@pytest.fixture(scope="module")
def tiny_llama():
    model = tiny_model("llama")
    return lasnn.convert(model, lasnn.LASConfig(calibration_sequences=4), calibration_data=token_batches(1))


@pytest.fixture(scope="module")
def eval_batch():
    return token_batches(1, batch=2, length=16, seed=5)[0]
