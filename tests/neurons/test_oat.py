import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lasnn.neurons import OATNeuron

HYP = settings(derandomize=True, max_examples=30, deadline=None)


def heavy_tailed(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, generator=g)
    outliers = torch.rand(n, generator=g) < 0.002
    return torch.where(outliers, x * 300, x)


def test_routing_and_clamp_counting():
    neuron = OATNeuron(1.0, 16.0)
    x = torch.tensor([0.5, -0.99, 1.0, -3.0, 15.9, 20.0, -1e6, float("nan")])
    y = neuron(x)
    step_nor, step_out = 2.0**-16, 16 * 2.0**-16
    assert y[0].item() == 0.5 and y[1].item() == -round(0.99 / step_nor) * step_nor
    assert y[2].item() == 1.0 and y[3].item() == -3.0
    assert y[4].item() == round(15.9 / step_out) * step_out
    top = (2**16 - 1) * step_out
    assert y[5].item() == top and y[6].item() == -top and math.isnan(y[7])
    assert neuron.stats.to_dict() == {"elements": 8, "clamped": 2, "out_of_range": 0, "underflow": 0,
                                      "outlier": 5, "nan": 1}


def test_normal_branch_saturation_is_not_clamping():
    neuron = OATNeuron(1.0, 2.0)
    y = neuron(torch.tensor([1.0 - 2.0**-20]))  # rounds to the normal MT's top code, not beyond theta_out
    assert y.item() == 1.0 - 2.0**-16 and neuron.stats.clamped.item() == 0


@pytest.mark.parametrize("rounding", ["nearest", "floor"])
@pytest.mark.parametrize("time_steps", [4, 8, 16, 23, 32])
def test_idempotent_after_freeze(rounding, time_steps):
    x = heavy_tailed(20_000, seed=time_steps)
    if time_steps > 23:  # a K-bit code needs more than float32's 24-bit significand
        x = x.double()
    neuron = OATNeuron.from_tensor(x, time_steps=time_steps, rounding=rounding)
    ratio = float(neuron.theta_out / neuron.theta_nor)
    assert ratio >= 1 and math.log2(ratio).is_integer()
    y = neuron(x)
    assert torch.equal(neuron(y), y)
    assert neuron.stats.clamped.item() == 0
    if time_steps <= 23:  # short thresholds: every partial sum of the spike train is exact in float32
        torch.testing.assert_close(neuron.spikes(x).sum(0), y, rtol=0, atol=0)


@HYP
@given(st.lists(st.floats(-1e4, 1e4, width=32), min_size=1, max_size=200), st.sampled_from([0.9, 0.999, 1.0]))
def test_freeze_rule(values, quantile):
    x = torch.tensor(values)
    neuron = OATNeuron.from_tensor(x, quantile=quantile, margin=1.25)
    a = x.abs()
    nor, out = float(neuron.theta_nor), float(neuron.theta_out)
    if a.max() == 0:
        assert nor == out == 1.0
        return
    assert (a < nor).float().mean() >= quantile - 1e-6 or a.max() < nor
    assert out >= min(1.25 * a.max().item(), nor) * (1 - 1e-6)
    assert torch.equal(neuron(neuron(x)), neuron(x))
    assert neuron.stats.clamped.item() == 0


def test_quantile_threshold_is_tight():
    x = torch.rand(100_000) * 10  # 0.999-quantile of |x| ~ 9.99
    neuron = OATNeuron.from_tensor(x)
    assert 9.99 <= float(neuron.theta_nor) <= 9.99 * 2 ** (1 / 64) * (1 + 2**-8)


def test_all_zero_site():
    neuron = OATNeuron.from_tensor(torch.zeros(10))
    assert float(neuron.theta_nor) == float(neuron.theta_out) == 1.0


def test_uncalibrated_raises():
    neuron = OATNeuron()
    assert not neuron.is_calibrated
    for call in (neuron, neuron.spikes, neuron.spike_count):
        with pytest.raises(RuntimeError, match="not calibrated"):
            call(torch.ones(3))
    with pytest.raises(RuntimeError, match="nothing was observed"):
        neuron.freeze()


def test_observe_is_identity_and_state_round_trip():
    neuron = OATNeuron()
    neuron.observing = True
    x = heavy_tailed(1000)
    assert neuron(x) is x
    neuron.freeze()
    assert neuron.is_calibrated and not neuron.observing
    other = OATNeuron()
    other.load_calibration_state(neuron.calibration_state())
    assert torch.equal(other(x), neuron(x))
    with pytest.raises(ValueError, match="theta_out"):
        other.load_calibration_state({"theta_nor": torch.tensor(1.0)})


@pytest.mark.parametrize("nor, out, name", [(2.0, 1.0, "theta_nor must be <= theta_out"), (0.0, 1.0, "theta_nor"),
                                            (1.0, -1.0, "theta_out"), (1.0, None, "both")])
def test_invalid_thresholds(nor, out, name):
    with pytest.raises(ValueError, match=name):
        OATNeuron(nor, out)


@pytest.mark.parametrize("kwargs, name", [({"quantile": 0.0}, "quantile"), ({"margin": 0.5}, "margin")])
def test_invalid_freeze_rule(kwargs, name):
    neuron = OATNeuron()
    neuron.observing = True
    neuron(torch.ones(4))
    with pytest.raises(ValueError, match=name):
        neuron.freeze(**kwargs)


def test_spike_identities_with_outliers():
    x = heavy_tailed(5000)
    neuron = OATNeuron.from_tensor(x)
    spikes = neuron.spikes(x)
    torch.testing.assert_close(spikes.sum(0), neuron(x))
    assert torch.equal(neuron.spike_count(x), (spikes != 0).sum(0).int())
