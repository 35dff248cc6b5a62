"""compile_kernels(True): the fused equivalent-mode paths agree with eager PyTorch."""

import shutil

import pytest
import torch

from lasnn.neurons import HGNeuron, OATNeuron, compile_kernels

pytestmark = pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None, reason="no C++ compiler")


@pytest.fixture
def compiled():
    compile_kernels(True)
    yield
    compile_kernels(False)


def test_fused_paths_match_eager(compiled):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(64, 96, generator=generator) * 3
    x[0, :4] = torch.tensor([float("nan"), 1e6, -1e6, 0.0])
    oat = OATNeuron.from_tensor(x[1:])
    silu = HGNeuron.for_function("silu")
    compile_kernels(False)
    eager_oat, eager_silu = oat(x), silu(x)
    eager_counts = oat.stats.to_dict()
    oat.reset_stats()
    compile_kernels(True)
    fused_oat, fused_silu = oat(x), silu(x)
    assert torch.equal(fused_oat.nan_to_num(7.0), eager_oat.nan_to_num(7.0))
    assert oat.stats.to_dict() == eager_counts
    finite = ~torch.isnan(x)
    assert torch.allclose(fused_silu[finite], eager_silu[finite], rtol=2 ** -15, atol=0)
