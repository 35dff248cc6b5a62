"""The audit trusts nothing: the kind rules on small probes, and a battery of shortcuts injected into a converted
tiny LLaMA, each of which must be reported at the module that runs it."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import lasnn
from lasnn.convert.api import build_spiking
from lasnn.convert.audit import (
    DIVISION,
    LEAVES,
    NONLINEAR,
    NOT_A_TRAIN,
    ORDER,
    PRODUCT,
    SYNAPSE,
    Violation,
    is_spike_train,
    trace,
)
from lasnn.convert.calibrate import calibrate
from lasnn.modules import attention
from lasnn.neurons import OATNeuron
from tiny_models import tiny_model, token_batches

BATCH = token_batches(1, batch=1, length=8, seed=5)[0]
O_PROJ = "model.layers.0.self_attn.o_proj"


class Probe(nn.Module):
    """The smallest model the audit runs: an input embedding, then ``body(h, w)`` with a constant weight w."""

    def __init__(self, body):
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Embedding(16, 8)
        self.weight = nn.Parameter(torch.randn(8, 8))
        self.body = body

    def get_input_embeddings(self):
        return self.embed

    def forward(self, input_ids):
        return self.body(self.embed(input_ids), self.weight)


def _spikes(h):
    return torch.floor(h * 8) * 0.125


def _slice_write(h):
    buffer = torch.zeros_like(h)
    buffer[..., :4] = h[..., :4]
    return buffer


def _stale_view(h):
    s = _spikes(h)
    view = s.view(-1, 8)
    s.add_(h)
    return view


def _put(h, accumulate):
    return torch.zeros_like(h).index_put_((torch.tensor([1, 0]),), _spikes(h), accumulate=accumulate)


def _probe(body):
    return {(v.op, v.reason) for v in trace(Probe(body), {"input_ids": torch.arange(10).view(2, 5)}).violations}


CLEAN = {
    "emission then synapse": lambda h, w: F.linear(_spikes(h), w),
    "convolution of spikes": lambda h, w: F.conv1d(_spikes(h).transpose(1, 2), w.unsqueeze(-1)),
    "gated gain": lambda h, w: h * (h > 0),
    "spike against a current": lambda h, w: _spikes(h) * h,
    "constant gain and residual": lambda h, w: h * 0.5 + F.linear(_spikes(h), w),
    "table of a code": lambda h, w: torch.exp2(torch.floor(h)),
    "bit pattern": lambda h, w: h.view(torch.int32) & 0x7F800000,
    "zero fill keeps spikes": lambda h, w: F.linear(torch.where(h > 0, _spikes(h), 0.0), w),
    "spikes written by index": lambda h, w: F.linear(_put(h, accumulate=False), w),
    "constant clamp keeps spikes": lambda h, w: F.linear(torch.clamp(_spikes(h), -1, 1), w),
    "division by a code": lambda h, w: h / torch.floor(h).clamp_min(1),
    "statistics of codes": lambda h, w: h * int((h > 0).sum().item()),
}

VIOLATIONS = {
    "synapse on a current": (lambda h, w: F.linear(h, w), {("mm", SYNAPSE)}),
    "convolution of a current": (lambda h, w: F.conv1d(h.transpose(1, 2), w.unsqueeze(-1)),
                                 {("convolution", SYNAPSE)}),
    "square of a current": (lambda h, w: h * h, {("mul", PRODUCT)}),
    "one over a current": (lambda h, w: torch.div(1.0, h), {("div", DIVISION)}),
    "reciprocal": (lambda h, w: 1.0 / h, {("reciprocal", DIVISION)}),
    "exp": (lambda h, w: torch.exp(h), {("exp", NONLINEAR)}),
    "row max of codes": (lambda h, w: torch.floor(h).amax(-1), {("amax", ORDER)}),
    "softmax": (lambda h, w: torch.softmax(h, -1), {("_softmax", ORDER)}),
    "non-zero fill": (lambda h, w: F.linear(torch.where(h > 0, _spikes(h), 1.0), w), {("mm", SYNAPSE)}),
    "non-zero masked fill": (lambda h, w: F.linear(_spikes(h).masked_fill(h > 1, 2.0), w), {("mm", SYNAPSE)}),
    "vmap": (lambda h, w: torch.vmap(torch.sigmoid)(h), {("sigmoid", NONLINEAR)}),
    "item": (lambda h, w: h * h.sum().item(), {("_local_scalar_dense", LEAVES)}),
    "tolist": (lambda h, w: torch.tensor(h.tolist()), {("tolist", LEAVES)}),
    "numpy": (lambda h, w: torch.from_numpy(h.detach().numpy()), {("numpy", LEAVES)}),
    "out= write": (lambda h, w: F.linear(torch.add(h, 0.0, out=torch.empty_like(h)), w), {("mm", SYNAPSE)}),
    "copy into a buffer": (lambda h, w: F.linear(torch.empty_like(h).copy_(h), w), {("mm", SYNAPSE)}),
    "slice write into a buffer": (lambda h, w: F.linear(_slice_write(h), w), {("mm", SYNAPSE)}),
    "spikes accumulated by index": (lambda h, w: F.linear(_put(h, accumulate=True), w), {("mm", SYNAPSE)}),
    "view of spikes written in place": (lambda h, w: F.linear(_stale_view(h), w), {("mm", SYNAPSE)}),
}


@pytest.mark.parametrize("body", CLEAN.values(), ids=CLEAN.keys())
def test_spike_driven_probes_are_clean(body):
    assert _probe(body) == set()


@pytest.mark.parametrize(("body", "expected"), VIOLATIONS.values(), ids=VIOLATIONS.keys())
def test_each_shortcut_on_a_probe_is_reported(body, expected):
    assert _probe(body) == expected


def test_spike_trains_are_checked_by_value():
    x = torch.randn(64) * 3
    neuron = OATNeuron.from_tensor(x, time_steps=8)
    assert is_spike_train(neuron.spikes(x))
    assert is_spike_train(-torch.exp2(-torch.arange(8.0)))
    assert not is_spike_train(neuron(x))


@pytest.fixture(scope="module")
def model():
    model = tiny_model("llama")
    state, _ = build_spiking(model, lasnn.LASConfig(calibration_sequences=4))
    calibrate(model, state, token_batches(1))
    lasnn.set_mode(model, "equivalent")
    return model


def _reported(model, mode="equivalent"):
    with lasnn.mode(model, mode):
        return lasnn.audit(model, BATCH).violations


@pytest.mark.parametrize("mode", ["equivalent", "temporal"])
def test_the_converted_model_is_clean(model, mode):
    with lasnn.mode(model, mode):
        report = lasnn.audit(model, BATCH)
    assert report.clean, str(report)
    assert report.ops_checked > 0


def test_ann_mode_is_not_clean(model):
    found = {(v.op, v.reason) for v in _reported(model, "ann")}
    assert ("mm", SYNAPSE) in found
    assert ("silu", NONLINEAR) in found and ("rsqrt", NONLINEAR) in found
    assert any(reason == ORDER and (op == "_softmax" or op.startswith("_scaled_dot_product")) for op, reason in found)


def _patch_forward(monkeypatch, module, inject):
    original = module.forward
    monkeypatch.setattr(module, "forward", lambda x, *args, **kwargs: original(inject(x), *args, **kwargs))


def _exp_into_a_slice(h):
    h = h.clone()
    h[..., :4] = torch.exp(h[..., :4])
    return h


INLINE = {
    "softmax": (lambda h: torch.softmax(h, -1), "_softmax", ORDER),
    "one over h": (lambda h: torch.div(1.0, h), "div", DIVISION),
    "square": (lambda h: h * h, "mul", PRODUCT),
    "numpy round trip": (lambda h: torch.from_numpy(h.detach().cpu().numpy()), "numpy", LEAVES),
    "tolist round trip": (lambda h: torch.tensor(h.tolist(), dtype=h.dtype), "tolist", LEAVES),
    "item": (lambda h: h * h.flatten()[0].item(), "_local_scalar_dense", LEAVES),
    "vmap exp": (lambda h: torch.vmap(torch.exp)(h), "exp", NONLINEAR),
    "exp written into a slice": (_exp_into_a_slice, "exp", NONLINEAR),
}


@pytest.mark.parametrize(("inject", "op", "reason"), INLINE.values(), ids=INLINE.keys())
def test_inline_op_in_a_patched_forward(model, monkeypatch, inject, op, reason):
    _patch_forward(monkeypatch, model.model.layers[0].self_attn.o_proj, inject)
    assert Violation(O_PROJ, op, reason) in _reported(model)


def test_float_silu_in_a_patched_mlp_class(model, monkeypatch):
    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))

    monkeypatch.setattr(type(model.model.layers[1].mlp), "forward", forward)
    found = _reported(model)
    assert Violation("model.layers.1.mlp", "silu", NONLINEAR) in found
    assert Violation("model.layers.1.mlp", "mul", PRODUCT) in found


def test_forward_pre_hook(model):
    handle = model.model.layers[1].register_forward_pre_hook(lambda module, args: (torch.tanh(args[0]), *args[1:]))
    try:
        assert Violation("model.layers.1", "tanh", NONLINEAR) in _reported(model)
    finally:
        handle.remove()


def test_forward_post_hook(model):
    handle = model.model.layers[0].mlp.register_forward_hook(lambda module, args, output: torch.exp(output))
    try:
        assert Violation("model.layers.0.mlp", "exp", NONLINEAR) in _reported(model)
    finally:
        handle.remove()


def test_replaced_lasnn_softmax(model, monkeypatch):
    def softmax(scores, neurons, mask=None, dim=-1):
        return torch.softmax(scores if mask is None else scores + mask, dim)

    monkeypatch.setattr(attention, "spiking_softmax", softmax)
    assert Violation("model.layers.0.self_attn.lasnn_attention", "_softmax", ORDER) in _reported(model)


@pytest.mark.parametrize("function", [torch.sigmoid, F.silu], ids=["sigmoid", "silu"])
def test_replaced_neuron_forward(model, monkeypatch, function):
    neuron = model.model.layers[0].mlp.act_fn.lasnn_neuron
    monkeypatch.setattr(neuron, "forward", function)
    assert Violation("model.layers.0.mlp.act_fn.lasnn_neuron", function.__name__, NONLINEAR) in _reported(model)


def test_synapse_fed_by_an_uncoded_current(model, monkeypatch):
    monkeypatch.setattr(model.model.layers[0].self_attn.o_proj, "lasnn_input", nn.Identity())
    assert Violation(O_PROJ, "mm", SYNAPSE) in _reported(model)


def _written_by_out(x):
    return torch.add(x, 0.0, out=torch.empty_like(x))


def _copied(x):
    return torch.empty_like(x).copy_(x)


def _written_into_a_slice(x):
    buffer = torch.zeros_like(x)
    buffer[..., 1:] = x[..., 1:]
    return buffer


@pytest.mark.parametrize("site", [_written_by_out, _copied, _written_into_a_slice],
                         ids=["out=", "copy_", "slice write"])
def test_site_that_launders_the_current_through_a_buffer(model, monkeypatch, site):
    monkeypatch.setattr(model.model.layers[0].self_attn.o_proj.lasnn_input, "forward", site)
    assert Violation(O_PROJ, "mm", SYNAPSE) in _reported(model)


@pytest.mark.parametrize("train", ["raw current", "decoded value"])
def test_temporal_site_whose_spikes_are_not_a_train(model, monkeypatch, train):
    site = model.model.layers[0].self_attn.o_proj.lasnn_input
    steps = site.neuron.steps
    if train == "raw current":
        spikes, reason = (lambda x: x.expand(steps, *x.shape) / steps), SYNAPSE
    else:
        spikes, reason = (lambda x: (site.neuron(x) / steps).expand(steps, *x.shape)), NOT_A_TRAIN
    monkeypatch.setattr(site, "spikes", spikes)
    assert Violation(O_PROJ, "mm", reason) in _reported(model, "temporal")
