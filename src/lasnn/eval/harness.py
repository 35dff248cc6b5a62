"""lm-evaluation-harness bridge: the ``lasnn`` model runs any lm-eval task on the spiking model.

Installing lasnn registers the model with lm-eval (through the startup hook ``_lasnn_harness_hook``, since lm-eval
reads no plugin entry points), so the plain command works::

    lm_eval --model lasnn --model_args pretrained=smollm2-135m,time_steps=16 --tasks ...

From Python, ``lm_eval.simple_evaluate(model="lasnn", model_args="pretrained=...")``; where ``.pth`` files are not
read (``python -S``), ``import lasnn.eval.harness`` first.

model_args: ``pretrained`` (a pinned model name, a local HF folder, or a folder written by ``lasnn.save``),
``mode`` (equivalent | temporal | ann), ``time_steps`` (K), ``code`` (binary | naf), ``rounding``, ``quantile``, ``paper`` (the paper's
fixed 10 / 500 thresholds), ``calibration`` (shakespeare:WORK, polarity or a .txt path; default
shakespeare:macbeth), ``calibration_sequences`` (default 8) and ``calibration_length`` (default 256 tokens),
and every HFLM argument (batch_size, max_length, device, ...).

Data parallel: under ``accelerate launch`` or ``torchrun`` (more than one process, gloo on CPU, NCCL on GPU), every
process loads the model on its own device (``device`` is ignored), converts it with its share of the calibration
sequences (the observers are reduced across the processes, so every process freezes the thresholds of one process
calibrating on all of them; see :mod:`lasnn.convert.distributed`) or loads the saved conversion, and scores its
share of the requests: lm-eval's evaluator splits them by ``rank`` / ``world_size`` and gathers the results.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import torch
from lm_eval.api.registry import register_model
from lm_eval.models.huggingface import HFLM

from ..config import LASConfig
from ..modules.state import parse_mode
from .loading import load_spiking


def _flag(name: str, value: Any) -> bool:
    """A true / false model_arg (lm-eval passes "true", True, 1, ...)."""
    text = str(value).lower()
    if text in ("1", "true", "yes"):
        return True
    if text in ("0", "false", "no"):
        return False
    raise ValueError(f"model_args: {name} must be true or false, got {value!r}")


def _number(name: str, value: Any, kind: type[int] | type[float]) -> Any:
    """An int or float model_arg, with an error naming the argument."""
    try:
        return kind(value)
    except (TypeError, ValueError):
        expected = "an integer" if kind is int else "a number"
        raise ValueError(f"model_args: {name} must be {expected}, got {value!r}") from None


def _device(requested: str | None) -> torch.device:
    """The requested device; lm-eval asks for "cuda" by default, which falls back to the CPU when there is none."""
    if not requested or (str(requested).startswith("cuda") and not torch.cuda.is_available()):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


def _has_accelerator() -> bool:
    accelerator = getattr(torch, "accelerator", None)
    return bool(accelerator.is_available()) if accelerator is not None else torch.cuda.is_available()


def _accelerator() -> Any:
    """accelerate's Accelerator when launched with more than one process (accelerate launch, torchrun), else None.

    HFLM builds one only for a model it loads itself (and uses it only with several GPUs); a built model is scored by
    every process whole unless its LM takes rank and world size from accelerate, as LASNNLM does.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return None
    from accelerate import Accelerator, InitProcessGroupKwargs

    # without a GPU (or with accelerate launch --cpu) the processes run on the CPU over gloo; accelerate picks that
    # only when asked (cpu=True), else it stays single-process
    on_cpu = os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true", "yes") or not _has_accelerator()
    accelerator = Accelerator(cpu=on_cpu, kwargs_handlers=[InitProcessGroupKwargs(timeout=timedelta(weeks=52))])
    return accelerator if accelerator.num_processes > 1 else None


@register_model("lasnn")
class LASNNLM(HFLM):
    """HFLM whose model is the lasnn-converted one: loglikelihood, loglikelihood_rolling and generate_until all run
    through the spiking model (in ``mode``), with the KV cache for generation."""

    def __init__(self, pretrained: str, mode: str = "equivalent", time_steps: int = 16, rounding: str | None = None,
                 quantile: float | None = None, paper: bool | str = False, calibration: str | None = None,
                 calibration_sequences: int = 8, calibration_length: int = 256, code: str = "binary",
                 device: str | None = None, **kwargs: Any) -> None:
        parse_mode(str(mode))
        overrides: dict[str, Any] = {"time_steps": _number("time_steps", time_steps, int), "code": str(code)}
        if rounding is not None:
            overrides["rounding"] = str(rounding)
        if quantile is not None:
            overrides["quantile"] = _number("quantile", quantile, float)
        config = LASConfig.paper(**overrides) if _flag("paper", paper) else LASConfig(**overrides)
        sequences = _number("calibration_sequences", calibration_sequences, int)
        length = _number("calibration_length", calibration_length, int)
        accelerator = _accelerator()
        shard = (accelerator.process_index, accelerator.num_processes) if accelerator is not None else None
        model, tokenizer, info = load_spiking(str(pretrained), "causal-lm", config, calibration, sequences, length,
                                              str(mode), shard=shard)
        model.to(accelerator.device if accelerator is not None else _device(device))
        kwargs.pop("tokenizer", None)
        kwargs.pop("backend", None)
        super().__init__(pretrained=model, tokenizer=tokenizer, backend="causal", **kwargs)
        if accelerator is not None:  # HFLM set rank 0 / world size 1 for the built model: each process takes its share
            self.accelerator = accelerator
            self._device = accelerator.device
            self._rank = accelerator.process_index
            self._world_size = accelerator.num_processes
        self.lasnn_info = {**info, "mode": str(mode)}
        if accelerator is not None:
            self.lasnn_info["processes"] = accelerator.num_processes

    def get_model_info(self) -> dict[str, Any]:
        return {**super().get_model_info(), "lasnn": self.lasnn_info}

