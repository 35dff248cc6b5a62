"""Models for the report and the studies: named / HF folder (converted here) or a lasnn.save folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from ..assets import load_model
from ..config import LASConfig
from ..convert import convert, load
from ..convert.persist import MANIFEST
from .data import read_text, token_windows


def load_ann(spec: str) -> tuple[nn.Module, Any]:
    """(model, tokenizer) of a named model or a local Hugging Face folder, float32, eval mode."""
    return load_model(spec)


def prepare(spec: str, data: str, sequences: int, length: int, batch_size: int, calibration_sequences: int,
            time_steps: int = 16, code: str = "binary") -> tuple[nn.Module, Any, list[dict[str, Any]]]:
    """A converted model, its tokenizer and the evaluation batches.

    A lasnn.save folder is loaded as saved (``time_steps`` and ``code`` ignored); anything else is converted with
    ``LASConfig(time_steps, calibration_sequences, code)`` on the windows that follow the evaluation windows.
    """
    saved = Path(spec).expanduser()
    if (saved / MANIFEST).is_file():
        from ..assets.models import load_tokenizer

        model = load(saved)
        try:
            tokenizer = load_tokenizer(saved)
        except (OSError, ValueError):
            raise ValueError(f"{saved} holds no tokenizer; save it with lasnn.save(model, folder, tokenizer=...)") from None
        return model, tokenizer, token_windows(tokenizer, read_text(data), sequences, length, batch_size)
    config = LASConfig(time_steps=time_steps, calibration_sequences=calibration_sequences, code=code)
    model, tokenizer = load_ann(spec)
    text = read_text(data)
    batches = token_windows(tokenizer, text, sequences, length, batch_size)
    calibration = token_windows(tokenizer, text, calibration_sequences, length, batch_size, skip=sequences)
    return convert(model, config, calibration_data=calibration), tokenizer, batches


Calibration = tuple[LASConfig, list[list[str]], dict[str, Any]]


def calibration_of(model: nn.Module) -> Calibration:
    """(config, shared site groups, every neuron's calibration state) of a converted model."""
    from ..modules.state import get_state
    from ..neurons import Neuron

    state = get_state(model)
    tensors = {f"{name}:{key}": value.detach().cpu().clone() for name, module in model.named_modules()
               if isinstance(module, Neuron) for key, value in module.calibration_state().items()}
    return state.config, [list(group) for group in state.shared_inputs], tensors


def reconvert(spec: str, calibration: Calibration, **config_changes: Any) -> nn.Module:
    """A fresh ANN of ``spec`` converted with a known calibration and ``config_changes`` (e.g. time_steps).

    OAT thresholds (a quantile and the max of |x|) and HG ranges do not depend on K; thresholds calibrated at K
    carry at most 24 - K significant bits, so they are exact for every K' <= K.
    """
    from dataclasses import replace

    from ..convert.persist import attach

    config, shared, tensors = calibration
    model, _ = load_ann(spec)
    return attach(model, replace(config, **config_changes), shared, tensors)
