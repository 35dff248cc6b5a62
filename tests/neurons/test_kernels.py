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
    assert torch.equal(fused_silu[finite], eager_silu[finite])


def test_audit_sees_the_eager_ops_while_kernels_are_compiled(compiled):
    import lasnn
    from tiny_models import tiny_model, token_batches

    model = tiny_model("llama")
    batch = token_batches(1)[0]
    with torch.no_grad():
        ann = model(**batch).logits
    lasnn.convert(model, lasnn.LASConfig(calibration_sequences=8), token_batches(2))
    with lasnn.mode(model, "equivalent"):
        report = lasnn.audit(model, batch)
        fused = model(**batch).logits
    assert report.clean and report.ops_checked > 0, str(report)
    compile_kernels(False)
    with torch.no_grad(), lasnn.mode(model, "equivalent"):
        eager = model(**batch).logits
    assert torch.allclose(fused, eager, rtol=1e-4, atol=1e-4 * float(ann.abs().max()))
