"""Spiking softmax: parity with torch.softmax, masks, temporal == equivalent, any row length, dtypes."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from ops_testing import DEVICES, generator, set_observing

from lasnn.ops import SoftmaxNeurons, spiking_softmax, spiking_softmax_spikes

PARITY = 1e-4  # contract: max abs error vs torch.softmax


def _scores(rows: int, keys: int, seed: int, device: str) -> torch.Tensor:
    """Rows spanning +-1e3: gaussian at scales 1..1000 (clipped), uniform in +-1e3, and near-ties under a far max."""
    g = generator(seed)
    scales = torch.tensor([1.0, 10.0, 100.0, 1000.0]).repeat_interleave((rows + 3) // 4)[:rows, None]
    s = (torch.randn(rows, keys, generator=g) * scales).clamp(-1e3, 1e3)
    s[0] = torch.rand(keys, generator=g) * 2e3 - 1e3
    s[1] = 1e3 - torch.rand(keys, generator=g) * 3  # thousands of keys sharing the mass
    s[1, ::7] = -1e3
    return s.to(device)


def _reference(scores: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
    s = scores.double()
    if keep is not None:
        s = s.masked_fill(~keep, float("-inf"))
    p = torch.softmax(s, -1)
    return torch.nan_to_num(p, nan=0.0)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("keys", [1, 7, 512, 8192])
def test_parity_with_torch(device, keys):
    scores = _scores(8, keys, keys, device)
    neurons = SoftmaxNeurons().to(device)
    p = spiking_softmax(scores, neurons)
    assert (p.double() - torch.softmax(scores.double(), -1)).abs().max() <= PARITY
    assert (p.double() - torch.softmax(scores, -1).double()).abs().max() <= PARITY
    assert int(neurons.exp.stats.out_of_range) == 0 and int(neurons.reciprocal.stats.out_of_range) == 0


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("keys", [3, 300, 2048])
def test_temporal_equals_equivalent(device, keys):
    scores = _scores(4, keys, 7 + keys, device)
    keep = torch.rand(4, keys, generator=generator(keys)).to(device) > 0.3
    neurons = SoftmaxNeurons().to(device)
    for mask in (None, keep):
        p = spiking_softmax(scores, neurons, mask=mask)
        train = spiking_softmax_spikes(scores, neurons, mask=mask)
        assert train.shape == (16, *scores.shape) and train.dtype == torch.float32
        torch.testing.assert_close(train.sum(0), p, rtol=2.0**-22, atol=0.0)


def _masks(scores: torch.Tensor, device: str) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """name -> (mask, keep) in the three supported conventions; row 2 fully masked."""
    g = generator(3)
    keep = torch.rand(scores.shape, generator=g) > 0.5
    keep[:, 0] = True
    keep[2] = False
    keep = keep.to(device)
    hf = torch.zeros(scores.shape, device=device).masked_fill(~keep, torch.finfo(torch.float32).min)
    return {
        "bool": (keep, keep),
        "hf_finfo_min": (hf, keep),
        "minus_inf": (torch.zeros_like(hf).masked_fill(~keep, float("-inf")), keep),
        "hf_finfo_min_fp16": (hf.clamp_min(torch.finfo(torch.float16).min).half(), keep),
    }


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["bool", "hf_finfo_min", "minus_inf", "hf_finfo_min_fp16"])
def test_masks(device, name):
    scores = _scores(6, 1000, 11, device)
    mask, keep = _masks(scores, device)[name]
    neurons = SoftmaxNeurons().to(device)
    p = spiking_softmax(scores, neurons, mask=mask)
    train = spiking_softmax_spikes(scores, neurons, mask=mask)
    assert not p.isnan().any() and not train.isnan().any()
    assert bool((p[~keep] == 0).all())  # masked: exactly 0 ...
    assert bool((train[:, ~keep] == 0).all())  # ... and no spikes
    assert bool((p[2] == 0).all())  # fully masked row -> zeros
    assert (p.double() - _reference(scores, keep)).abs().max() <= PARITY
    torch.testing.assert_close(train.sum(0), p, rtol=2.0**-22, atol=0.0)


@pytest.mark.parametrize("device", DEVICES)
def test_mask_broadcasts_and_scores_minus_inf(device):
    """A [B, 1, L, S] mask broadcasts over heads; a mask already added to the scores (-inf or finfo.min) masks."""
    g = generator(5)
    scores = (torch.randn(2, 3, 4, 9, generator=g) * 5).to(device)
    keep = (torch.rand(2, 1, 4, 9, generator=g) > 0.4).to(device)
    keep[..., 0] = True
    neurons = SoftmaxNeurons().to(device)
    p = spiking_softmax(scores, neurons, mask=keep)
    assert (p.double() - _reference(scores, keep.expand_as(scores))).abs().max() <= PARITY
    for fill in (float("-inf"), torch.finfo(torch.float32).min):
        torch.testing.assert_close(spiking_softmax(scores.masked_fill(~keep, fill), neurons), p, rtol=0, atol=0)
        empty = torch.full((2, 5), fill, device=device)
        assert bool((spiking_softmax(empty, neurons) == 0).all())
        assert bool((spiking_softmax_spikes(empty, neurons) == 0).all())
    nan_row = scores[0, 0].clone()
    nan_row[0, 3] = float("nan")
    assert bool(spiking_softmax(nan_row, neurons)[0].isnan().all())  # NaN is never hidden


@pytest.mark.parametrize("device", DEVICES)
def test_rows_longer_than_ever_seen(device):
    """The reciprocal's range follows the row length: no clamping on a row of 2^17 + 3 keys."""
    neurons = SoftmaxNeurons().to(device)
    spiking_softmax(_scores(4, 16, 1, device), neurons)
    for keys, temporal in ((2**17 + 3, False), (5000, True)):
        scores = (torch.randn(1, keys, generator=generator(keys)) * 0.01).to(device)  # nearly uniform: sum ~ keys
        for m in (neurons.exp, neurons.reciprocal, neurons.prob):
            m.reset_stats()
        p = spiking_softmax_spikes(scores, neurons).sum(0) if temporal else spiking_softmax(scores, neurons)
        assert (p.double() - torch.softmax(scores.double(), -1)).abs().max() <= PARITY
        rel = ((p.double() - torch.softmax(scores.double(), -1)).abs() / torch.softmax(scores.double(), -1)).max()
        assert rel <= 6 * 2.0**-16  # relative accuracy holds even for probabilities ~ 1/keys
        assert int(neurons.reciprocal.stats.out_of_range) == 0
        assert neurons.reciprocal.range[1] >= keys


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_in_same_dtype_out(device, dtype):
    scores = _scores(4, 300, 13, device).to(dtype)
    keep = torch.ones(scores.shape, dtype=torch.bool, device=device)
    keep[:, ::3] = False
    mask = torch.zeros(scores.shape, dtype=dtype, device=device).masked_fill(~keep, torch.finfo(dtype).min)
    neurons = SoftmaxNeurons().to(device)
    p = spiking_softmax(scores, neurons, mask=mask)
    assert p.dtype == dtype
    ref = _reference(scores.float(), keep)
    assert ((p.double() - ref).abs() <= PARITY + ref * torch.finfo(dtype).eps).all()
    assert bool((p[~keep] == 0).all())
    torch.testing.assert_close(spiking_softmax_spikes(scores, neurons, mask=mask).sum(0).to(dtype), p, rtol=0, atol=0)


