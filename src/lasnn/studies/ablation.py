"""The ablation: OAT against a single-threshold MT neuron, and HG neurons against one FS neuron per function.

- ``las``: the converted model as calibrated (OAT sites, HG neurons).
- ``single-mt``: every OAT site becomes one MT neuron whose tau is the OAT's outlier threshold theta_out
  (theta_nor := theta_out: one tau covering the outliers, all values on its grid).
- ``fs``: every HG neuron is replaced by an FS neuron (Stöckl & Maass) fitted with ``fit_fs`` for its function, one
  fit per function on the union of the input ranges its HG neurons saw on the evaluation data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ..convert.api import mode as run_mode
from ..jsonio import write_json
from ..metrics.parity import parity
from ..metrics.report import report
from ..modules.state import get_state
from ..neurons import FSNeuron, HGNeuron, fit_fs
from ..neurons.functions import get_function
from .metric import perplexity
from .models import Calibration, calibration_of, prepare, reconvert

VARIANTS = ("las", "single-mt", "fs")


class FSFunction(FSNeuron):
    """An FS neuron standing in for an HG neuron of ``function``; ``set_range`` keeps the fitted parameters (inputs
    outside the fitted range are counted in ``out_of_range``)."""

    def __init__(self, fitted: FSNeuron, function: str) -> None:
        lo, hi = fitted.range
        super().__init__(fitted.h, fitted.d, fitted.T, lo=lo, hi=hi, fn=fitted.fn)
        self.function = function
        self.fit_max_abs_error = fitted.fit_max_abs_error

    def set_range(self, lo: float, hi: float) -> None:
        """The fitted parameters stay; the declared range of the HG neuron is not used."""


def single_threshold(calibration: Calibration) -> Calibration:
    """The calibration with theta_nor := theta_out at every OAT site."""
    config, shared, tensors = calibration
    changed = dict(tensors)
    for key, value in tensors.items():
        if key.endswith(":theta_out"):
            changed[key.removesuffix(":theta_out") + ":theta_nor"] = value.clone()
    return config, shared, changed


def observed_ranges(model: nn.Module, batches: list[dict[str, Any]]) -> dict[str, tuple[float, float]]:
    """(min, max) of the inputs of the HG neurons of each function over ``batches`` (finite values)."""
    ranges: dict[str, tuple[float, float]] = {}

    def hook(neuron: HGNeuron, args: tuple[Tensor, ...]) -> None:
        x = args[0][torch.isfinite(args[0])]
        if x.numel():
            lo, hi = ranges.get(neuron.function, (float("inf"), float("-inf")))
            ranges[neuron.function] = (min(lo, float(x.min())), max(hi, float(x.max())))

    handles = [m.register_forward_pre_hook(hook) for m in model.modules() if isinstance(m, HGNeuron)]
    try:
        with torch.no_grad():
            for batch in batches:
                model(**batch)
    finally:
        for handle in handles:
            handle.remove()
    return ranges


def use_fs_neurons(model: nn.Module, fitted: dict[str, FSNeuron]) -> int:
    """Replace every HG neuron of ``model`` by an FSFunction of its function; returns how many were replaced."""
    targets = [(name, m.function) for name, m in model.named_modules() if isinstance(m, HGNeuron)]
    for name, function in targets:
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name), child, FSFunction(fitted[function], function))
    return len(targets)


def fit_functions(ranges: dict[str, tuple[float, float]], time_steps: int, steps: int = 300) -> dict[str, FSNeuron]:
    """One FS neuron per function on its observed range (a degenerate range is widened to a unit interval)."""
    fitted = {}
    for function, (lo, hi) in ranges.items():
        if not hi > lo:
            lo, hi = lo - 0.5, hi + 0.5
        fitted[function] = fit_fs(get_function(function).fn, lo, hi, time_steps, steps=steps)
    return fitted


@dataclass
class AblationResult:
    model: str
    rows: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "variants": {v: VARIANT_DOCS[v] for v in VARIANTS}, "rows": self.rows}

    def to_json(self, path: str | Path) -> Path:
        return write_json(path, self.to_dict())

    def __str__(self) -> str:
        lines = [f"ablation on {self.model}",
                 "  variant      ppl SNN    ppl ANN   max|Δlogit|/std  top-1 agree  spikes/neuron  clamped  SNN/ANN (fp32)"]
        for r in self.rows:
            lines.append(f"  {r['variant']:<10} {r['perplexity_snn']:>9.4g}  {r['perplexity_ann']:>8.4f}  "
                         f"{r['max_rel_logit_diff']:>14.3e}  {100 * r['top1_agreement']:>9.2f} %  "
                         f"{r['spikes_per_neuron']:>12.3f}  {100 * r['clamped_fraction']:.3f} %  "
                         f"{r['energy_ratio_fp32']:>8.3f}")
        return "\n".join(lines)


VARIANT_DOCS = {"las": "OAT sites and HG neurons as calibrated",
                "single-mt": "each OAT site -> one MT neuron with tau = theta_out (covers the outliers)",
                "fs": "each HG neuron -> one FS neuron per function, fit_fs on the observed input range"}


def _measure(name: str, model: nn.Module, batches: list[dict[str, Any]], ppl_ann: float) -> dict[str, Any]:
    check = parity(model, batches[0])
    counts = report(model, batches, presets=["fp32-45nm"], per_step=False)
    return {"variant": name, "perplexity_snn": perplexity(model, batches), "perplexity_ann": ppl_ann,
            "max_rel_logit_diff": check.diff.max_rel, "mean_rel_logit_diff": check.diff.mean_rel,
            "top1_agreement": check.top1_agreement if check.top1_agreement is not None else float("nan"),
            "spikes_per_neuron": counts.spikes_per_neuron, "energy_ratio_fp32": counts.energy[0].ratio,
            "clamped_fraction": counts.stat_fraction("clamped"),
            "out_of_range_fraction": counts.stat_fraction("out_of_range")}


def ablation(spec: str, data: str = "shakespeare", *, sequences: int = 2, length: int = 128, batch_size: int = 4,
             calibration_sequences: int = 8, time_steps: int = 16, fs_steps: int = 300) -> AblationResult:
    """Measure the three variants (module docstring) on the same evaluation windows."""
    model, _, batches = prepare(spec, data, sequences, length, batch_size, calibration_sequences, time_steps)
    source = str(Path(spec).expanduser()) if (Path(spec).expanduser() / "lasnn.json").is_file() else spec
    calibration = calibration_of(model)
    with run_mode(model, "ann"):
        ppl_ann = perplexity(model, batches)
    result = AblationResult(spec)
    result.rows.append(_measure("las", model, batches, ppl_ann))
    ranges = observed_ranges(model, batches)
    fitted = fit_functions(ranges, get_state(model).config.time_steps, fs_steps)
    result.rows.append(_measure("single-mt", reconvert(source, single_threshold(calibration)), batches, ppl_ann))
    use_fs_neurons(model, fitted)
    row = _measure("fs", model, batches, ppl_ann)
    row["fs_fits"] = {f: {"lo": n.range[0], "hi": n.range[1], "max_abs_error": n.fit_max_abs_error}
                      for f, n in fitted.items()}
    result.rows.append(row)
    return result
