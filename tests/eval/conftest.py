import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(0, str(Path(__file__).parent))

import lasnn  # noqa: E402
from eval_helpers import TEXT, byte_tokenizer, save_folder, tiny_encoder, tiny_lm  # noqa: E402
from lasnn.eval.loading import text_batches  # noqa: E402


@pytest.fixture(scope="session")
def tokenizer():
    return byte_tokenizer()


@pytest.fixture(scope="session")
def spiking_lm(tokenizer):
    model = tiny_lm("llama")
    return lasnn.convert(model, lasnn.LASConfig(calibration_sequences=8),
                         calibration_data=text_batches(tokenizer, TEXT, 8, 64, batch_size=8))


@pytest.fixture(scope="session")
def spiking_encoder(tokenizer):
    from lasnn.eval.loading import sentence_batches

    sentences = [TEXT[i: i + 60] for i in range(0, 480, 30)]
    return lasnn.convert(tiny_encoder(), lasnn.LASConfig(calibration_sequences=16),
                         calibration_data=sentence_batches(tokenizer, sentences, batch_size=16))


@pytest.fixture(scope="session")
def lm_folder(tmp_path_factory):
    return save_folder(tiny_lm("llama"), tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def task_dir(tmp_path_factory):
    """A local lm-eval task folder: tiny_mc, tiny_ppl and tiny_gen over three JSONL records."""
    from harness_tasks import write_tasks

    return write_tasks(tmp_path_factory.mktemp("tasks"))
