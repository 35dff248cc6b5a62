import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lasnn.neurons import popcount
from lasnn.neurons.codes import bit_planes, float_code, round_significand, round_up_significand

HYP = settings(derandomize=True, max_examples=40, deadline=None)


@HYP
@given(st.lists(st.integers(0, 2**62), min_size=1, max_size=64))
def test_popcount_matches_python(values):
    c = torch.tensor(values, dtype=torch.int64)
    assert popcount(c).tolist() == [bin(v).count("1") for v in values]
    assert popcount(c).dtype == torch.int32


def test_popcount_all_codes_k16():
    c = torch.arange(2**16)
    assert popcount(c).sum().item() == 16 * 2**15


@HYP
@given(st.lists(st.integers(0, 2**20 - 1), min_size=1, max_size=32))
def test_bit_planes_rebuild_the_code(values):
    c = torch.tensor(values)
    planes = bit_planes(c, 20)
    weights = 2 ** torch.arange(19, -1, -1).view(-1, 1)
    assert torch.equal((planes * weights).sum(0), c)


@HYP
@given(st.floats(1e-30, 1e30), st.integers(1, 23))
def test_round_significand_is_k_bit_rounding(value, k):
    y = torch.tensor([value, -value], dtype=torch.float32)
    m, e = math.frexp(float(y[0]))
    expected = math.ldexp(math.floor(m * 2**k + 0.5), e - k)
    r = round_significand(y.clone(), k, nearest=True)
    assert r.tolist() == [expected, -expected]
    t = round_significand(y.clone(), k, nearest=False)
    assert t.tolist() == [math.ldexp(math.floor(m * 2**k), e - k), -math.ldexp(math.floor(m * 2**k), e - k)]


def test_round_significand_keeps_nan_and_inf():
    nan_payload = torch.tensor([0x7FFFFFFF, -1], dtype=torch.int32).view(torch.float32)  # NaNs with full payloads
    y = torch.cat([nan_payload, torch.tensor([math.inf, -math.inf, 0.0])])
    for k in (1, 2, 16, 23):
        r = round_significand(y.clone(), k, nearest=True)
        assert torch.isnan(r[:2]).all() and r[2:].tolist() == [math.inf, -math.inf, 0.0]


def test_float_code_carry_and_underflow():
    r = torch.tensor([1.0, 0.75, 3 * 2.0**-129, 0.0])
    c, e = float_code(r, 4, -125)
    assert c.tolist() == [8, 12, 3, 0]  # 3 * 2^-129: code 3 on the fixed grid 2^(e_min - K) of e_min = -125
    assert e[:3].tolist() == [1, 0, -125]


@HYP
@given(st.floats(1e-20, 1e20), st.integers(1, 30))
def test_round_up_significand(value, bits):
    r = round_up_significand(value, bits)
    m, _ = math.frexp(r)
    assert r >= value and (m * 2**bits).is_integer() and r <= value * (1 + 2.0 ** (1 - bits))
