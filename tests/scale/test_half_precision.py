"""bf16 / fp16 models: neurons keep float32 thresholds and codes, synapses keep the model's dtype, and the SNN matches
the same-dtype ANN as closely as that dtype allows.

The issue's target, max |SNN - ANN| <= 1e-3 x std(logits), is below what a half-precision model can show: the ANN
itself rounds every activation to 8 (bf16) or 11 (fp16) significant bits, and the SNN rounds at other places (each
neuron computes in float32 and rounds its output to the model's dtype), so the two differ by the dtype's own rounding
noise. Measured on these tiny models (2 layers, hidden 64, 512 positions, CPU), as max |diff| / std(ANN logits):

    model  dtype  SNN vs ANN   ANN vs fp32 ANN   SNN vs fp32 ANN (equiv. / temporal)   top-1 SNN = ANN (eq. / temp.)
    llama  bf16   2.46e-2      2.28e-2           2.42e-2 / 2.23e-2                     99.41 % / 99.80 %
    llama  fp16   3.07e-3      2.78e-3           3.05e-3 / 3.70e-3                     100 % / 100 %
    gpt2   bf16   4.71e-2      2.58e-2           2.73e-2 / 2.47e-2                     100 % / 100 %
    gpt2   fp16   5.89e-3      3.40e-3           2.94e-3 / 3.32e-3                     100 % / 100 %
    bert   bf16   2.47e-2      4.04e-2           4.04e-2 / 4.04e-2                     99.61 % / 99.80 %
    bert   fp16   3.85e-3      4.95e-3           4.48e-3 / 4.48e-3                     100 % / 100 %

("SNN vs ANN" is the same in both modes; "fp32 ANN": the same weights upcast to float32.) So the target is missed by
25-47x in bf16 and 3-6x in fp16, and the SNN is about as far from the float32 model as the half-precision ANN is
(0.87x to 1.33x of it): the miss is the dtype's rounding, not the conversion's. The tests assert the measured
SNN-vs-ANN bounds (25 % headroom), top-1 >= 99 %, and SNN-vs-fp32 within 1.5x of the half-precision ANN's own
distance to fp32.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest
import torch
import transformers

import lasnn
from lasnn.neurons import Neuron

sys.path.insert(0, str(Path(__file__).parent.parent))
from tiny_models import tiny_model, token_batches  # noqa: E402

CONFIG = lasnn.LASConfig(calibration_sequences=8)
EVAL = token_batches(2, batch=4, length=64, seed=7)
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
# measured max |SNN - ANN| / std(ANN) in equivalent and temporal mode (see the table above)
MEASURED = {("llama", "bf16"): 2.46e-2, ("llama", "fp16"): 3.07e-3, ("gpt2", "bf16"): 4.71e-2,
            ("gpt2", "fp16"): 5.89e-3, ("bert", "bf16"): 2.47e-2, ("bert", "fp16"): 3.85e-3}
HEADROOM = 1.25


def _logits(model, mode: str | None = None) -> torch.Tensor:
    with torch.no_grad():
        if mode is None:
            return torch.cat([model(**batch).logits for batch in EVAL]).float()
        with lasnn.mode(model, mode):
            return torch.cat([model(**batch).logits for batch in EVAL]).float()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("family", ["llama", "gpt2", "bert"])
def test_half_precision_parity_is_at_the_dtypes_rounding_floor(family: str, dtype: str) -> None:
    model = tiny_model(family, dtype=DTYPES[dtype])
    reference = _logits(copy.deepcopy(model).float())  # the same weights in float32
    lasnn.convert(model, CONFIG, calibration_data=token_batches(2))
    neurons = [module for module in model.modules() if isinstance(module, Neuron)]
    thresholds = [value for neuron in neurons for value in neuron.calibration_state().values()]
    assert thresholds and all(value.dtype == torch.float32 for value in thresholds)  # codes on a float32 grid
    assert all(p.dtype == DTYPES[dtype] for p in model.parameters())  # synapses in the model's dtype
    ann = _logits(model, "ann")
    std = ann.std()
    ann_floor = (ann - reference).abs().max() / std
    for mode in ("equivalent", "temporal"):
        snn = _logits(model, mode)
        assert torch.isfinite(snn).all(), mode
        assert (snn - ann).abs().max() / std <= HEADROOM * MEASURED[family, dtype], mode
        assert (snn.argmax(-1) == ann.argmax(-1)).float().mean() >= 0.99, mode
        # the SNN is no farther from the float32 model than the half-precision ANN is
        assert (snn - reference).abs().max() / std <= 1.5 * ann_floor, mode


@pytest.mark.parametrize("dtype", DTYPES)
def test_half_precision_conversion_saves_loads_and_generates(dtype: str, tmp_path: Path) -> None:
    # loaded with from_pretrained, as a real checkpoint is: `.to(bf16)` would also round LLaMA's rotary inv_freq
    # buffer, which from_pretrained keeps in float32 (transformers' own ANN round trip then differs too)
    tiny_model("llama", dtype=DTYPES[dtype]).save_pretrained(tmp_path / "ann")
    model = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "ann").eval()
    assert model.dtype == DTYPES[dtype]
    lasnn.convert(model, CONFIG, calibration_data=token_batches(2))
    loaded = lasnn.load(lasnn.save(model, tmp_path / "snn", max_shard_size="200KB"))
    assert loaded.dtype == DTYPES[dtype]
    prompt = {key: value[:1, :6] for key, value in EVAL[0].items()}
    greedy = dict(max_new_tokens=6, do_sample=False, pad_token_id=0)
    with torch.no_grad():
        assert torch.equal(loaded(**EVAL[0]).logits, model(**EVAL[0]).logits)
        assert torch.equal(loaded.generate(**prompt, **greedy), model.generate(**prompt, **greedy))
