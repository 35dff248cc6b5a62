"""spiking_activation: HG neuron vs the torch function (its stated error bound) and temporal == equivalent."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from ops_testing import DEVICES, generator

from lasnn.neurons import HGNeuron
from lasnn.neurons.references import reference
from lasnn.ops import spiking_activation

ACTIVATIONS = ("exp", "gelu", "gelu_tanh", "identity", "relu", "sigmoid", "silu", "tanh")


def _within_budget(y: torch.Tensor, x: torch.Tensor, neuron: HGNeuron) -> bool:
    """|y - f(x)| <= (2^-K + 2^-16) |f(x)| + 2e-5 [segments of capped width] + 2^-120, f on x clamped to the declared
    range (as the neuron): the HG neuron's stated bound (output code, fitted line, underflow floor 2^-126)."""
    lo, hi = neuron.range
    ref = reference(neuron.function, x.double().clamp(lo, hi))
    absolute = 2e-5 if neuron.spec.width_exp is not None else 0.0
    bound = (2.0**-neuron.time_steps + 2.0**-16) * ref.abs() * (1 + 1e-6) + absolute + 2.0**-120
    return bool(((y.double() - ref).abs() <= bound).all())


def _inputs(seed: int, device: str) -> torch.Tensor:
    g = generator(seed)
    grid = torch.linspace(-6, 6, 20001)
    return torch.cat([grid, torch.randn(4096, generator=g) * 2, torch.tensor([0.0, -0.0, 1e-30, -1e-30])]).to(device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_matches_torch_function(device, name):
    neuron = HGNeuron.for_function(name).to(device)
    x = _inputs(1, device)
    if name == "exp":
        x = -x.abs()
    y = spiking_activation(x, neuron)
    assert _within_budget(y, x, neuron)
    assert int(neuron.stats.out_of_range) == 0


TORCH_FUNCTIONS = {
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": F.relu,
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(TORCH_FUNCTIONS))
def test_matches_torch_float32(device, name):
    """Against torch's own float32 functions (which carry their own rounding, hence the absolute term)."""
    x = _inputs(5, device)
    y = spiking_activation(x, HGNeuron.for_function(name).to(device))
    torch.testing.assert_close(y, TORCH_FUNCTIONS[name](x), rtol=2.0**-15, atol=2e-5)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_temporal_equals_equivalent(device, name):
    neuron = HGNeuron.for_function(name).to(device)
    x = _inputs(2, device)
    assert torch.equal(spiking_activation(x, neuron, temporal=True), spiking_activation(x, neuron))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_in_same_dtype_out(device, dtype):
    neuron = HGNeuron.for_function("silu").to(device)
    x = _inputs(3, device).to(dtype)
    for temporal in (False, True):
        y = spiking_activation(x, neuron, temporal=temporal)
        assert y.dtype == dtype
        torch.testing.assert_close(y, F.silu(x.float()).to(dtype), rtol=torch.finfo(dtype).eps, atol=1e-6)


def test_observing_is_exact_function():
    neuron = HGNeuron.for_function("gelu")
    neuron.observing = True
    x = _inputs(4, "cpu")
    torch.testing.assert_close(spiking_activation(x, neuron), F.gelu(x))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    name=st.sampled_from(ACTIVATIONS),
    time_steps=st.sampled_from([1, 3, 8, 16, 23]),
    values=st.lists(st.floats(-40, 40, width=32), min_size=1, max_size=64),
)
def test_property_temporal_equals_equivalent(name, time_steps, values):
    neuron = HGNeuron.for_function(name, time_steps=time_steps)
    x = torch.tensor(values)
    y = spiking_activation(x, neuron)
    assert torch.equal(spiking_activation(x, neuron, temporal=True), y)
    assert _within_budget(y, x, neuron)