@pytest.mark.parametrize("device", DEVICES)
def test_dim_argument(device):
    scores = _scores(4, 6, 17, device)
    neurons = SoftmaxNeurons().to(device)
    expected = spiking_softmax(scores, neurons).T
    torch.testing.assert_close(spiking_softmax(scores.T, neurons, dim=0), expected, rtol=0, atol=0)
    torch.testing.assert_close(spiking_softmax_spikes(scores.T, neurons, dim=0).sum(0), expected, rtol=0, atol=0)


def test_observing_is_exact_softmax():
    scores = _scores(4, 100, 19, "cpu")
    neurons = SoftmaxNeurons()
    set_observing(neurons, True)
    torch.testing.assert_close(spiking_softmax(scores, neurons), torch.softmax(scores, -1), rtol=1e-6, atol=1e-7)


def test_time_steps_set_the_train_length():
    scores = _scores(2, 10, 23, "cpu")
    neurons = SoftmaxNeurons(time_steps=8)
    assert spiking_softmax_spikes(scores, neurons).shape == (8, 2, 10)
    assert (spiking_softmax(scores, neurons).double() - torch.softmax(scores.double(), -1)).abs().max() <= 6 * 2.0**-8


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    time_steps=st.sampled_from([2, 8, 16, 20]),
    rows=st.integers(1, 4),
    keys=st.integers(1, 200),
    scale=st.sampled_from([0.0, 1.0, 30.0, 1000.0]),
    masked_fraction=st.sampled_from([0.0, 0.5, 1.0]),
    seed=st.integers(0, 2**16),
)
def test_property_temporal_equals_equivalent(time_steps, rows, keys, scale, masked_fraction, seed):
    g = generator(seed)
    scores = torch.randn(rows, keys, generator=g) * scale
    keep = torch.rand(rows, keys, generator=g) >= masked_fraction
    neurons = SoftmaxNeurons(time_steps)
    p = spiking_softmax(scores, neurons, mask=keep)
    train = spiking_softmax_spikes(scores, neurons, mask=keep)
    torch.testing.assert_close(train.sum(0), p, rtol=2.0**-22, atol=0.0)
    assert bool((train[:, ~keep] == 0).all()) and bool((p[~keep] == 0).all())
    assert not p.isnan().any()
    # output codes (6 * 2^-K) and the fitted lines of the exp and reciprocal neurons (<= 2^-16 each)
    assert (p.double() - _reference(scores, keep)).abs().max() <= 6 * 2.0**-time_steps + 2 * 2.0**-16
