import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lasnn.neurons import MTNeuron, track_stats

HYP = settings(derandomize=True, max_examples=30, deadline=None)
floats32 = st.floats(-1e3, 1e3, width=32, allow_subnormal=False)


def reference_codes(x: torch.Tensor, tau: float, k: int, rounding: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(codes, ambiguous): float64 codes of the contract formula; `ambiguous` marks values within float32 rounding
    of a rounding boundary, where the float32 implementation may legitimately pick the neighbour code."""
    u = x.double().abs() * 2**k / tau + (0.5 if rounding == "nearest" else 0.0)
    codes = torch.floor(u).clamp_max(2**k - 1)
    ambiguous = (u - torch.round(u)).abs() <= 1e-6 * u.clamp_min(1)
    return codes, ambiguous


@HYP
@given(st.lists(floats32, min_size=1, max_size=64), st.sampled_from([0.5, 1.0, 3.7, 100.0]),
       st.sampled_from([1, 4, 8, 16, 23]), st.sampled_from(["nearest", "floor"]))
def test_decoded_is_the_rounding_formula(values, tau, k, rounding):
    x = torch.tensor(values, dtype=torch.float32)
    neuron = MTNeuron(tau, time_steps=k, rounding=rounding)
    codes, ambiguous = reference_codes(x, float(neuron.tau), k, rounding)
    expected = torch.sign(x.double()) * codes * float(neuron.tau) * 2.0**-k
    got = neuron(x).double()
    step = float(neuron.tau) * 2.0**-k
    exact = ~ambiguous
    torch.testing.assert_close(got[exact], expected[exact], rtol=1e-6, atol=0)
    assert ((got - expected).abs()[ambiguous] <= step * 1.000001).all()
    assert int(neuron.stats.clamped) == int((x.double().abs() * 2**k / float(neuron.tau)
                                            + (0.5 if rounding == "nearest" else 0) >= 2**k).sum())


@pytest.mark.parametrize("rounding", ["nearest", "floor"])
def test_cap_is_top_code(rounding):
    k, tau = 16, 2.0
    neuron = MTNeuron(tau, time_steps=k, rounding=rounding)
    y = neuron(torch.tensor([1e9, -1e9, tau, tau * (1 - 2.0**-20)]))
    top = (2**k - 1) * tau / 2**k
    assert y.tolist()[:3] == [top, -top, top]
    assert y[3].item() == top
    assert neuron.stats.clamped.item() == (4 if rounding == "nearest" else 3)


def test_error_bounds():
    step = 4.0 * 2.0**-16
    x = torch.rand(100_000, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * (4 - step / 2)
    for rounding, bound in (("nearest", step / 2), ("floor", step)):
        err = x - MTNeuron(4.0, rounding=rounding)(x)
        assert err.abs().max() <= bound
        if rounding == "floor":
            assert (err >= 0).all()
    # nearest: the last half step below tau saturates at the top code, still within one step
    top_region = torch.linspace(4 - step / 2, 4 - 1e-12, 101, dtype=torch.float64)
    assert (top_region - MTNeuron(4.0)(top_region)).abs().max() < step


@HYP
@given(st.lists(floats32, min_size=1, max_size=64), st.sampled_from([1, 7, 16, 23, 24, 32]))
def test_spike_identities(values, k):
    x = torch.tensor(values)
    neuron = MTNeuron(10.0, time_steps=k)
    spikes = neuron.spikes(x)
    assert spikes.shape == (k, x.numel()) and spikes.dtype == torch.float32
    torch.testing.assert_close(spikes.sum(0), neuron(x).float(), rtol=1e-6, atol=1e-30)
    assert torch.equal(neuron.spike_count(x), (spikes != 0).sum(0).int())
    # weights are tau 2^-t, signs ride on the spike
    nz = spikes != 0
    w = (10.0 * 2.0 ** -torch.arange(1, k + 1, dtype=torch.float64)).float().view(-1, 1).expand_as(spikes)
    assert torch.equal(spikes.abs()[nz], w[nz])
    assert (torch.sign(spikes) * torch.sign(x) >= 0).all()


def test_per_channel_tau():
    tau = torch.tensor([1.0, 2.0, 4.0])
    neuron = MTNeuron(tau)
    x = torch.full((5, 3), 3.0)
    y = neuron(x)
    assert torch.allclose(y[0], torch.tensor([1 - 2**-16, 2 * (1 - 2**-16), 3.0]))
    torch.testing.assert_close(neuron.spikes(x).sum(0), y)


def test_stats_accumulate_and_reset():
    neuron = MTNeuron(1.0)
    x = torch.tensor([0.5, 2.0, float("nan"), -3.0])
    neuron(x)
    neuron.spikes(x)
    neuron.spike_count(x)  # does not count
    s = neuron.stats.to_dict()
    assert s == {"elements": 8, "clamped": 4, "out_of_range": 0, "underflow": 0, "outlier": 0, "nan": 2}
    with track_stats(False):
        neuron(x)
    assert neuron.stats.elements.item() == 8
    neuron.reset_stats()
    assert neuron.stats.to_dict()["elements"] == 0


def test_observe_and_freeze():
    neuron = MTNeuron(1.0)
    neuron.observing = True
    x = torch.randn(1000) * 7
    assert neuron(x) is x
    neuron.freeze(margin=1.25)
    assert not neuron.observing
    tau = float(neuron.tau)
    assert 1.25 * x.abs().max().item() <= tau <= 1.25 * x.abs().max().item() * (1 + 2**-7)
    assert neuron.stats.clamped.item() == 0 and (neuron(x) - x).abs().max() <= tau * 2**-17
    with pytest.raises(RuntimeError, match="nothing was observed"):
        MTNeuron(1.0).freeze()


def test_calibration_state_round_trip():
    a, b = MTNeuron(3.0), MTNeuron(1.0)
    b.load_calibration_state(a.calibration_state())
    x = torch.randn(100)
    assert torch.equal(a(x), b(x))
    with pytest.raises(ValueError, match="tau"):
        b.load_calibration_state({"theta": torch.tensor(1.0)})


@pytest.mark.parametrize("tau", [0.0, -1.0, math.nan, math.inf, torch.tensor([1.0, 0.0])])
def test_invalid_tau(tau):
    with pytest.raises(ValueError, match="tau"):
        MTNeuron(tau)


def test_threshold_dtype_survives_half():
    neuron = MTNeuron(0.3).half()
    assert neuron.tau.dtype == torch.float32 and neuron.tau.item() == torch.tensor(0.3).item()
    neuron = MTNeuron(0.3, time_steps=32)
    assert neuron.tau.dtype == torch.float64


def test_fp64_input_keeps_precision():
    x = torch.tensor([1 / 3], dtype=torch.float64)
    y = MTNeuron(1.0, time_steps=16)(x)
    assert y.dtype == torch.float64 and y.item() == math.floor(2**16 / 3 + 0.5) / 2**16
