"""One result type for every side-by-side task: ANN metric, SNN metric, their difference, changed predictions, parity."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from rich.table import Table


@dataclass
class EvalResult:
    """The ANN and the spiking model scored by the same code on the same examples.

    ``difference`` is snn - ann; ``changed`` counts examples whose prediction (argmax) differs between the two;
    ``parity`` aggregates :func:`lasnn.metrics.parity.compare` over every batch (see :class:`ParityStats`).
    """

    task: str
    metric: str
    ann: float
    snn: float
    examples: int
    changed: int
    mode: str
    parity: dict[str, Any]
    higher_is_better: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def difference(self) -> float:
        return self.snn - self.ann

    @property
    def relative_difference(self) -> float:
        return self.difference / abs(self.ann) if self.ann else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "difference": self.difference, "relative_difference": self.relative_difference}

    def table(self) -> Table:
        """A two-column rich table: ANN beside SNN, then the difference and the parity statistics."""
        table = Table(title=f"{self.task} ({self.examples} examples, ann vs {self.mode})", title_justify="left")
        table.add_column("")
        table.add_column("ANN", justify="right")
        table.add_column("SNN", justify="right")
        table.add_row(self.metric, f"{self.ann:.6g}", f"{self.snn:.6g}")
        relative = f" ({100 * self.relative_difference:+.4f} %)" if self.ann else ""
        table.add_row("difference (snn - ann)", "", f"{self.difference:+.3g}{relative}")
        table.add_row("changed predictions", "", f"{self.changed} / {self.examples}")
        for key, value in self.extra.items():
            if key.startswith("ann_") and f"snn_{key[4:]}" in self.extra:
                table.add_row(key[4:], f"{value:.6g}", f"{self.extra[f'snn_{key[4:]}']:.6g}")
            elif isinstance(value, (int, float)) and not key.startswith("snn_"):
                table.add_row(key, "", f"{value:.6g}")
        for key, value in format_parity(self.parity).items():
            table.add_row(key, "", value)
        return table

    def __str__(self) -> str:
        sign = "+" if self.difference >= 0 else ""
        return (f"{self.task}: {self.metric} ann {self.ann:.6g} snn {self.snn:.6g} ({sign}{self.difference:.3g}); "
                f"{self.changed}/{self.examples} predictions changed; "
                f"max |diff| {self.parity.get('max_rel', float('nan')):.3e} x std")


def format_parity(parity: dict[str, Any]) -> dict[str, str]:
    """Human-readable rows for the parity statistics."""
    rows = {
        "max |diff| (x std)": f"{parity['max_abs']:.3e} ({parity['max_rel']:.3e})",
        "mean |diff| (x std)": f"{parity['mean_abs']:.3e} ({parity['mean_rel']:.3e})",
        "min cosine": f"{parity['cosine_min']:.7f}",
    }
    if parity.get("top1_agreement") is not None:
        rows["top-1 agreement"] = f"{100 * parity['top1_agreement']:.3f} %"
    return rows
