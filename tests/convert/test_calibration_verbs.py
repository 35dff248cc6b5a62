"""prepare → calibrate → freeze: the same conversion as ``convert``, on the user's own data loops."""

import pytest
import torch

import lasnn
from lasnn.modules import get_state, is_converted
from lasnn.neurons import OATNeuron
from tiny_models import tiny_model, token_batches

CONFIG = lasnn.LASConfig(calibration_sequences=8)


def _thresholds(model):
    return {name: (m.theta_nor.clone(), m.theta_out.clone()) for name, m in model.named_modules()
            if isinstance(m, OATNeuron)}


def _logits(model, batch):
    with torch.no_grad():
        return model(**batch).logits


def test_two_calibration_loops_give_the_thresholds_and_outputs_of_one_convert_call():
    data = token_batches(2)  # 2 batches x 4 sequences = calibration_sequences
    reference = lasnn.convert(tiny_model("llama"), CONFIG, calibration_data=data)
    model = lasnn.prepare(tiny_model("llama"), CONFIG)
    assert lasnn.calibrate(model, data[:1]) == 4
    assert lasnn.calibrate(model, data[1]) == 8  # one dict is one batch
    lasnn.freeze(model)
    assert lasnn.get_mode(model) == "equivalent"
    expected, got = _thresholds(reference), _thresholds(model)
    assert expected.keys() == got.keys() and len(got) > 0
    assert all(torch.equal(expected[k][0], got[k][0]) and torch.equal(expected[k][1], got[k][1]) for k in got)
    assert get_state(model).shared_inputs == get_state(reference).shared_inputs
    batch = token_batches(1, seed=3)[0]
    assert torch.equal(_logits(reference, batch), _logits(model, batch))


def test_the_verbs_refuse_the_wrong_order_with_the_way_out(tmp_path):
    model = tiny_model("llama")
    with pytest.raises(ValueError, match="not a lasnn-converted model"):
        lasnn.calibrate(model, token_batches(1))
    lasnn.prepare(model, CONFIG)
    with pytest.raises(ValueError, match="already converted"):
        lasnn.prepare(model, CONFIG)
    with pytest.raises(ValueError, match=r"still calibrating .*lasnn\.freeze"):
        lasnn.set_mode(model, "temporal")
    with pytest.raises(ValueError, match=r"still calibrating .*lasnn\.freeze"):
        lasnn.save(model, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="expects an input dict or an iterable"):
        lasnn.calibrate(model, "some text")
    lasnn.calibrate(model, token_batches(1))
    lasnn.freeze(model)
    with pytest.raises(ValueError, match=r"needs a model from lasnn\.prepare that is not frozen yet"):
        lasnn.calibrate(model, token_batches(1))
    with pytest.raises(ValueError, match=r"needs a model from lasnn\.prepare that is not frozen yet"):
        lasnn.freeze(model)


def test_freezing_without_data_restores_the_original_model():
    model = tiny_model("llama")
    batch = token_batches(1, seed=3)[0]
    before = _logits(model, batch)
    lasnn.prepare(model, CONFIG)
    with pytest.raises(ValueError, match="calibration_data is empty"):
        lasnn.freeze(model)
    assert not is_converted(model)
    assert not any(name.rpartition(".")[2].startswith("lasnn") for name, _ in model.named_modules())
    assert torch.equal(_logits(model, batch), before)
    lasnn.convert(model, CONFIG, calibration_data=token_batches(2))  # and it converts again as new
