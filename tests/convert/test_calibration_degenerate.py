"""Degenerate calibration (non-finite, constant, empty, too long) is refused with a message naming where."""

import math

import pytest
import torch

import lasnn
from lasnn.convert.inputs import position_limit
from tiny_models import tiny_model, token_batches

CONFIG = lasnn.LASConfig(calibration_sequences=2)


def _embeds(value: float) -> list[dict[str, torch.Tensor]]:
    return [{"inputs_embeds": torch.full((2, 8, 64), value)}]


@pytest.mark.parametrize("batches, fragment", [
    (_embeds(math.nan), r"inputs_embeds'\] holds NaN or inf"),
    (_embeds(math.inf), r"inputs_embeds'\] holds NaN or inf"),
    (_embeds(0.0), r"inputs_embeds'\] is constant"),
    (_embeds(1.5), r"inputs_embeds'\] is constant"),
    ([{"input_ids": torch.zeros(0, 8, dtype=torch.long)}], r"input_ids'\] is empty \(shape \(0, 8\)\)"),
    ([{"input_ids": torch.zeros(2, 0, dtype=torch.long)}], r"input_ids'\] is empty \(shape \(2, 0\)\)"),
    ([{"inputs_embeds": torch.zeros(0, 8, 64)}], r"inputs_embeds'\] is empty"),
])
def test_degenerate_batches_are_refused_and_the_model_is_untouched(batches, fragment):
    model = tiny_model("llama")
    with pytest.raises(ValueError, match=fragment):
        lasnn.convert(model, CONFIG, calibration_data=batches)
    assert not hasattr(model, "_lasnn_state")


def test_non_finite_activations_name_the_site():
    model = tiny_model("llama")
    with torch.no_grad():
        model.model.layers[1].mlp.up_proj.weight[0, 0] = math.nan
    with pytest.raises(ValueError, match=r"site model\.layers\.1\.mlp\.down_proj\S*: .*NaN or inf"):
        lasnn.convert(model, CONFIG, calibration_data=token_batches(1, batch=2))
    assert not hasattr(model, "_lasnn_state")


def test_an_all_zero_site_is_named():
    model = tiny_model("llama")
    with torch.no_grad():
        model.model.layers[0].self_attn.v_proj.weight.zero_()
    with pytest.raises(ValueError, match=r"site model\.layers\.0\.self_attn\.\S+: every calibration value was 0"):
        lasnn.convert(model, CONFIG, calibration_data=token_batches(1, batch=2))


@pytest.mark.parametrize("family, limit", [("gpt2", 256), ("opt", 256), ("bert", 256), ("roberta", 254), ("llama", None)])
def test_position_limit(family, limit):
    assert position_limit(tiny_model(family, "base")) == limit


def test_gpt2_input_longer_than_its_position_table_is_refused():
    model = tiny_model("gpt2")
    with pytest.raises(ValueError, match=r"300 tokens but GPT2LMHeadModel has 256 positions \(config\.n_positions\)"):
        lasnn.convert(model, CONFIG, calibration_data=token_batches(1, batch=1, length=300))
    assert not hasattr(model, "_lasnn_state")
