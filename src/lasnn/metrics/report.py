"""``lasnn.report(model, data)``: spikes, synaptic operations and energy of a converted model beside its ANN."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..convert.api import mode as run_mode
from ..convert.inputs import validate_batch
from ..jsonio import write_json
from ..modules.base import spiking_modules
from ..modules.state import get_state
from .energy import PRESETS, SOURCE, EnergyPreset, Ops, energy_pj, resolve_preset
from .spikes import NeuronRecord, SpikeCounter
from .synapses import COUNTING_RULES, RULES, OpCounter, SynapticOp

NEURON_RULES = ("spikes per neuron = non-zero digits of each neuron's code (binary: popcount(c); naf: popcount(c ^ 3c)) "
                "on the exact input it sees (equivalent mode), "
                "or the non-zero entries of the trains actually used (temporal mode); "
                "neuron updates = elements x (membrane steps, K or K + 1 for the naf code, + K steps of an HG neuron's "
                "affine sub-neuron, + routing comparisons: OAT 1, HG ceil(log2 segments) + ceil(log2 output octaves))")


@dataclass
class EnergyRow:
    preset: EnergyPreset
    memory: bool
    snn_pj: float
    ann_pj: float

    @property
    def ratio(self) -> float:
        return self.snn_pj / self.ann_pj if self.ann_pj else float("inf")

    @property
    def verdict(self) -> str:
        name = self.preset.name + (" + memory" if self.memory else "")
        amounts = f"{self.snn_pj / 1e9:.4g} mJ vs {self.ann_pj / 1e9:.4g} mJ"
        if self.snn_pj > self.ann_pj:
            return f"under {name} the SNN costs MORE than the ANN: {self.ratio:.2f}x ({amounts})"
        return f"under {name} the SNN costs {self.ratio:.2f}x the ANN ({amounts})"

    def to_dict(self) -> dict[str, Any]:
        return {"preset": self.preset.to_dict(), "memory": self.memory, "snn_pj": self.snn_pj, "ann_pj": self.ann_pj,
                "snn_over_ann": self.ratio, "snn_costs_more": self.snn_pj > self.ann_pj, "verdict": self.verdict}


@dataclass
class SpikeReport:
    """Per-neuron spike statistics, per-op counts, totals and energies of one run."""

    mode: str
    time_steps: int
    tokens: int
    neurons: list[NeuronRecord]
    ops: list[SynapticOp]
    energy: list[EnergyRow]
    allowed_ann: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)

    # -- totals ----------------------------------------------------------------------------------------------
    @property
    def snn(self) -> Ops:
        return sum((op.snn for op in self.ops), Ops()) + Ops(updates=sum(n.updates for n in self.neurons))

    @property
    def ann(self) -> Ops:
        return sum((op.ann for op in self.ops), Ops())

    @property
    def elements(self) -> int:
        return sum(n.elements for n in self.neurons)

    @property
    def spikes(self) -> int:
        return sum(n.spikes for n in self.neurons)

    @property
    def spikes_per_neuron(self) -> float:
        return self.spikes / self.elements if self.elements else 0.0

    @property
    def histogram(self) -> list[int]:
        return [sum(col) for col in zip(*(n.histogram for n in self.neurons))]

    @property
    def firing_rate_per_step(self) -> list[float]:
        return [sum(col) / max(self.elements, 1) for col in zip(*(n.per_step for n in self.neurons))]

    @property
    def mismatches(self) -> int:
        return sum(n.mismatches for n in self.neurons)

    def stat_fraction(self, stat: str) -> float:
        """Counted events over the elements of the neurons that can have them: outlier -> OAT neurons,
        out_of_range / underflow -> function neurons (HG, FS), clamped / nan -> all."""
        if stat == "outlier":
            pool = [n for n in self.neurons if n.kind == "OAT"]
        elif stat in ("out_of_range", "underflow"):
            pool = [n for n in self.neurons if n.kind.startswith(("HG", "FS"))]
        else:
            pool = self.neurons
        return sum(n.stats.get(stat, 0) for n in pool) / max(sum(n.elements for n in pool), 1)

    def layers(self) -> dict[str, dict[str, Any]]:
        """Per layer: neuron elements, spikes, spikes per neuron, SNN and ANN ops."""
        out: dict[str, dict[str, Any]] = {}
        for n in self.neurons:
            row = out.setdefault(n.layer, {"elements": 0, "spikes": 0, "snn": Ops(), "ann": Ops()})
            row["elements"] += n.elements
            row["spikes"] += n.spikes
            row["snn"] = row["snn"] + Ops(updates=n.updates)
        for op in self.ops:
            row = out.setdefault(op.layer, {"elements": 0, "spikes": 0, "snn": Ops(), "ann": Ops()})
            row["snn"], row["ann"] = row["snn"] + op.snn, row["ann"] + op.ann
        for row in out.values():
            row["spikes_per_neuron"] = row["spikes"] / row["elements"] if row["elements"] else 0.0
        return out

    # -- output ----------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        layers = {name: {**row, "snn": vars(row["snn"]), "ann": vars(row["ann"]),
                         "energy_pj": {e.preset.name: {"snn": energy_pj(row["snn"], e.preset, e.memory),
                                                       "ann": energy_pj(row["ann"], e.preset, e.memory)}
                                       for e in self.energy}}
                  for name, row in self.layers().items()}
        return {
            "mode": self.mode, "time_steps": self.time_steps, "tokens": self.tokens, "config": self.config,
            "totals": {"spikes": self.spikes, "neuron_elements": self.elements,
                       "spikes_per_neuron": self.spikes_per_neuron, "spike_histogram": self.histogram,
                       "firing_rate_per_step": self.firing_rate_per_step,
                       **{f"{s}_fraction": self.stat_fraction(s)
                          for s in ("outlier", "clamped", "out_of_range", "underflow", "nan")},
                       "snn": vars(self.snn), "ann": vars(self.ann), "temporal_count_mismatches": self.mismatches},
            "energy": [e.to_dict() for e in self.energy],
            "constants": {"source": SOURCE, "presets": [e.preset.to_dict() for e in self.energy],
                          "formula": "E_ANN = MACs*mac_pj + ACs*ac_pj + functions*function_pj; "
                                     "E_SNN = ACs*ac_pj + MACs*mac_pj + updates*update_pj; "
                                     "memory=True adds (MACs + ACs)*memory_pj to both"},
            "counting_rules": {"neurons": NEURON_RULES, **RULES, "details": COUNTING_RULES.strip()},
            "allowed_ann": self.allowed_ann,
            "layers": layers,
            "neurons": [n.to_dict() for n in self.neurons],
            "ops": [op.to_dict() for op in self.ops],
        }

    def to_json(self, path: str | Path) -> Path:
        return write_json(path, self.to_dict())

    def __str__(self) -> str:
        snn, ann = self.snn, self.ann
        rate = " ".join(f"{r:.2f}" for r in self.firing_rate_per_step)
        lines = [
            f"lasnn report ({self.mode} mode, K = {self.time_steps}, {self.config.get('code', 'binary')} code, "
            f"{self.tokens} tokens)",
            f"  spikes per neuron   {self.spikes_per_neuron:.3f} (mean over {self.elements:,} neuron activations)",
            f"  firing rate / step  {rate}",
            f"  outlier branch {100 * self.stat_fraction('outlier'):.3f} % of OAT inputs   clamped "
            f"{100 * self.stat_fraction('clamped'):.4f} %   function neurons' inputs out of declared range "
            f"{100 * self.stat_fraction('out_of_range'):.4f} %",
            f"  SNN: {snn.acs:,} ACs, {snn.macs:,} MACs (inherent / allow_ann), {snn.updates:,} neuron updates",
            f"  ANN: {ann.macs:,} MACs, {ann.acs:,} ACs, {ann.functions:,} function evaluations",
        ]
        if self.mismatches:
            lines.append(f"  WARNING: {self.mismatches} temporal spike counts differ from the popcount rule")
        if self.allowed_ann:
            lines.append(f"  left in float (allow_ann): {', '.join(self.allowed_ann)}")
        lines.append("  per layer            spikes/neuron    SNN ACs        ANN MACs")
        for name, row in self.layers().items():
            lines.append(f"    {name:<18} {row['spikes_per_neuron']:>8.3f}  {row['snn'].acs:>14,}  {row['ann'].macs:>14,}")
        lines.append("  energy")
        lines += [f"    {e.verdict}" for e in self.energy]
        lines.append(f"  constants ({SOURCE}):")
        for e in self.energy:
            p = e.preset
            lines.append(f"    {p.name}: MAC {p.mac_pj} pJ, AC {p.ac_pj} pJ, neuron update {p.update_pj} pJ, "
                         f"ANN function {p.function_pj} pJ, memory {p.memory_pj} pJ/operand "
                         f"({'on' if e.memory else 'off'}) — {p.note}")
        lines.append("  counting rules:")
        lines.append(f"    neurons: {NEURON_RULES}")
        lines += [f"    {k}: {v}" for k, v in RULES.items()]
        lines.append("    not counted (same in both models): residual / position-embedding additions, embedding lookups")
        return "\n".join(lines)


def _batches(model: nn.Module, data: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    items = [data] if isinstance(data, Mapping) else list(data)
    if not items:
        raise ValueError("lasnn.report needs at least one batch (a tokenizer output dict, or an iterable of them)")
    return [validate_batch(model, b, where=f"batch {i}") for i, b in enumerate(items)]


def _tokens(batch: Mapping[str, Any]) -> int:
    mask = batch.get("attention_mask")
    if mask is not None:
        return int(mask.sum())
    first = batch.get("input_ids", batch.get("inputs_embeds"))
    return int(first.shape[0] * first.shape[1])


def report(model: nn.Module, data: Mapping[str, Any] | Iterable[Mapping[str, Any]], *,
           presets: Iterable[str | EnergyPreset | dict[str, Any]] | None = None, memory: bool = False,
           mode: str = "equivalent", per_step: bool = True,
           counter: type[SpikeCounter] = SpikeCounter) -> SpikeReport:
    """Run ``model`` (a lasnn-converted model) on ``data`` in ``mode`` and count spikes, operations and energy.

    ``data``: one input dict or an iterable of them. ``presets``: names of :data:`PRESETS`, user dicts or
    :class:`EnergyPreset` (default: every named preset). ``memory``: add the memory-access term. ``counter``: a
    SpikeCounter subclass (experiments with other spike codes override its ``count``).
    """
    if mode not in ("equivalent", "temporal"):
        raise ValueError(f"report counts a spiking mode: 'equivalent' or 'temporal', got {mode!r}")
    state = get_state(model)
    chosen = [resolve_preset(p) for p in (presets if presets is not None else PRESETS)]
    batches = _batches(model, data)
    gated = {exp: prob for _, m in spiking_modules(model) for exp, prob in m.gated_neurons().items()}
    spikes = counter(model, gated, per_step=per_step)
    ops = OpCounter(model, spikes)
    with run_mode(model, mode), torch.no_grad(), spikes.recording(mode), ops.counting():
        for batch in batches:
            model(**batch)
    neurons = spikes.called()
    result = SpikeReport(mode, state.config.time_steps, sum(_tokens(b) for b in batches), neurons,
                         list(ops.ops.values()), [], list(state.allowed_ann), state.config.to_dict())
    snn, ann = result.snn, result.ann
    result.energy = [EnergyRow(p, memory, energy_pj(snn, p, memory), energy_pj(ann, p, memory)) for p in chosen]
    return result
