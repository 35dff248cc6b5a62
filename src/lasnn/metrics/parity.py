"""Parity: the spiking model against its own ANN on the same batch, output by output and layer by layer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn as nn

from ..convert.api import mode as run_mode
from ..convert.inputs import validate_batch
from ..modules.state import Mode, spiking_mode


@dataclass
class TensorDiff:
    """Differences of ``output`` from ``reference`` over valid positions; ``rel`` values are relative to std(reference)."""

    max_abs: float
    mean_abs: float
    max_rel: float
    mean_rel: float
    reference_std: float

    @classmethod
    def between(cls, reference: torch.Tensor, output: torch.Tensor) -> TensorDiff:
        reference, output = reference.double(), output.double()
        diff = (output - reference).abs()
        std = float(reference.std()) if reference.numel() > 1 else float(reference.abs().max())
        scale = std if std > 0 else 1.0
        return cls(float(diff.max()), float(diff.mean()), float(diff.max()) / scale, float(diff.mean()) / scale, std)


@dataclass
class ParityReport:
    """The spiking mode against "ann" on one batch."""

    mode: str
    output: str
    positions: int
    diff: TensorDiff
    top1_agreement: float | None
    cosine_min: float
    per_layer: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        d = self.diff
        lines = [
            f"parity of {self.mode} vs ann on {self.output} ({self.positions} positions)",
            f"  max |diff|     {d.max_abs:.3e}   ({d.max_rel:.3e} x std)",
            f"  mean |diff|    {d.mean_abs:.3e}   ({d.mean_rel:.3e} x std)",
            f"  min cosine     {self.cosine_min:.7f}",
        ]
        if self.top1_agreement is not None:
            lines.append(f"  top-1 agree    {100 * self.top1_agreement:.3f} %")
        for layer in self.per_layer:
            lines.append(f"  {layer['name']:<14} max |diff| {layer['max_abs']:.3e}  ({layer['max_rel']:.3e} x std)")
        return "\n".join(lines)


def _primary(outputs: Any) -> tuple[str, torch.Tensor]:
    for name in ("logits", "last_hidden_state"):
        value = getattr(outputs, name, None)
        if isinstance(value, torch.Tensor):
            return name, value
    raise ValueError(f"cannot find logits or last_hidden_state in the model output {type(outputs).__name__}")


def _valid(tensor: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Rows of ``tensor`` [B, T, ...] at attended positions, flattened to [N, ...]; [B, C] outputs pass through."""
    if mask is None or tensor.dim() < 3 or tensor.shape[:2] != mask.shape:
        return tensor.reshape(-1, tensor.shape[-1])
    return tensor[mask.bool()]


def compare(reference: torch.Tensor, output: torch.Tensor, mask: torch.Tensor | None) -> tuple[TensorDiff, float | None, float]:
    """(differences, top-1 agreement or None, minimum row cosine) over attended positions."""
    ref, out = _valid(reference, mask).float(), _valid(output, mask).float()
    top1 = float((ref.argmax(-1) == out.argmax(-1)).double().mean()) if ref.shape[-1] > 1 else None
    cosine = float(torch.nn.functional.cosine_similarity(ref.double(), out.double(), dim=-1).min())
    return TensorDiff.between(ref, out), top1, cosine


def forward_both(model: nn.Module, batch: Mapping[str, Any], mode: str, **kwargs: Any) -> tuple[Any, Any]:
    """The model's outputs on ``batch`` in "ann" and in ``mode`` (no gradients)."""
    with torch.no_grad():
        with run_mode(model, Mode.ANN.value):
            reference = model(**batch, **kwargs)
        with run_mode(model, mode):
            output = model(**batch, **kwargs)
    return reference, output


def parity(model: nn.Module, batch: Mapping[str, Any], mode: str | None = None) -> ParityReport:
    """Run "ann" and the spiking mode (the current one, or ``mode``) on ``batch`` and compare them."""
    spiking = spiking_mode(model, mode)
    batch = validate_batch(model, batch)
    reference, output = forward_both(model, batch, spiking, output_hidden_states=True)
    mask = batch.get("attention_mask")
    name, ref_tensor = _primary(reference)
    _, out_tensor = _primary(output)
    diff, top1, cosine = compare(ref_tensor, out_tensor, mask)
    per_layer = []
    ref_hidden = getattr(reference, "hidden_states", None) or ()
    out_hidden = getattr(output, "hidden_states", None) or ()
    for index, (r, o) in enumerate(zip(ref_hidden, out_hidden)):
        layer_diff, _, _ = compare(r, o, mask)
        label = "embeddings" if index == 0 else f"layer {index - 1}"
        per_layer.append({"name": label, **asdict(layer_diff)})
    positions = int(mask.sum()) if mask is not None and ref_tensor.dim() >= 3 else int(_valid(ref_tensor, None).shape[0])
    return ParityReport(spiking, name, positions, diff, top1, cosine, per_layer)


@dataclass
class ParityStats:
    """Running parity of the spiking outputs against the ANN's.

    Maxima and the minimum cosine are over all batches; means and top-1 agreement are weighted by positions;
    ``*_rel`` values are relative to each batch's std of the ANN output.
    """

    positions: int = 0
    max_abs: float = 0.0
    max_rel: float = 0.0
    _sum_abs: float = 0.0
    _sum_rel: float = 0.0
    _top1: float = 0.0
    _has_top1: bool = False
    cosine_min: float = 1.0

    def update(self, reference: torch.Tensor, output: torch.Tensor, mask: torch.Tensor | None = None) -> None:
        diff, top1, cosine = compare(reference, output, mask)
        n = int(mask.sum()) if mask is not None and reference.dim() >= 3 else reference.reshape(-1, reference.shape[-1]).shape[0]
        self.positions += n
        self.max_abs = max(self.max_abs, diff.max_abs)
        self.max_rel = max(self.max_rel, diff.max_rel)
        self._sum_abs += diff.mean_abs * n
        self._sum_rel += diff.mean_rel * n
        if top1 is not None:
            self._has_top1 = True
            self._top1 += top1 * n
        self.cosine_min = min(self.cosine_min, cosine)

    def to_dict(self) -> dict[str, Any]:
        n = max(self.positions, 1)
        return {
            "positions": self.positions,
            "max_abs": self.max_abs,
            "mean_abs": self._sum_abs / n,
            "max_rel": self.max_rel,
            "mean_rel": self._sum_rel / n,
            "top1_agreement": self._top1 / n if self._has_top1 else None,
            "cosine_min": self.cosine_min,
        }
