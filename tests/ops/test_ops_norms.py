"""Spiking LayerNorm / RMSNorm: float formula while observing, parity after calibration, temporal == equivalent.

Parity. The contract asks max |y - ref| / rms(ref) <= 1e-4 per row on 4096-wide rows holding outliers 1000x the
median. At K = 16 that is out of reach of any 16-bit code: an outlier channel normalises to |y| ~ sqrt(4096 / n)
rms (32 for 4 outliers) and its code carries a relative error up to ~2^-17 * theta/|x| (x2 with the centred
re-encoding), i.e. ~1e-3 of rms(ref). So the tests check (a) at K = 16, every element is within the error
budget of the neurons' grids (a per-element bound from the calibrated thresholds, see `_layer_norm_bound`), and
(b) the 1e-4 contract target at K = 20.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from ops_testing import DEVICES, generator, oat_step, outlier_rows, row_relative_error, set_observing

from lasnn.neurons import calibrate_neurons as calibrate
from lasnn.ops import NormNeurons, spiking_layer_norm, spiking_rms_norm

WIDTH = 4096
PARITY = 1e-4


def _affine(width: int, seed: int, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    g = generator(seed)
    return (1 + 0.2 * torch.randn(width, generator=g)).to(device), (0.1 * torch.randn(width, generator=g)).to(device)


def _rms_reference(x: torch.Tensor, weight: torch.Tensor | None, eps: float, unit_offset: bool) -> torch.Tensor:
    x = x.double()
    y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    if weight is None:
        return y
    return y * (1 + weight.double() if unit_offset else weight.double())


def _layer_norm(x, weight, bias, eps, neurons, temporal=False):
    return spiking_layer_norm(x, x.shape[-1], weight, bias, eps, neurons, temporal=temporal)


def _layer_norm_bound(x, weight, eps, neurons) -> torch.Tensor:
    """Per-element worst-case error of the spiking LayerNorm from its neurons' grids.

    ĉ - c* = (δx - mean δx) + δc with |δ| <= half a grid step of the routed OAT branch. v carries the
    square's 2^-K, 2 mean(c* δx) and mean((δx - mean δx)^2); the rsqrt adds its own 2^-K and halves v's.
    """
    k = neurons.input.time_steps
    xd = x.double()
    c = xd - xd.mean(-1, keepdim=True)
    r = torch.rsqrt(c.pow(2).mean(-1, keepdim=True) + eps)
    dx = oat_step(neurons.input, xd) / 2
    dx_mean = dx.mean(-1, keepdim=True)
    dc = oat_step(neurons.centered, c) / 2
    rel_v = 2.0**-k + r**2 * (2 * (c.abs() * dx).mean(-1, keepdim=True) + (dx + dx_mean).pow(2).mean(-1, keepdim=True))
    eps_r = 2.0**-k + rel_v / 2
    w = 1.0 if weight is None else weight.double().abs()
    return w * (r * (dx + dx_mean + dc) + (c * r).abs() * eps_r) * (1 + 2.0**-10) + 1e-6


def _rms_norm_bound(x, weight, eps, neurons, unit_offset) -> torch.Tensor:
    """Per-element worst-case error of the spiking RMSNorm: input code step / 2, rsqrt 2^-K + square 2^-K / 2."""
    k = neurons.input.time_steps
    xd = x.double()
    r = torch.rsqrt(xd.pow(2).mean(-1, keepdim=True) + eps)
    w = 1.0 if weight is None else (1 + weight.double() if unit_offset else weight.double()).abs()
    return w * (r * oat_step(neurons.input, xd) / 2 + (xd * r).abs() * 1.5 * 2.0**-k) * (1 + 2.0**-10) + 1e-6


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_observing_is_float_formula(device, affine):
    x = outlier_rows(4, 256, 1).to(device)
    weight, bias = _affine(256, 2, device) if affine else (None, None)
    neurons = NormNeurons.layer_norm().to(device)
    set_observing(neurons, True)
    y = _layer_norm(x, weight, bias, 1e-5, neurons)
    torch.testing.assert_close(y, F.layer_norm(x, (256,), weight, bias, 1e-5), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("unit_offset", [False, True])
def test_rms_norm_observing_is_float_formula(device, unit_offset):
    x = outlier_rows(4, 256, 3).to(device)
    weight, _ = _affine(256, 4, device)
    neurons = NormNeurons.rms_norm().to(device)
    set_observing(neurons, True)
    y = spiking_rms_norm(x, weight, 1e-6, neurons, unit_offset=unit_offset)
    torch.testing.assert_close(y.double(), _rms_reference(x, weight, 1e-6, unit_offset), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("affine", "eps"), [(True, 1e-5), (False, 1e-12), (True, 1e-2)])
def test_layer_norm_within_grid_budget_at_k16(device, affine, eps):
    x = outlier_rows(8, WIDTH, 5).to(device)
    weight, bias = _affine(WIDTH, 6, device) if affine else (None, None)
    neurons = NormNeurons.layer_norm().to(device)
    calibrate(neurons, lambda: _layer_norm(x, weight, bias, eps, neurons))
    y = _layer_norm(x, weight, bias, eps, neurons)
    ref = F.layer_norm(x.double(), (WIDTH,), None if weight is None else weight.double(),
                       None if bias is None else bias.double(), eps)
    assert bool(((y.double() - ref).abs() <= _layer_norm_bound(x, weight, eps, neurons)).all())
    assert row_relative_error(y, ref).max() <= 2e-3  # what the bound amounts to on these rows
    assert sum(int(n.stats.clamped) + int(n.stats.out_of_range) for n in
               (neurons.input, neurons.centered, neurons.square, neurons.rsqrt)) == 0


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("weighted", "unit_offset"), [(True, False), (True, True), (False, False)])
def test_rms_norm_within_grid_budget_at_k16(device, weighted, unit_offset):
    x = outlier_rows(8, WIDTH, 7).to(device)
    weight = _affine(WIDTH, 8, device)[0] - (1 if unit_offset else 0) if weighted else None
    neurons = NormNeurons.rms_norm().to(device)
    calibrate(neurons, lambda: spiking_rms_norm(x, weight, 1e-6, neurons, unit_offset=unit_offset))
    y = spiking_rms_norm(x, weight, 1e-6, neurons, unit_offset=unit_offset)
    ref = _rms_reference(x, weight, 1e-6, unit_offset)
    assert bool(((y.double() - ref).abs() <= _rms_norm_bound(x, weight, 1e-6, neurons, unit_offset)).all())


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kind", ["layer_norm", "rms_norm"])
def test_contract_parity_target_at_k20(device, kind):
    """max |y - ref| / rms(ref) <= 1e-4 per row, 4096 wide, outliers 1000x the median, calibrated on the data."""
    x = outlier_rows(16, WIDTH, 9).to(device)
    weight, bias = _affine(WIDTH, 10, device)
    neurons = getattr(NormNeurons, kind)(time_steps=20).to(device)
    if kind == "layer_norm":
        run = lambda: _layer_norm(x, weight, bias, 1e-5, neurons)  # noqa: E731
        ref = F.layer_norm(x.double(), (WIDTH,), weight.double(), bias.double(), 1e-5)
    else:
        run = lambda: spiking_rms_norm(x, weight, 1e-5, neurons)  # noqa: E731
        ref = _rms_reference(x, weight, 1e-5, False)
    calibrate(neurons, run)
    assert row_relative_error(run(), ref).max() <= PARITY


@pytest.mark.parametrize("device", DEVICES)
def test_temporal_equals_equivalent(device):
    x = outlier_rows(4, 1024, 11).to(device)
    weight, bias = _affine(1024, 12, device)
    ln, rms = NormNeurons.layer_norm().to(device), NormNeurons.rms_norm().to(device)
    calibrate(ln, lambda: _layer_norm(x, weight, bias, 1e-5, ln))
    calibrate(rms, lambda: spiking_rms_norm(x, weight, 1e-5, rms))
    torch.testing.assert_close(_layer_norm(x, weight, bias, 1e-5, ln, temporal=True),
                               _layer_norm(x, weight, bias, 1e-5, ln), rtol=2.0**-22, atol=0)
    for unit_offset in (False, True):
        torch.testing.assert_close(spiking_rms_norm(x, weight, 1e-5, rms, unit_offset, temporal=True),
                                   spiking_rms_norm(x, weight, 1e-5, rms, unit_offset), rtol=2.0**-22, atol=0)


@pytest.mark.parametrize("device", DEVICES)
def test_temporal_close_to_equivalent_beyond_float32_codes(device):
    """K > 23: neurons compute in float64 but decoded values and spikes are float32, so both modes round at 2^-24."""
    x = outlier_rows(4, 1024, 16).to(device)
    for _, run in _both_norms(x, 28, device):
        y = run()
        scale = float(y.pow(2).mean().sqrt())
        torch.testing.assert_close(run(temporal=True), y, rtol=2.0**-20, atol=2.0**-20 * scale)


def _both_norms(x, time_steps, device):
    """[(neurons, run(temporal=False))] for a calibrated LayerNorm and RMSNorm on x."""
    weight, bias = _affine(x.shape[-1], 17, device)
    ln, rms = NormNeurons.layer_norm(time_steps).to(device), NormNeurons.rms_norm(time_steps).to(device)
    pairs = [
        (ln, lambda temporal=False: _layer_norm(x, weight, bias, 1e-5, ln, temporal)),
        (rms, lambda temporal=False: spiking_rms_norm(x, weight, 1e-5, rms, temporal=temporal)),
    ]
    for neurons, run in pairs:
        calibrate(neurons, run)
    return pairs


@pytest.mark.parametrize("device", DEVICES)
def test_normalized_shape_tuple(device):
    x = outlier_rows(6, 64, 13).to(device).reshape(2, 3, 8, 8)
    neurons = NormNeurons.layer_norm().to(device)
    calibrate(neurons, lambda: spiking_layer_norm(x, (8, 8), None, None, 1e-5, neurons))
    for temporal in (False, True):
        y = spiking_layer_norm(x, (8, 8), None, None, 1e-5, neurons, temporal=temporal)
        ref = F.layer_norm(x.double(), (8, 8), eps=1e-5)
        assert row_relative_error(y.flatten(-2), ref.flatten(-2)).max() <= 2e-3


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_in_same_dtype_out(device, dtype):
    x = (torch.randn(4, 512, generator=generator(14)) * 3).to(device, dtype)
    weight, bias = (t.to(dtype) for t in _affine(512, 15, device))
    ln, rms = NormNeurons.layer_norm().to(device), NormNeurons.rms_norm().to(device)
    calibrate(ln, lambda: spiking_layer_norm(x, 512, weight, bias, 1e-5, ln))
    calibrate(rms, lambda: spiking_rms_norm(x, weight, 1e-5, rms))
    for temporal in (False, True):
        y = spiking_layer_norm(x, 512, weight, bias, 1e-5, ln, temporal=temporal)
        z = spiking_rms_norm(x, weight, 1e-5, rms, temporal=temporal)
        assert y.dtype == dtype and z.dtype == dtype
        ref = F.layer_norm(x.float(), (512,), weight.float(), bias.float(), 1e-5)
        assert row_relative_error(y, ref).max() <= 2 * torch.finfo(dtype).eps * 8


def test_bad_arguments():
    with pytest.raises(ValueError, match="layer_norm"):
        spiking_layer_norm(torch.randn(2, 8), 8, None, None, 1e-5, NormNeurons.rms_norm())
    with pytest.raises(ValueError, match="normalized_shape"):
        spiking_layer_norm(torch.randn(2, 8), (2, 8, 8), None, None, 1e-5, NormNeurons.layer_norm())


def test_uncalibrated_oat_raises():
    with pytest.raises(RuntimeError, match="not calibrated"):
        spiking_rms_norm(torch.randn(2, 8), None, 1e-5, NormNeurons.rms_norm())


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    time_steps=st.sampled_from([1, 4, 8, 16, 23]),
    width=st.integers(2, 300),
    n_outliers=st.integers(0, 3),
    scale=st.sampled_from([1e-3, 1.0, 50.0]),
    eps=st.sampled_from([1e-12, 1e-6, 1e-2]),
    layer_norm=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_property_temporal_equals_equivalent(time_steps, width, n_outliers, scale, eps, layer_norm, seed):
    x = outlier_rows(3, width, seed, n_outliers=min(n_outliers, width)) * scale
    weight, bias = _affine(width, seed + 1, "cpu")
    if layer_norm:
        neurons = NormNeurons.layer_norm(time_steps)
        run = lambda temporal=False: _layer_norm(x, weight, bias, eps, neurons, temporal)  # noqa: E731
    else:
        neurons = NormNeurons.rms_norm(time_steps)
        run = lambda temporal=False: spiking_rms_norm(x, weight, eps, neurons, temporal=temporal)  # noqa: E731
    calibrate(neurons, run)
    torch.testing.assert_close(run(temporal=True), run(), rtol=2.0**-22, atol=1e-30)
