"""spike_product / spike_product_steps: the steps of a product of two spike trains sum to the product."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from ops_testing import DEVICES, generator, oat_for

from lasnn.neurons import HGNeuron
from lasnn.ops import spike_product, spike_product_steps


def _trains(shape: tuple[int, ...], seed: int, device: str, time_steps: int = 16, kind: str = "oat"):
    """(decoded, spike train) of random values coded by a real neuron (OAT calibrated on them, or HG silu)."""
    x = (torch.randn(shape, generator=generator(seed)) * 3).to(device)
    neuron = oat_for(x, time_steps) if kind == "oat" else HGNeuron.for_function("silu", time_steps).to(device)
    return neuron(x), neuron.spikes(x)


def _check_steps_sum(a_hat, a_spikes, b_hat, b_spikes, op) -> None:
    steps = spike_product_steps(a_spikes, b_spikes, op)
    expected = spike_product(a_hat, b_hat, op)
    assert steps.shape == (a_spikes.shape[0], *expected.shape)
    assert steps.dtype == torch.float32
    # float rounding only: a few ulps of the magnitude op(|A|, |B|) the sum is made of
    magnitude = op(a_hat.abs().double(), b_hat.abs().double())
    err = (steps.double().sum(0) - expected.double()).abs()
    assert bool((err <= magnitude * a_spikes.shape[0] * 2.0**-22 + 1e-30).all()), float(err.max())


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    ("shape_a", "shape_b"),
    [((4, 1, 5), (3, 1)), ((6,), (2, 6)), ((2, 3, 4), (2, 3, 4)), ((1,), (5, 5))],
)
def test_mul_broadcasting(device, shape_a, shape_b):
    a_hat, a_spikes = _trains(shape_a, 1, device)
    b_hat, b_spikes = _trains(shape_b, 2, device, kind="hg")
    _check_steps_sum(a_hat, a_spikes, b_hat, b_spikes, torch.mul)
    assert spike_product_steps(a_spikes, b_spikes).shape[1:] == torch.broadcast_shapes(shape_a, shape_b)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    ("shape_a", "shape_b", "shape_out"),
    [
        ((2, 3, 5, 7), (3, 7, 4), (2, 3, 5, 4)),  # batch dims broadcast
        ((5, 7), (2, 7, 4), (2, 5, 4)),
        ((7,), (7, 4), (4,)),  # vector @ matrix, per step
        ((5, 7), (7,), (5,)),
    ],
)
def test_matmul_batch_dims(device, shape_a, shape_b, shape_out):
    a_hat, a_spikes = _trains(shape_a, 3, device)
    b_hat, b_spikes = _trains(shape_b, 4, device)
    assert spike_product_steps(a_spikes, b_spikes, torch.matmul).shape == (16, *shape_out)
    _check_steps_sum(a_hat, a_spikes, b_hat, b_spikes, torch.matmul)


@pytest.mark.parametrize("device", DEVICES)
def test_attention_shapes(device):
    """Q·Kᵀ [K,B,H,L,D]x[K,B,H,D,S] and P·V [K,B,H,L,S]x[K,B,H,S,D], as in attention."""
    batch, heads, length, keys, width = 2, 3, 5, 7, 8
    q_hat, q = _trains((batch, heads, length, width), 5, device)
    k_hat, k = _trains((batch, heads, keys, width), 6, device)
    _check_steps_sum(q_hat, q, k_hat.transpose(-1, -2), k.transpose(-1, -2), torch.matmul)
    p_hat, p = _trains((batch, heads, length, keys), 7, device, kind="hg")
    v_hat, v = _trains((batch, heads, keys, width), 8, device)
    _check_steps_sum(p_hat, p, v_hat, v, torch.matmul)


@pytest.mark.parametrize("device", DEVICES)
def test_steps_follow_the_definition(device):
    """Step t is op(S_A(t), S_B(t)) - op(S_A(t-1), S_B(t-1)); the float64 steps of dyadic codes are exact."""
    _, a = _trains((3, 4), 9, device, kind="hg")
    _, b = _trains((4, 2), 10, device, kind="hg")
    a, b = a.double(), b.double()
    steps = spike_product_steps(a, b, torch.matmul)
    assert steps.dtype == torch.float64
    previous = torch.zeros(3, 2, dtype=torch.float64, device=device)
    for t in range(a.shape[0]):
        current = a[: t + 1].sum(0) @ b[: t + 1].sum(0)
        assert torch.equal(steps[t], current - previous)
        previous = current
    assert torch.equal(steps.sum(0), a.sum(0) @ b.sum(0))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_spike_product_dtype(device, dtype):
    a_hat, _ = _trains((4, 6), 11, device)
    for op, shape_b in ((torch.mul, (1, 6)), (torch.matmul, (6, 3))):
        b_hat, _ = _trains(shape_b, 12, device)
        a, b = a_hat.to(dtype), b_hat.to(dtype)
        out = spike_product(a, b, op)
        assert out.dtype == dtype
        torch.testing.assert_close(out, op(a.float(), b.float()).to(dtype), rtol=0, atol=0)


def test_time_steps_must_match():
    with pytest.raises(ValueError, match="same number of time steps"):
        spike_product_steps(torch.zeros(16, 3), torch.zeros(8, 3))


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    time_steps=st.sampled_from([1, 4, 8, 16, 24]),
    rows=st.integers(1, 5),
    inner=st.integers(1, 6),
    cols=st.integers(1, 5),
    kinds=st.tuples(st.sampled_from(["oat", "hg"]), st.sampled_from(["oat", "hg"])),
    matmul=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_property_temporal_equals_equivalent(time_steps, rows, inner, cols, kinds, matmul, seed):
    op = torch.matmul if matmul else torch.mul
    shape_b = (inner, cols) if matmul else (1, inner)
    a_hat, a = _trains((rows, inner), seed, "cpu", time_steps, kinds[0])
    b_hat, b = _trains(shape_b, seed + 1, "cpu", time_steps, kinds[1])
    _check_steps_sum(a_hat, a, b_hat, b, op)
