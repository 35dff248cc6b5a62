"""Spike counts: the popcount rule of equivalent mode equals the trains of temporal mode, on every family."""

import pytest
import torch
from torch import nn

import lasnn
from lasnn.config import LASConfig
from lasnn.convert.swap import add_child, set_attr, swap_class
from lasnn.metrics.report import report
from lasnn.metrics.spikes import SpikeCounter
from lasnn.metrics.synapses import OpCounter
from lasnn.modules.linear import SpikingLinear
from lasnn.modules.sites import SiteEncoder
from lasnn.modules.state import STATE_ATTR, ConversionState, Mode
from lasnn.neurons import OATNeuron
from tiny_models import FAMILIES, tiny_model, token_batches

BATCH = token_batches(1, batch=2, length=12, seed=5)[0]


@pytest.mark.parametrize("family", FAMILIES)
def test_temporal_trains_equal_equivalent_popcounts(family):
    model = lasnn.convert(tiny_model(family), LASConfig(calibration_sequences=4), calibration_data=token_batches(1))
    equivalent = report(model, BATCH)
    temporal = report(model, BATCH, mode="temporal")
    # in temporal mode every train actually used is compared with spike_count(x) on the same input
    assert temporal.mismatches == 0
    assert temporal.spikes > 0
    for run in (equivalent, temporal):
        for n in run.neurons:
            assert sum(n.per_step) == n.spikes, n.name
            assert sum(n.histogram) == n.elements
            assert sum(k * c for k, c in enumerate(n.histogram)) == n.spikes
    # the first neuron reads the embeddings, the same tensor in both modes: identical counts
    first_eq, first_tp = equivalent.neurons[0], temporal.neurons[0]
    assert first_eq.name == first_tp.name and first_eq.spikes == first_tp.spikes
    # downstream, float rounding of the synapses moves a few codes by one step
    assert abs(temporal.spikes - equivalent.spikes) <= 1e-3 * equivalent.spikes


def _synapse(state, site, n_in, n_out):
    linear = nn.Linear(n_in, n_out)
    add_child(linear, "lasnn_input", site)
    set_attr(linear, STATE_ATTR, state)
    swap_class(linear, SpikingLinear)
    return linear


@pytest.mark.parametrize("mode", ["equivalent", "temporal"])
def test_linear_acs_by_hand(mode):
    # K = 4, theta_nor = 1, theta_out = 4: 0.5 -> code 1000, -0.25 -> 0100, 0.75 -> 1100, 1.5 -> outlier 0110
    state = ConversionState(LASConfig(time_steps=4), None, mode=Mode(mode))
    site = SiteEncoder(OATNeuron(1.0, 4.0, time_steps=4))
    site.consumers = 2
    first, second = _synapse(state, site, 4, 5), _synapse(state, site, 4, 3)
    container = nn.ModuleDict({"first": first, "second": second})
    set_attr(container, STATE_ATTR, state)
    spikes = SpikeCounter(container, {})
    ops = OpCounter(container, spikes)
    x = torch.tensor([[0.5, -0.25, 0.75, 1.5]])
    with spikes.recording(mode), ops.counting():
        first(x)
        second(x)
    record = spikes.record(site.neuron)
    assert (record.elements, record.spikes, record.histogram) == (4, 6, [0, 2, 2, 0, 0])
    assert record.stats["outlier"] == 1 and record.stats["clamped"] == 0
    assert record.updates == 4 * (4 + 1)
    counted = {name: op for (name, _), op in ops.ops.items()}
    assert counted["first"].snn.acs == 6 * 5 + 5 and counted["second"].snn.acs == 6 * 3 + 3
    assert counted["first"].ann.macs == 4 * 5 and counted["first"].ann.acs == 5
    assert counted["first"].snn.macs == 0


def test_naf_code_spends_fewer_spikes_and_accumulates_for_the_same_outputs():
    runs = {}
    for code in ("binary", "naf"):
        model = lasnn.convert(tiny_model("llama"), LASConfig(calibration_sequences=4, code=code),
                              calibration_data=token_batches(1))
        runs[code] = report(model, BATCH), report(model, BATCH, mode="temporal")
    (binary, _), (naf, naf_temporal) = runs["binary"], runs["naf"]
    assert naf_temporal.mismatches == 0
    assert len(naf.firing_rate_per_step) == 17 and len(binary.firing_rate_per_step) == 16
    assert naf.elements == binary.elements
    assert naf.spikes < 0.8 * binary.spikes
    assert naf.snn.acs < binary.snn.acs and naf.ann == binary.ann
    assert naf.energy[0].ratio < binary.energy[0].ratio
    assert "naf code" in str(naf)


def test_set_code_switches_a_converted_model_like_converting_with_that_code():
    converted = {code: lasnn.convert(tiny_model("llama"), LASConfig(calibration_sequences=4, code=code),
                                     calibration_data=token_batches(1)) for code in ("binary", "naf")}
    model = converted["binary"]
    with torch.no_grad():
        before = model(**BATCH).logits
    lasnn.set_code(model, "naf")
    assert model._lasnn_state.config.code == "naf"
    assert report(model, BATCH).spikes == report(converted["naf"], BATCH).spikes
    with lasnn.mode(model, "temporal"), torch.no_grad():
        temporal = model(**BATCH).logits
    with torch.no_grad():
        assert torch.equal(model(**BATCH).logits, before)
    assert (temporal - before).abs().max() <= 5e-4 * before.std()
    with pytest.raises(ValueError, match="code must be one of"):
        lasnn.set_code(model, "ternary")
    assert model._lasnn_state.config.code == "naf"
    lasnn.set_code(model, "binary")
    assert report(model, BATCH).spikes == report(converted["binary"], BATCH).spikes
