import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lasnn.neurons import HG_FUNCTIONS, HGNeuron
from lasnn.neurons.hg import DEPTH
from lasnn.neurons.references import reference

HYP = settings(derandomize=True, max_examples=25, deadline=None)
N = 100_000


def logspace(lo: float, hi: float, n: int = N) -> torch.Tensor:
    return torch.logspace(math.log10(lo), math.log10(hi), n, dtype=torch.float64)


def both_signs(lo: float, hi: float) -> torch.Tensor:
    half = logspace(lo, hi, N // 2)
    return torch.cat([-half, half])


SWEEPS = {  # name: (inputs, error kind, bound)
    "exp": (torch.cat([torch.linspace(-88, 0, N // 2, dtype=torch.float64), -logspace(1e-8, 88, N // 2)]),
            "abs", lambda x: 2e-5),
    "reciprocal": (logspace(1e-3, 1e5), "rel", lambda x: 1e-4),
    "rsqrt": (logspace(1e-6, 1e6), "rel", lambda x: 1e-4),
    "sqrt": (logspace(1e-6, 1e6), "rel", lambda x: 1e-4),
    "square": (both_signs(1e-6, 1e3), "rel", lambda x: 1e-4),
    **{name: (torch.cat([torch.linspace(-30, 30, N // 2, dtype=torch.float64), both_signs(1e-8, 30)[::2]]),
              "abs", lambda x: 1e-4 * x.abs().clamp_min(1)) for name in ("gelu", "gelu_tanh", "silu")},
    **{name: (torch.cat([torch.linspace(-30, 30, N // 2, dtype=torch.float64), both_signs(1e-8, 30)[::2]]),
              "abs", lambda x: 1e-4) for name in ("sigmoid", "tanh")},
}


@pytest.mark.parametrize("name", list(SWEEPS))
def test_precision_bounds_k16(name):
    x, kind, bound = SWEEPS[name]
    assert x.numel() >= N
    neuron = HGNeuron.for_function(name, time_steps=16)
    y = neuron(x.float()).double()
    ref = reference(name, x.float())  # the neuron sees the float32 input
    err = (y - ref).abs()
    if kind == "rel":
        err = err / ref.abs()
    assert (err <= bound(x)).all(), f"{name}: max {kind} error {err.max().item():.3g}"
    stats = neuron.stats
    assert stats.out_of_range.item() == 0 and stats.nan.item() == 0


def error_bound(neuron: HGNeuron, ref: torch.Tensor) -> torch.Tensor:
    """The stated bound: (2^-K + 2^-16) |f| (output code + fitted line on the relative grid), plus 2e-5 where the
    function's segments have a capped (absolute) width."""
    absolute = 2e-5 if neuron.spec.width_exp is not None else 0.0
    return (2.0 ** -neuron.time_steps + 2.0**-16) * ref.abs() * (1 + 1e-6) + absolute


@pytest.mark.parametrize("k", [8, 12, 16])
@pytest.mark.parametrize("name", list(HG_FUNCTIONS))
def test_error_bound_any_k(name, k):
    """Over the declared range, where |f| is a normal float32 and |x| lies above the input grid's lowest binade."""
    neuron = HGNeuron.for_function(name, time_steps=k)
    lo, hi = neuron.range
    x = torch.linspace(lo, hi, 20_001, dtype=torch.float64).float()
    ref = reference(name, x)
    keep = (ref.abs() > 2.0**-120) & (x.abs() >= 2.0 ** (math.frexp(max(abs(lo), abs(hi)))[1] - 1 - DEPTH))
    err = (neuron(x).double() - ref).abs()
    assert (err <= error_bound(neuron, ref))[keep].all(), f"{name}: max error {err[keep].max().item():.3g}"


@pytest.mark.parametrize("name", list(HG_FUNCTIONS))
def test_spike_identities(name):
    neuron = HGNeuron.for_function(name)
    lo, hi = neuron.range
    x = torch.cat([torch.linspace(lo, hi, 3001), torch.tensor([lo - 1, hi + 1, 0.0, -0.0, math.nan])])
    spikes = neuron.spikes(x)
    y = neuron(x)
    assert spikes.shape == (16, x.numel()) and spikes.dtype == torch.float32
    torch.testing.assert_close(spikes.sum(0), y, rtol=1e-6, atol=0, equal_nan=True)
    assert torch.equal(neuron.spike_count(x), (spikes != 0).sum(0).int())
    # spike weights are powers of two 2^(e-t): the significand code of the octave
    nz = (spikes != 0) & ~torch.isnan(spikes)
    assert (torch.frexp(spikes[nz])[0].abs() == 0.5).all()


def test_out_of_range_is_clamped_and_counted():
    neuron = HGNeuron.for_function("reciprocal")
    y = neuron(torch.tensor([1e-4, 2e5, -1.0, 1.0, math.nan]))
    assert y[:4].tolist() == [1000.0, pytest.approx(1e-5, rel=2**-16), 1000.0, 1.0]
    assert neuron.stats.to_dict() == {"elements": 5, "clamped": 0, "out_of_range": 3, "underflow": 0, "outlier": 0,
                                      "nan": 1}


def test_exp_below_lo_underflows_without_error():
    neuron = HGNeuron.for_function("exp")
    y = neuron(torch.tensor([-200.0, -104.0, -87.5, -1.0, 3.0]))
    assert y[0].item() == 0 and y[1].item() == 0
    assert y[3].item() == pytest.approx(math.exp(-1), rel=2**-15) and y[4].item() == 1.0
    s = neuron.stats
    assert s.out_of_range.item() == 1  # only x > hi = 0
    assert s.underflow.item() == 3  # exp(-200), exp(-104) below lo: no spikes; exp(-87.5) < 2^-126


def test_below_lowest_octave_fixed_grid_and_below_lo_silent():
    neuron = HGNeuron.for_function("exp", lo=-10.0)
    assert neuron.e_min == math.frexp(math.exp(-10))[1]
    grid = 2.0 ** (neuron.e_min - 16)
    x = torch.tensor([-9.99, -12.0])
    y = neuron(x)
    assert y[0].item() == pytest.approx(math.floor(math.exp(-9.99) / grid + 0.5) * grid, rel=2**-15)
    assert y[1].item() == 0.0
    assert neuron.stats.underflow.item() == 1
    torch.testing.assert_close(neuron.spikes(x).sum(0), y)


def test_floor_rounding_rounds_the_line_down():
    x = torch.linspace(1e-3, 1e5, 10_001)
    floor = HGNeuron("reciprocal", rounding="floor")(x).double()
    nearest = HGNeuron("reciprocal")(x).double()
    ref = 1 / x.double()
    assert (floor <= nearest).all() and ((ref - floor).abs() / ref).max() <= 2.0**-15 + 2.0**-16


def test_grid_of_sub_ranges():
    """2^7 segments per binade of |x| (relative grid), width-capped segments where the error is absolute in x."""
    recip = HGNeuron.for_function("reciprocal", lo=1.0, hi=2.0)
    assert recip.n_gates == 1 + 128 + 128  # [0, 1) unused, binades [1, 2) and [2, 4)
    exp = HGNeuron.for_function("exp")
    assert (2.0**exp.time_steps / exp.bank.inv_cell[exp.bank.inv_cell > 0]).max().item() == 2.0**-7
    assert (exp.e_min, exp.e_max) == (-125, 1)
    assert recip.bank.thresholds.numel() == recip.e_max - recip.e_min + 1
    assert HGNeuron.for_function("identity").n_gates == 1


@pytest.mark.parametrize("name, x_star", [("gelu", -0.7517915246935645), ("gelu_tanh", -0.7524614220710162),
                                          ("silu", -1.278464542761074)])
def test_extrema_are_critical_points(name, x_star):
    x = torch.tensor(x_star, dtype=torch.float64, requires_grad=True)
    HG_FUNCTIONS[name].fn(x).backward()
    assert abs(x.grad.item()) < 1e-12


def test_observe_and_freeze_widen_range():
    neuron = HGNeuron.for_function("reciprocal")
    neuron.observing = True
    x = torch.tensor([5e-4, 3.0, 4e5, math.nan, math.inf])
    torch.testing.assert_close(neuron(x[:3]), 1 / x[:3])
    neuron(x)
    neuron.freeze(margin=2.0)
    assert neuron.range == (pytest.approx(2.5e-4), pytest.approx(8e5))
    assert not neuron.observing
    gelu = HGNeuron.for_function("gelu")
    gelu.observing = True
    gelu(torch.tensor([-1.0, 50.0]))
    gelu.freeze(margin=1.25)
    assert gelu.range == (-30.0, 62.5)  # never narrower than the declared range


def test_freeze_keeps_open_domain():
    neuron = HGNeuron.for_function("rsqrt")
    neuron.observing = True
    neuron(torch.tensor([0.0, 1.0]))
    neuron.freeze()
    assert neuron.range[0] == pytest.approx(1e-6)


def test_calibration_state_round_trip():
    a = HGNeuron.for_function("exp", lo=-20.0, hi=1.0)
    b = HGNeuron.for_function("exp")
    b.load_calibration_state(a.calibration_state())
    assert b.range == a.range and b.n_gates == a.n_gates
    assert torch.equal(b.bank.offset, a.bank.offset)


@pytest.mark.parametrize("kwargs, match", [
    ({"function": "softplus"}, "function must be one of"),
    ({"function": "exp", "lo": 1.0, "hi": 1.0}, "lo < hi"),
    ({"function": "exp", "lo": 2.0, "hi": 1.0}, "lo < hi"),
    ({"function": "exp", "lo": -math.inf}, "lo < hi"),
    ({"function": "reciprocal", "lo": 0.0}, "lo must be > 0"),
    ({"function": "sqrt", "lo": -1.0}, "lo must be >= 0"),
    ({"function": "exp", "time_steps": 0}, "time_steps"),
    ({"function": "exp", "rounding": "even"}, "rounding"),
])
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HGNeuron(**kwargs)


@HYP
@given(st.sampled_from(list(HG_FUNCTIONS)), st.lists(st.floats(-1e3, 1e3, width=32), min_size=1, max_size=32),
       st.integers(2, 23))
def test_any_k_decodes_its_spikes(name, values, k):
    neuron = HGNeuron.for_function(name, time_steps=k)
    x = torch.tensor(values)
    spikes = neuron.spikes(x)
    torch.testing.assert_close(spikes.sum(0), neuron(x), rtol=1e-6, atol=0)
    assert torch.equal(neuron.spike_count(x), (spikes != 0).sum(0).int())
    assert (neuron.spike_count(x) <= k).all()


def _hg_sample(neuron: HGNeuron) -> torch.Tensor:
    lo, hi = neuron.range
    generator = torch.Generator().manual_seed(5)
    span = hi - lo
    return torch.cat([torch.rand(20_000, generator=generator, dtype=torch.float64) * span * 1.2 + lo - 0.1 * span,
                      torch.randn(5_000, generator=generator, dtype=torch.float64)
                      * 10.0 ** torch.randint(-40, 6, (5_000,), generator=generator),
                      torch.tensor([0.0, -0.0, math.nan, math.inf, -math.inf, lo, hi, 1e-40, -1e-40])]).float()


@pytest.mark.parametrize("rounding", ["nearest", "floor"])
@pytest.mark.parametrize("k", [8, 16, 20])
@pytest.mark.parametrize("name", sorted(HG_FUNCTIONS))
def test_fast_eager_path_is_the_closed_form(name, k, rounding):
    """The eager path (range gates asked first, |y| rounded on its float pattern) gives the codes and counts of the
    full closed form (every selection made) bit for bit, in range and out of it; out = sign(y) c 2^(e-K)."""
    from lasnn.neurons import kernels

    neuron = HGNeuron(name, time_steps=k, rounding=rounding)
    sample = _hg_sample(neuron)
    lo, hi = neuron.range
    for x in (sample, sample[~torch.isnan(sample)].clamp(lo, hi)):
        args = neuron._kernel_args(torch.float64 if k > 16 else torch.float32)
        fast, slow = kernels._hg(x, *args, True, True), kernels._hg(x, *args, False, True)
        for a, b in zip(fast, slow):
            assert torch.equal(a.nan_to_num(7.0), b.nan_to_num(7.0)) and torch.equal(a.signbit(), b.signbit())
        out, c = fast[0], fast[1]
        e = kernels.output_octave(out.abs().to(args[0]), neuron.bank.thresholds.to(args[0]), neuron.e_min)
        unit = neuron.bank.unit.to(args[0])[e]
        finite = ~torch.isnan(out)
        assert torch.equal(out[finite].abs().to(args[0]), (c * unit)[finite])
