"""Contract shared by every neuron: dtypes, NaN, devices, time_steps, stats switch, dtype-stable thresholds."""

import contextlib
import math

import pytest
import torch

from lasnn.neurons import HGNeuron, MTNeuron, Neuron, NeuronStats, OATNeuron, track_stats

FACTORIES = {
    "mt": lambda k: MTNeuron(8.0, time_steps=k),
    "oat": lambda k: OATNeuron(1.0, 16.0, time_steps=k),
    "hg_exp": lambda k: HGNeuron.for_function("exp", time_steps=k),
    "hg_gelu": lambda k: HGNeuron.for_function("gelu", time_steps=k),
    "hg_rsqrt": lambda k: HGNeuron.for_function("rsqrt", time_steps=k),
}


@pytest.fixture(params=list(FACTORIES))
def make(request):
    return FACTORIES[request.param]


def sample(device: str) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return (torch.randn(4, 33, generator=g) * 4).to(device)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.float64])
def test_dtype_and_shape_preserved(make, device, dtype):
    neuron = make(16).to(device)
    x = sample(device).to(dtype)
    y = neuron(x)
    assert y.dtype == dtype and y.shape == x.shape and y.device == x.device
    expected = neuron(x.to(torch.float32) if dtype != torch.float64 else x).to(dtype)
    assert torch.equal(y, expected)
    spikes = neuron.spikes(x)
    assert spikes.dtype == torch.float32 and spikes.shape == (16, *x.shape)
    torch.testing.assert_close(spikes.sum(0).to(dtype), y)
    assert neuron.spike_count(x).dtype == torch.int32


def test_nan_propagates_and_is_counted(make, device):
    neuron = make(16).to(device)
    x = torch.tensor([1.0, math.nan, -0.5, math.nan], device=device)
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        y = neuron(x.to(dtype))
        assert torch.isnan(y).tolist() == [False, True, False, True]
    assert neuron.stats.nan.item() == 6 and neuron.stats.elements.item() == 12
    spikes = neuron.spikes(x)
    assert torch.isnan(spikes.sum(0)).tolist() == [False, True, False, True]
    assert torch.equal(neuron.spike_count(x), (spikes != 0).sum(0).int())


@pytest.mark.parametrize("k", [1, 2, 16, 23, 24, 32])
def test_all_time_steps(make, device, k):
    neuron = make(k).to(device)
    x = sample(device).double()
    spikes = neuron.spikes(x)
    assert spikes.shape[0] == k
    torch.testing.assert_close(spikes.sum(0).double(), neuron(x), rtol=1e-6, atol=1e-30)
    assert torch.equal(neuron.spike_count(x), (spikes != 0).sum(0).int())


@pytest.mark.parametrize("k", [0, 33, -1, 2.0, True, "16"])
def test_time_steps_validation(k):
    for cls, args in ((MTNeuron, (1.0,)), (OATNeuron, (1.0, 2.0)), (HGNeuron, ("exp",))):
        with pytest.raises(ValueError, match=r"time_steps must be an int in 1\.\.32"):
            cls(*args, time_steps=k)


def test_rounding_validation():
    with pytest.raises(ValueError, match=r"rounding must be one of \('nearest', 'floor'\)"):
        MTNeuron(1.0, rounding="up")


def test_stats_tensors_live_on_the_device(make, device):
    neuron = make(16).to(device)
    neuron(sample(device))
    stats = neuron.stats
    assert isinstance(stats, NeuronStats)
    assert stats.elements.device.type == torch.device(device).type and stats.elements.dtype == torch.int64
    assert stats.elements.dim() == 0 and stats.elements.item() == 132
    with track_stats(False):
        neuron(sample(device))
        neuron.spikes(sample(device))
    assert neuron.stats.elements.item() == 132
    total = stats + neuron.stats
    assert total.elements.item() == 264
    neuron.reset_stats()
    assert sum(neuron.stats.to_dict().values()) == 0


def test_stats_snapshot_is_not_live():
    neuron = MTNeuron(1.0)
    before = neuron.stats
    neuron(torch.ones(3))
    assert before.elements.item() == 0 and neuron.stats.elements.item() == 3


def test_thresholds_keep_their_dtype(make):
    neuron = make(16).half()
    for name, buf in neuron.named_buffers():
        assert buf.dtype in (torch.float32, torch.float64, torch.int64), name
    neuron = make(16).to(torch.bfloat16)
    x = sample("cpu")
    assert torch.equal(neuron(x), make(16)(x))


def test_neurons_are_modules_without_persistent_state(make):
    neuron = make(16)
    assert isinstance(neuron, Neuron) and isinstance(neuron, torch.nn.Module)
    assert neuron.state_dict() == {}
    assert set(neuron.calibration_state()) and all(isinstance(v, torch.Tensor)
                                                   for v in neuron.calibration_state().values())


def test_forward_in_inference_mode_and_with_grad(make):
    neuron = make(16)
    with torch.inference_mode():
        neuron(sample("cpu"))
    x = sample("cpu").requires_grad_()
    neuron(x)
    assert neuron.stats.elements.item() == 264


def test_observing_forward_is_the_float_function():
    for neuron, ref in ((MTNeuron(1.0), lambda t: t), (OATNeuron(), lambda t: t),
                        (HGNeuron.for_function("silu"), torch.nn.functional.silu)):
        neuron.observing = True
        x = sample("cpu")
        torch.testing.assert_close(neuron(x), ref(x))
        assert neuron.stats.elements.item() == 0


@pytest.mark.parametrize("mode", [torch.inference_mode, torch.no_grad])
def test_calibration_inside_inference_mode(mode):
    """Observing under inference_mode / no_grad calibrates exactly as outside it, and the frozen state (no inference
    tensors) works outside the mode, also for observing again."""
    x = sample("cpu")

    def calibrated(context):
        neurons = [MTNeuron(1.0), OATNeuron(), HGNeuron.for_function("exp")]
        with context():
            for neuron in neurons:
                neuron.observing = True
                neuron(x)
        for neuron in neurons:
            neuron.freeze()
        return neurons

    for inside, outside in zip(calibrated(mode), calibrated(contextlib.nullcontext), strict=True):
        got, expected = inside.calibration_state(), outside.calibration_state()
        assert got.keys() == expected.keys()
        assert all(torch.equal(got[k], expected[k]) and not got[k].is_inference() for k in got)
        assert torch.equal(inside(x), outside(x))
        inside.observing = True
        inside(x)
        inside.freeze()
        assert all(torch.equal(inside.calibration_state()[k], expected[k]) for k in got)
