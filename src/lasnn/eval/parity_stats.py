"""Parity statistics accumulated over many batches with :func:`lasnn.metrics.parity.compare`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..metrics.parity import compare


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
