"""The time-step study: perplexity, parity and spikes per neuron as K varies (calibrated once, at the largest K)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from ..convert.api import mode as run_mode
from ..jsonio import write_json
from ..metrics.parity import parity
from ..metrics.report import report
from ..modules.state import get_state
from .metric import perplexity
from .models import calibration_of, prepare, reconvert


@dataclass
class SweepResult:
    """One row per K: perplexity (SNN, ANN), parity of the logits, spikes per neuron, fp32 energy ratio."""

    model: str
    rows: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "rows": self.rows}

    def to_json(self, path: str | Path) -> Path:
        return write_json(path, self.to_dict())

    def __str__(self) -> str:
        codes = sorted({r["code"] for r in self.rows})
        lines = [f"time-step sweep of {self.model} ({' / '.join(codes)} code)",
                 "   K   ppl SNN    ppl ANN   max|Δlogit|/std  top-1 agree  spikes/neuron  SNN/ANN energy (fp32)"]
        for r in self.rows:
            lines.append(f"  {r['time_steps']:>2}  {r['perplexity_snn']:>8.4f}  {r['perplexity_ann']:>8.4f}  "
                         f"{r['max_rel_logit_diff']:>14.3e}  {100 * r['top1_agreement']:>10.2f} %  "
                         f"{r['spikes_per_neuron']:>12.3f}  {r['energy_ratio_fp32']:>10.3f}")
        return "\n".join(lines)

    def plot(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        ks = [r["time_steps"] for r in self.rows]
        fig = Figure(figsize=(13, 3.8))
        axes = fig.subplots(1, 3)
        axes[0].plot(ks, [r["perplexity_snn"] for r in self.rows], marker="o", label="SNN")
        axes[0].axhline(self.rows[0]["perplexity_ann"], color="k", ls="--", lw=0.8, label="ANN")
        axes[0].set(xlabel="time steps K", ylabel="perplexity", yscale="log")
        axes[0].legend()
        axes[1].plot(ks, [r["max_rel_logit_diff"] for r in self.rows], marker="o")
        axes[1].set(xlabel="time steps K", ylabel="max |Δ logit| / std", yscale="log")
        axes[2].plot(ks, [r["spikes_per_neuron"] for r in self.rows], marker="o")
        axes[2].set(xlabel="time steps K", ylabel="spikes per neuron")
        fig.suptitle(f"time-step sweep, {self.model}")
        fig.tight_layout()
        path = folder / "sweep.png"
        fig.savefig(path, dpi=110)
        return path


def sweep(spec: str, data: str, time_steps: list[int], *, sequences: int = 4, length: int = 128,
          batch_size: int = 4, calibration_sequences: int = 8, code: str | None = None) -> SweepResult:
    """Convert ``spec`` once at max(K) (or use a lasnn.save folder), then for each K re-attach the calibration
    with ``time_steps = K`` (and the spike ``code``, if given) and measure perplexity, parity and spikes on the
    evaluation windows of ``data``."""
    if not time_steps or any(not isinstance(k, int) or not 1 <= k <= 32 for k in time_steps):
        raise ValueError(f"time steps must be integers in 1..32, got {time_steps}")
    base, _, batches = prepare(spec, data, sequences, length, batch_size, calibration_sequences, max(time_steps),
                               code or "binary")
    calibration = calibration_of(base)
    source = spec if not (Path(spec).expanduser() / "lasnn.json").is_file() else str(Path(spec).expanduser())
    with run_mode(base, "ann"):
        ppl_ann = perplexity(base, batches)
    del base
    result = SweepResult(spec)
    for k in sorted(set(time_steps)):
        model = reconvert(source, calibration, time_steps=k, **({"code": code} if code else {}))
        check = parity(model, batches[0])
        counts = report(model, batches, presets=["fp32-45nm"], per_step=False)
        result.rows.append({
            "time_steps": k, "code": get_state(model).config.code,
            "perplexity_snn": perplexity(model, batches), "perplexity_ann": ppl_ann,
            "max_rel_logit_diff": check.diff.max_rel, "mean_rel_logit_diff": check.diff.mean_rel,
            "top1_agreement": check.top1_agreement if check.top1_agreement is not None else float("nan"),
            "spikes_per_neuron": counts.spikes_per_neuron, "energy_ratio_fp32": counts.energy[0].ratio,
            "clamped_fraction": counts.stat_fraction("clamped"),
        })
    return result
