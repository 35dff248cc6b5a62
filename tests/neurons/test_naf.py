"""The signed-digit code "naf": exact non-adjacent forms, the same decoded values as "binary", fewer spikes."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lasnn.neurons import HG_FUNCTIONS, HGNeuron, MTNeuron, OATNeuron, popcount
from lasnn.neurons.codes import code_steps, digit_count, digit_planes, naf_digits

HYP = settings(derandomize=True, max_examples=40, deadline=None)


def python_naf(value: int) -> list[int]:
    """Reference: the textbook non-adjacent form, least significant digit first."""
    digits = []
    while value:
        digit = 2 - value % 4 if value % 2 else 0
        digits.append(digit)
        value = (value - digit) // 2
    return digits


@HYP
@given(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=64))
def test_naf_digits_are_the_non_adjacent_form(values):
    c = torch.tensor(values, dtype=torch.int64)
    positive, negative = naf_digits(c)
    assert torch.equal(positive - negative, c)
    assert not (positive & negative).any()
    nonzero = positive | negative
    assert not (nonzero & (nonzero >> 1)).any()
    for value, p, n in zip(values, positive.tolist(), negative.tolist()):
        expected = python_naf(value)
        assert p == sum(1 << i for i, d in enumerate(expected) if d == 1)
        assert n == sum(1 << i for i, d in enumerate(expected) if d == -1)


def test_every_16_bit_code_needs_at_most_its_binary_spikes_and_a_third_fewer_on_average():
    c = torch.arange(2**16)
    naf, binary = digit_count(c, "naf"), digit_count(c, "binary")
    assert torch.equal(binary, popcount(c))
    assert (naf <= binary).all()
    assert naf.double().mean() < 0.75 * binary.double().mean()  # 5.33 + O(2^-K) against 8
    assert int(naf.max()) == 9  # ceil((K + 1) / 2)


@HYP
@given(st.lists(st.integers(0, 2**20 - 1), min_size=1, max_size=32), st.sampled_from(["binary", "naf"]))
def test_digit_planes_rebuild_the_code(values, code):
    c = torch.tensor(values)
    planes = digit_planes(c, 20, code)
    steps = code_steps(20, code)
    assert planes.shape == (steps, len(values))
    assert set(planes.unique().tolist()) <= {-1, 0, 1}
    weights = 2 ** torch.arange(steps - 1, -1, -1).view(-1, 1)
    assert torch.equal((planes * weights).sum(0), c)
    assert torch.equal((planes != 0).sum(0).int(), digit_count(c, code))


def neurons(code: str) -> dict[str, torch.nn.Module]:
    x = torch.randn(4096, generator=torch.Generator().manual_seed(0)) * 3
    mt = MTNeuron(tau=8.0, code=code)
    oat = OATNeuron.from_tensor(torch.cat([x, torch.tensor([60.0, -90.0])]), code=code)
    return {"mt": mt, "oat": oat, **{f"hg:{name}": HGNeuron.for_function(name, code=code) for name in HG_FUNCTIONS}}


def inputs(neuron) -> torch.Tensor:
    if isinstance(neuron, HGNeuron):
        lo, hi = neuron.range
        return torch.cat([torch.linspace(lo, hi, 3001), torch.tensor([lo - 1, hi + 1, 0.0, -0.0, math.nan])])
    return torch.cat([torch.linspace(-100, 100, 3001), torch.tensor([0.0, -0.0, 7.99, math.nan])])


@pytest.mark.parametrize("name", sorted(neurons("naf")))
def test_naf_trains_decode_to_the_binary_value_with_no_more_spikes(name):
    naf, binary = neurons("naf")[name], neurons("binary")[name]
    x = inputs(naf)
    train = naf.spikes(x)
    assert train.shape == (naf.time_steps + 1, x.numel()) and naf.steps == 17 and binary.steps == 16
    torch.testing.assert_close(naf(x), binary(x), rtol=0, atol=0, equal_nan=True)  # the code never moves a value
    torch.testing.assert_close(train.sum(0), naf(x), rtol=0, atol=0, equal_nan=True)
    counts = naf.spike_count(x)
    assert torch.equal(counts, (train != 0).sum(0).int())
    number = ~torch.isnan(x)  # NaN fires at every step: 17 steps against 16
    assert (counts[number] <= binary.spike_count(x)[number]).all()
    if isinstance(naf, HGNeuron):
        nonzero = train[~torch.isnan(train) & (train != 0)]
        assert (torch.frexp(nonzero)[0].abs() == 0.5).all(), "every HG spike weighs a power of two 2^(e-t)"


def test_naf_spikes_carry_their_own_sign():
    neuron = MTNeuron(tau=1.0, time_steps=4, code="naf")
    train = neuron.spikes(torch.tensor([7 / 16, -7 / 16]))  # code 7 = 8 - 1: digits +1 at 2^3, -1 at 2^0
    assert train[:, 0].tolist() == [0.0, 0.5, 0.0, 0.0, -1 / 16]
    assert train[:, 1].tolist() == [-0.0, -0.5, -0.0, -0.0, 1 / 16]


def test_unknown_code_is_rejected():
    with pytest.raises(ValueError, match="code must be one of"):
        MTNeuron(tau=1.0, code="ternary")
