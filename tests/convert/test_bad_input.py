"""Every bad input raises a clear error and leaves the model exactly as it was."""

import pytest
import torch
import torch.nn as nn

import lasnn
from tiny_models import VOCAB, tiny_model, token_batches

CONFIG = lasnn.LASConfig(calibration_sequences=4)


def _snapshot(model):
    return ([type(m) for m in model.modules()], list(model.state_dict()), model.config._attn_implementation,
            sorted(k for m in model.modules() for k in vars(m) if k.startswith("_lasnn")))


def _assert_untouched(model, snapshot):
    assert _snapshot(model) == snapshot
    assert not hasattr(model, "_lasnn_state")


@pytest.mark.parametrize(
    "batches, message",
    [
        ([{"input_ids": torch.zeros(2, 8, dtype=torch.long), "pixel_values": torch.zeros(2, 3)}], "does not take"),
        ([{"input_ids": torch.full((2, 8), VOCAB, dtype=torch.long)}], "outside the vocabulary"),
        ([{"input_ids": torch.zeros(2, 8, 3, dtype=torch.long)}], "must be 2-D"),
        ([{"input_ids": torch.zeros(2, 8)}], "integer ids"),
        ([{"attention_mask": torch.ones(2, 8, dtype=torch.long)}], "neither 'input_ids'"),
        ([torch.zeros(2, 8, dtype=torch.long)], "expected a dict"),
        ([{"input_ids": torch.zeros(2, 8, dtype=torch.long), "attention_mask": torch.ones(2, 9, dtype=torch.long)}], "has shape"),
        ([], "empty"),
    ],
)
def test_bad_calibration_batches(batches, message):
    model = tiny_model("llama")
    snapshot = _snapshot(model)
    with pytest.raises(ValueError, match=message):
        lasnn.convert(model, CONFIG, calibration_data=batches)
    _assert_untouched(model, snapshot)


def test_error_in_a_later_batch_also_rolls_back():
    model = tiny_model("gpt2")
    snapshot = _snapshot(model)
    batches = token_batches(1) + [{"input_ids": torch.full((2, 8), -1, dtype=torch.long)}]
    with pytest.raises(ValueError, match="outside the vocabulary"):
        lasnn.convert(model, lasnn.LASConfig(calibration_sequences=64), calibration_data=batches)
    _assert_untouched(model, snapshot)


def test_converting_twice():
    model = tiny_model("llama")
    lasnn.convert(model, CONFIG, calibration_data=token_batches(1))
    with pytest.raises(ValueError, match="already converted"):
        lasnn.convert(model, CONFIG, calibration_data=token_batches(1))
    assert lasnn.get_mode(model) == "equivalent"


def test_training_mode():
    model = tiny_model("bert", "base").train()
    snapshot = _snapshot(model)
    with pytest.raises(ValueError, match="model.eval"):
        lasnn.convert(model, CONFIG, calibration_data=token_batches(1))
    _assert_untouched(model, snapshot)


def test_unsupported_dtype():
    model = tiny_model("llama").double()
    snapshot = _snapshot(model)
    with pytest.raises(ValueError, match="float32, float16 and bfloat16"):
        lasnn.convert(model, CONFIG, calibration_data=token_batches(1))
    _assert_untouched(model, snapshot)


def test_missing_calibration_data_names_the_fix():
    model = tiny_model("llama")
    with pytest.raises(ValueError, match="calibration_data is required"):
        lasnn.convert(model, CONFIG)
    with pytest.raises(ValueError, match="iterable of input dicts"):
        lasnn.convert(model, CONFIG, calibration_data=token_batches(1)[0])
    assert not hasattr(model, "_lasnn_state")


def test_unknown_mode():
    model = tiny_model("llama")
    lasnn.convert(model, CONFIG, calibration_data=token_batches(1))
    with pytest.raises(ValueError, match="ann, equivalent, temporal"):
        lasnn.set_mode(model, "fast")
    assert lasnn.get_mode(model) == "equivalent"


def test_mode_on_unconverted_model():
    with pytest.raises(ValueError, match="lasnn.convert"):
        lasnn.set_mode(tiny_model("llama"), "ann")


def test_unsupported_module_lists_every_part_and_allow_ann_opts_in():
    model = tiny_model("llama")
    model.model.layers[0].extra = nn.Conv2d(1, 1, 1)
    model.model.layers[1].mlp.act_fn = nn.Hardswish()
    snapshot = _snapshot(model)
    with pytest.raises(lasnn.ConversionError) as error:
        lasnn.convert(model, CONFIG, calibration_data=token_batches(1))
    problems = "\n".join(error.value.problems)
    assert "model.layers.0.extra" in problems and "model.layers.1.mlp.act_fn" in problems
    assert "allow_ann" in str(error.value)
    _assert_untouched(model, snapshot)


def test_op_outside_modules_is_caught_by_the_conversion_audit():
    model = tiny_model("llama")
    layer = model.model.layers[0].mlp

    class Patched(type(layer)):
        def forward(self, x):
            return self.down_proj(torch.nn.functional.gelu(self.gate_proj(x)) * self.up_proj(x))

    layer.__class__ = Patched
    snapshot = _snapshot(model)
    with pytest.raises(lasnn.ConversionError, match="gelu"):
        lasnn.convert(model, CONFIG, calibration_data=token_batches(1))
    _assert_untouched(model, snapshot)


def test_allow_ann_parts_are_reported():
    model = tiny_model("llama")
    config = lasnn.LASConfig(calibration_sequences=4, allow_ann=("lm_head",))
    lasnn.convert(model, config, calibration_data=token_batches(1))
    report = lasnn.audit(model, token_batches(1)[0])
    assert report.clean
    assert [v.module for v in report.allowed] == ["lm_head"]
    assert report.to_dict()["allowed_ann"][0]["op"] == "mm"
