"""Greedy generation of the spiking model against its ANN, token for token."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn as nn

from ..convert.api import mode as run_mode
from ..modules.state import Mode, get_state


@dataclass
class Divergence:
    prompt: int
    step: int
    ann_token: int
    snn_token: int
    ann_margin: float


@dataclass
class GenerationComparison:
    """Greedy continuations of both modes; ``ann_margin`` is the ANN's top-1 minus top-2 logit where they part."""

    mode: str
    prompts: int
    new_tokens: int
    identical: int
    divergences: list[Divergence] = field(default_factory=list)
    ann_tokens: list[list[int]] = field(default_factory=list)
    snn_tokens: list[list[int]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        lines = [f"greedy generation, {self.mode} vs ann: {self.identical}/{self.prompts} prompts identical over {self.new_tokens} new tokens"]
        for d in self.divergences:
            lines.append(f"  prompt {d.prompt}: first differs at step {d.step} (ann {d.ann_token}, snn {d.snn_token}, ann logit margin {d.ann_margin:.4f})")
        return "\n".join(lines)


def _greedy(model: nn.Module, inputs: dict[str, torch.Tensor], new_tokens: int) -> tuple[list[int], list[torch.Tensor]]:
    out = model.generate(**inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                         output_scores=True, return_dict_in_generate=True, pad_token_id=model.config.pad_token_id or 0)
    prompt_length = inputs["input_ids"].shape[1]
    return out.sequences[0, prompt_length:].tolist(), [s[0] for s in out.scores]


def compare_greedy(model: nn.Module, prompts: list[dict[str, torch.Tensor]], new_tokens: int = 32, mode: str | None = None) -> GenerationComparison:
    """Greedy-decode every prompt (a dict with one sequence) in "ann" and in the spiking mode, with the KV cache."""
    state = get_state(model)
    spiking_mode = mode or (state.mode.value if state.mode is not Mode.ANN else Mode.EQUIVALENT.value)
    result = GenerationComparison(spiking_mode, len(prompts), new_tokens, 0)
    with torch.no_grad():
        for index, prompt in enumerate(prompts):
            with run_mode(model, Mode.ANN.value):
                ann, ann_scores = _greedy(model, prompt, new_tokens)
            with run_mode(model, spiking_mode):
                snn, _ = _greedy(model, prompt, new_tokens)
            result.ann_tokens.append(ann)
            result.snn_tokens.append(snn)
            step = next((i for i, (a, s) in enumerate(zip(ann, snn)) if a != s), None)
            if step is None:
                result.identical += 1
                continue
            top2 = ann_scores[step].float().topk(2).values
            result.divergences.append(Divergence(index, step, ann[step], snn[step], float(top2[0] - top2[1])))
    return result
