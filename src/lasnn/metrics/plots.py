"""PNG plots of a report: spikes per neuron per layer, energy per layer (ANN beside SNN), firing rate per step."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from matplotlib.figure import Figure

from .energy import energy_pj

if TYPE_CHECKING:
    from .report import SpikeReport


def write_plots(report: SpikeReport, folder: str | Path) -> list[Path]:
    """Write spikes_per_layer.png, energy_per_layer.png (first preset) and firing_rate.png; return the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    layers = report.layers()
    names = list(layers)
    paths = []

    fig = Figure(figsize=(max(6, 0.3 * len(names)), 4))
    ax = fig.subplots()
    ax.bar(range(len(names)), [layers[n]["spikes_per_neuron"] for n in names], color="tab:blue")
    ax.axhline(report.spikes_per_neuron, color="k", lw=0.8, ls="--", label=f"mean {report.spikes_per_neuron:.2f}")
    ax.set(xticks=range(len(names)), ylabel="spikes per neuron", title=f"spikes per neuron per layer (K = {report.time_steps})")
    ax.set_xticklabels(names, rotation=90, fontsize=7)
    ax.legend()
    paths.append(_save(fig, folder / "spikes_per_layer.png"))

    if report.energy:
        row = report.energy[0]
        snn = [energy_pj(layers[n]["snn"], row.preset, row.memory) / 1e6 for n in names]
        ann = [energy_pj(layers[n]["ann"], row.preset, row.memory) / 1e6 for n in names]
        fig = Figure(figsize=(max(6, 0.3 * len(names)), 4))
        ax = fig.subplots()
        x = range(len(names))
        ax.bar([i - 0.2 for i in x], ann, width=0.4, label="ANN", color="tab:gray")
        ax.bar([i + 0.2 for i in x], snn, width=0.4, label="SNN", color="tab:orange")
        ax.set(xticks=list(x), ylabel="energy (µJ)", title=f"energy per layer, {row.preset.name} ({row.ratio:.2f}x)")
        ax.set_xticklabels(names, rotation=90, fontsize=7)
        ax.legend()
        paths.append(_save(fig, folder / "energy_per_layer.png"))

    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    rates = report.firing_rate_per_step
    steps = range(report.time_steps + 1 - len(rates), report.time_steps + 1)  # t = 1..K, or 0..K for "naf"
    ax.plot(steps, rates, marker="o", label="all neurons")
    ax.set(xlabel="time step t", ylabel="firing rate", ylim=(0, 1), title="firing rate per time step")
    ax.legend()
    paths.append(_save(fig, folder / "firing_rate.png"))
    return paths


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path
