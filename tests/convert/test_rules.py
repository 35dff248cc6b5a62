"""The conversion-rule registry: a user's rule for their own module, its errors, and allow_ann names, globs and
filters."""

import pytest
import torch
import torch.nn.functional as F

import lasnn
from lasnn.modules import CallCounts, OpCount, Ops, SpikingModule
from tiny_models import tiny_model, token_batches

CONFIG = lasnn.LASConfig(calibration_sequences=2)


class RawProjection(torch.nn.Module):
    """A projection that multiplies by a raw parameter (not an nn.Linear), as some VLM projectors do."""

    def __init__(self, linear: torch.nn.Linear) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(linear.weight.detach().clone())

    def forward(self, x):
        return torch.matmul(x, self.weight.t())


class SpikingRawProjection(SpikingModule):
    """Its spiking form: the input coded by a site, the weight read by spikes."""

    def equivalent(self, x):
        return torch.matmul(self.lasnn_input(x), self.weight.t())

    def temporal(self, x):
        return F.linear(self.lasnn_input.spikes(x).float(), self.weight).sum(0).to(x.dtype)

    def synaptic_ops(self, args, kwargs, output, counts: CallCounts):
        x, out = args[0], self.weight.shape[0]
        return [OpCount("raw projection", "linear", Ops(acs=counts.spikes(self.lasnn_input.neuron) * out),
                        Ops(macs=x.numel() * out))]


def _build(module, _, edit):
    edit.add_child(module, "lasnn_input", edit.site())
    edit.swap_class(module, SpikingRawProjection)


RULE = lasnn.ConversionRule("raw_projection", lasnn.match_type(RawProjection), _build)


def _with_raw_projections():
    model = tiny_model("llama")
    for layer in model.model.layers:
        layer.self_attn.o_proj = RawProjection(layer.self_attn.o_proj)
    return model


@pytest.fixture
def registered():
    lasnn.register_rule(RULE)
    yield RULE
    lasnn.unregister_rule(RULE.name)


def test_a_module_no_rule_knows_is_named_with_the_way_out():
    model = _with_raw_projections()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(lasnn.ConversionError, match=r"self_attn\.o_proj: RawProjection holds parameters .*lasnn\.ConversionRule"):
        lasnn.convert(model, CONFIG, calibration_data=token_batches(1))
    assert not hasattr(model, "_lasnn_state")
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_a_registered_rule_converts_the_users_module_spike_driven_and_at_parity(registered):
    model = _with_raw_projections()
    batch = token_batches(1, seed=3)[0]
    with torch.no_grad():
        ann = model(**batch).logits
    lasnn.convert(model, CONFIG, calibration_data=token_batches(1))  # audits one forward: it would fail if not clean
    down = model.model.layers[0].self_attn.o_proj
    assert isinstance(down, SpikingRawProjection) and isinstance(down, RawProjection)
    assert lasnn.audit(model, batch).clean
    with torch.no_grad():
        snn = model(**batch).logits
        with lasnn.mode(model, "temporal"):
            temporal = model(**batch).logits
            assert lasnn.audit(model, batch).clean
    assert (snn - ann).abs().max() <= 1e-3 * ann.std()
    assert (temporal - snn).abs().max() <= 5e-4 * ann.std()
    report = lasnn.report(model, batch, presets=["fp32-45nm"])
    counted = [op for op in report.ops if op.op == "raw projection"]
    assert len(counted) == len(model.model.layers)
    assert all(op.snn.acs > 0 and op.ann.macs == batch["input_ids"].numel() * down.weight.shape[0] * down.weight.shape[1]
               for op in counted)


def test_a_failed_conversion_with_a_user_rule_is_undone(registered):
    model = _with_raw_projections()
    with pytest.raises(ValueError, match="calibration_data is empty"):
        lasnn.convert(model, CONFIG, calibration_data=[])
    assert type(model.model.layers[0].self_attn.o_proj) is RawProjection
    assert not hasattr(model.model.layers[0].self_attn.o_proj, "lasnn_input")


def test_rules_are_tried_in_order_and_user_rules_come_first(registered):
    names = [rule.name for rule in lasnn.conversion_rules()]
    assert names[0] == "raw_projection" and names.index("linear") < names.index("own_parameters")


def test_register_rule_errors_name_the_problem(registered):
    with pytest.raises(ValueError, match="'raw_projection' is already registered"):
        lasnn.register_rule(RULE)
    with pytest.raises(ValueError, match="no conversion rule named 'nope'"):
        lasnn.register_rule(lasnn.ConversionRule("other", lasnn.match_type(RawProjection)), before="nope")
    with pytest.raises(TypeError, match="expects a lasnn.ConversionRule"):
        lasnn.register_rule(_build)
    with pytest.raises(ValueError, match="no conversion rule named 'nope'"):
        lasnn.unregister_rule("nope")


def test_a_rule_placed_before_a_builtin_one_takes_its_modules_and_the_audit_still_checks_them():
    keep = lasnn.ConversionRule("keep_marked_linear_float",
                                lambda m: lasnn.Match() if getattr(m, "keep_float", False) else None)
    lasnn.register_rule(keep, before="linear")
    model = tiny_model("llama")
    model.model.layers[0].mlp.down_proj.keep_float = True
    try:
        with pytest.raises(lasnn.ConversionError, match=r"model\.layers\.0\.mlp\.down_proj.*synaptic op reads a non-spike"):
            lasnn.convert(model, CONFIG, calibration_data=token_batches(1))
    finally:
        lasnn.unregister_rule(keep.name)
    assert not hasattr(model, "_lasnn_state")


@pytest.mark.parametrize("entry", ["model.layers.0.mlp.down_proj", "*.0.mlp.down_proj", "model.layers.1.",
                                   lambda module, name: name == "model.layers.0.mlp.down_proj"])
def test_allow_ann_takes_names_globs_prefixes_and_filters(entry):
    model = tiny_model("llama")
    lasnn.convert(model, lasnn.LASConfig(calibration_sequences=2, allow_ann=[entry]),
                  calibration_data=token_batches(1))
    allowed = lasnn.modules.get_state(model).allowed_ann
    if entry == "model.layers.1.":
        assert allowed == [f"model.layers.1.{child}" for child, _ in model.model.layers[1].named_children()]
    else:
        assert allowed == ["model.layers.0.mlp.down_proj"]
    assert lasnn.audit(model, token_batches(1, seed=3)[0]).clean


def test_a_filter_choice_is_saved_as_names_and_loads_the_same(tmp_path):
    model = tiny_model("llama")
    config = lasnn.LASConfig(calibration_sequences=2,
                             allow_ann=[lambda module, name: name.endswith("down_proj") and ".1." in name])
    lasnn.convert(model, config, calibration_data=token_batches(1))
    assert config.to_dict()["allow_ann"][0].startswith("filter:")
    lasnn.save(model, tmp_path / "out")
    loaded = lasnn.load(tmp_path / "out")
    assert lasnn.modules.get_state(loaded).allowed_ann == ["model.layers.1.mlp.down_proj"]
    batch = token_batches(1, seed=3)[0]
    with torch.no_grad():
        assert torch.equal(model(**batch).logits, loaded(**batch).logits)


@pytest.mark.parametrize("bad", [3, [3], [None]])
def test_allow_ann_refuses_what_is_neither_a_name_nor_a_filter(bad):
    with pytest.raises(ValueError, match="allow_ann must be a list of module names.*filter functions"):
        lasnn.LASConfig(allow_ann=bad)
