import math

import pytest
import torch

from lasnn.neurons import FSNeuron, fit_fs


@pytest.fixture(scope="module")
def exp_fs() -> FSNeuron:
    return fit_fs(torch.exp, -4.0, 0.0, 16, seed=0)


def test_fits_exp_to_a_sane_error(exp_fs):
    assert exp_fs.time_steps == 16
    assert exp_fs.fit_max_abs_error < 0.04
    x = torch.linspace(-4, 0, 10_001)
    assert (exp_fs(x) - torch.exp(x)).abs().max() <= exp_fs.fit_max_abs_error + 1e-6
    assert (exp_fs(x) - torch.exp(x)).abs().mean() < 0.02


def test_deterministic_for_a_seed():
    a = fit_fs(torch.sigmoid, -6.0, 6.0, 8, steps=100, seed=3)
    b = fit_fs(torch.sigmoid, -6.0, 6.0, 8, steps=100, seed=3)
    for name in ("h", "d", "T"):
        assert torch.equal(getattr(a, name), getattr(b, name))
    assert a.fit_max_abs_error == b.fit_max_abs_error


def test_spike_identities(exp_fs):
    x = torch.cat([torch.linspace(-5, 1, 2001), torch.tensor([math.nan, -math.inf, math.inf])])
    spikes = exp_fs.spikes(x)
    assert spikes.shape == (16, x.numel()) and spikes.dtype == torch.float32
    torch.testing.assert_close(spikes.sum(0), exp_fs(x), rtol=1e-5, atol=1e-6, equal_nan=True)
    assert torch.equal(exp_fs.spike_count(x), (spikes != 0).sum(0).int())


def test_dynamics_match_the_definition():
    h, d, T = torch.tensor([1.0, 0.5, 0.25]), torch.tensor([4.0, 2.0, 1.0]), torch.tensor([1.0, 0.5, 0.25])
    neuron = FSNeuron(h, d, T)
    x = torch.tensor([0.0, 0.3, 0.6, 1.2, 1.8, 5.0])
    expected = []
    for v in x.tolist():
        y = 0.0
        for ht, dt, tt in zip(h.tolist(), d.tolist(), T.tolist()):
            z = 1.0 if v > tt else 0.0
            y, v = y + dt * z, v - ht * z
        expected.append(y)
    assert neuron(x).tolist() == expected


def test_stats_nan_and_out_of_range(exp_fs):
    exp_fs.reset_stats()
    y = exp_fs(torch.tensor([-5.0, -1.0, 0.5, math.nan]))
    assert math.isnan(y[3])
    assert exp_fs.stats.to_dict() == {"elements": 4, "clamped": 0, "out_of_range": 2, "underflow": 0, "outlier": 0,
                                      "nan": 1}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_dtype(exp_fs, dtype):
    x = torch.linspace(-4, 0, 101, dtype=dtype)
    assert exp_fs(x).dtype == dtype


def test_observing_returns_the_fitted_function(exp_fs):
    exp_fs.observing = True
    x = torch.linspace(-4, 0, 11)
    torch.testing.assert_close(exp_fs(x), torch.exp(x))
    exp_fs.freeze()
    assert not exp_fs.observing


def test_calibration_state_round_trip(exp_fs):
    other = FSNeuron(torch.zeros(16), torch.zeros(16), torch.zeros(16))
    other.load_calibration_state(exp_fs.calibration_state())
    x = torch.linspace(-4, 0, 101)
    assert torch.equal(other(x), exp_fs(x))
    with pytest.raises(ValueError, match="time steps"):
        FSNeuron(torch.zeros(2), torch.zeros(2), torch.zeros(2)).load_calibration_state(exp_fs.calibration_state())


def test_validation():
    with pytest.raises(ValueError, match="one entry per time step"):
        FSNeuron(torch.zeros(3), torch.zeros(2), torch.zeros(3))
    with pytest.raises(ValueError, match="time_steps"):
        FSNeuron(torch.zeros(33), torch.zeros(33), torch.zeros(33))
    with pytest.raises(ValueError, match="lo < hi"):
        fit_fs(torch.exp, 0.0, 0.0, steps=1)
    with pytest.raises(ValueError, match="time_steps"):
        fit_fs(torch.exp, -1.0, 0.0, 0, steps=1)
