"""One-off conversion of a GGUF causal LM into a plain fp32 Hugging Face folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch

from lasnn.assets._ui import console

if TYPE_CHECKING:
    from transformers import PreTrainedModel


def gguf_to_fp32(gguf: Path, out: Path) -> None:
    """Dequantise ``gguf`` and save it to ``out`` as fp32 safetensors, config and tokenizer.

    ``save_pretrained`` refuses a model that still carries its GGUF quantization config,
    so the weights are moved into a model built from the same config without it.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    console.print(f"Dequantising {gguf.name} to fp32 safetensors (once; about 20 s on 2 cores)")
    quantised = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32, local_files_only=True, trust_remote_code=False
    )
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name, local_files_only=True,
                                              trust_remote_code=False)
    _without_quantization_config(quantised).save_pretrained(out)
    tokenizer.save_pretrained(out)


def _without_quantization_config(model: PreTrainedModel) -> PreTrainedModel:
    """A copy of ``model`` whose config carries no ``quantization_config``, holding the same weights."""
    from transformers import AutoModelForCausalLM

    settings = model.config.to_dict()
    settings.pop("quantization_config", None)
    plain = AutoModelForCausalLM.from_config(type(model.config).from_dict(settings), dtype=torch.float32,
                                                trust_remote_code=False)
    plain.load_state_dict(model.state_dict(), strict=True)
    plain.generation_config = model.generation_config
    return plain.eval()
