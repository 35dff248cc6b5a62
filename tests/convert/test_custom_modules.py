"""Parameter-free custom activation modules: converted when they compute an HG function, else a ConversionError."""

import pytest
import torch

import lasnn
from tiny_models import tiny_model, token_batches

CONFIG = lasnn.LASConfig(calibration_sequences=2)


class InlineSiLU(torch.nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


class Sine(torch.nn.Module):
    def forward(self, x):
        return torch.sin(x)


def test_custom_silu_module_converts_to_an_hg_neuron():
    model = tiny_model("llama")
    for layer in model.model.layers:
        layer.mlp.act_fn = InlineSiLU()
    lasnn.convert(model, CONFIG, calibration_data=token_batches(1))
    assert model.model.layers[0].mlp.act_fn.lasnn_neuron.function == "silu"
    batch = token_batches(1, seed=3)[0]
    assert lasnn.audit(model, batch).clean
    with torch.no_grad():
        snn = model(**batch).logits
        with lasnn.mode(model, "ann"):
            ann = model(**batch).logits
    assert (snn - ann).abs().max() <= 1e-3 * ann.std()


def test_unknown_custom_activation_is_named_in_a_conversion_error():
    model = tiny_model("llama")
    model.model.layers[0].mlp.act_fn = Sine()
    with pytest.raises(lasnn.ConversionError) as error:
        lasnn.convert(model, CONFIG, calibration_data=token_batches(1))
    assert any(p.startswith("model.layers.0.mlp.act_fn: sin") for p in error.value.problems)
    assert not hasattr(model, "_lasnn_state")
