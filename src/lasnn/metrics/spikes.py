"""Spike counting: per-neuron spike statistics recorded on the exact inputs every neuron sees.

equivalent mode: a forward hook on each neuron counts ``spike_count(x)`` (popcount of its code) and, with
``per_step``, the non-zero entries of ``spikes(x)`` at each step (statistics counting off for that extra call).
temporal mode: each neuron's ``spikes`` is wrapped for the run; the count is the number of non-zero entries of the
train it returned, and ``spike_count(x)`` on the same input is checked against it (``mismatches``).

Softmax exp neurons: masked positions are gated off (their train is discarded), so the spikes of an exp call only
count where the following prob neuron's input is non-zero (exactly the unmasked positions with e^x > 0; where
e^x underflows to 0 there are no spikes to count).
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from ..neurons import HGNeuron, Neuron, OATNeuron, track_stats

_LAYER = re.compile(r"\.(?:layers|layer|h|blocks)\.(\d+)\.")
_STATS = ("clamped", "outlier", "out_of_range", "underflow", "nan")


def layer_of(name: str) -> str:
    """``layer N`` for modules inside the N-th block, else the module path's head (``lm_head``, ``model.norm``)."""
    found = _LAYER.search(f".{name}.")
    if found:
        return f"layer {found.group(1)}"
    parts = name.split(".")
    owner = parts[:next((i for i, p in enumerate(parts) if p.startswith("lasnn")), len(parts))]
    return ".".join(owner[:2]) or "model"


def gate_comparisons(neuron: Neuron) -> int:
    """Routing comparisons per element: OAT 1 gate; HG a binary cascade over its input segments (none for identity /
    relu but the sign) plus one over its output octaves; MT/FS none."""
    if isinstance(neuron, OATNeuron):
        return 1
    if isinstance(neuron, HGNeuron):
        octaves = neuron.e_max - neuron.e_min + 1
        return max(1, math.ceil(math.log2(max(neuron.n_gates, 2)))) + max(1, math.ceil(math.log2(max(octaves, 2))))
    return 0


def internal_steps(neuron: Neuron) -> int:
    """Membrane updates per element before the output train: an HG neuron's affine sub-neuron runs K steps."""
    if isinstance(neuron, HGNeuron) and not neuron.spec.linear:
        return neuron.time_steps
    return 0


@dataclass
class NeuronRecord:
    """Spike statistics of one neuron over a run (``last`` is the total of its latest call)."""

    name: str
    kind: str
    steps: int
    gates: int
    internal: int = 0
    elements: int = 0
    spikes: int = 0
    histogram: list[int] = field(default_factory=list)
    per_step: list[int] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    mismatches: int = 0
    last: int = 0
    last_elements: int = 0
    order: int = -1

    def __post_init__(self) -> None:
        self.histogram = self.histogram or [0] * (self.steps + 1)
        self.per_step = self.per_step or [0] * self.steps

    @property
    def layer(self) -> str:
        return layer_of(self.name)

    @property
    def updates(self) -> int:
        """Neuron state updates per element: one per time step of the output train, of an HG neuron's sub-neuron,
        and per routing comparison."""
        return self.elements * (self.steps + self.internal + self.gates)

    @property
    def spikes_per_neuron(self) -> float:
        return self.spikes / self.elements if self.elements else 0.0

    def add(self, counts: Tensor, fired: Tensor | None, keep: Tensor | None = None) -> None:
        """Accumulate one call: ``counts`` spikes per element, ``fired`` [K, ...] bool (or None)."""
        if keep is not None:
            counts = counts * keep
            fired = None if fired is None else fired & keep
        elements = int(keep.sum()) if keep is not None else counts.numel()
        total = int(counts.sum(dtype=torch.int64))
        self.elements += elements
        self.spikes += total
        self.last, self.last_elements = total, elements
        hist = torch.bincount(counts.flatten().long(), minlength=self.steps + 1).tolist()
        if keep is not None:
            hist[0] -= counts.numel() - elements
        self.histogram = [a + b for a, b in zip(self.histogram, hist)]
        if fired is not None:
            steps = fired.flatten(1).sum(1, dtype=torch.int64).tolist()
            self.per_step = [a + b for a, b in zip(self.per_step, steps)]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "layer": self.layer, "steps": self.steps,
                "elements": self.elements, "spikes": self.spikes, "spikes_per_neuron": self.spikes_per_neuron,
                "histogram": self.histogram, "firing_rate_per_step": [s / max(self.elements, 1) for s in self.per_step],
                "updates": self.updates, **{f"{k}_fraction": v / max(self.elements, 1) for k, v in self.stats.items()},
                **{k: v for k, v in self.stats.items()}}


def _kind(neuron: Neuron) -> str:
    return f"HG:{neuron.function}" if isinstance(neuron, HGNeuron) else type(neuron).__name__.removesuffix("Neuron")


def _fired(train: Tensor) -> Tensor:
    return train != 0


class SpikeCounter:
    """Records every neuron of ``model`` while active (``with counter.recording(mode):``).

    ``gated``: exp neuron -> its prob neuron (softmax sites). ``per_step``: also count firing per time step.
    """

    def __init__(self, model: nn.Module, gated: dict[Neuron, Neuron], per_step: bool = True) -> None:
        self.per_step = per_step
        self.records: dict[int, NeuronRecord] = {}
        self.neurons: dict[int, Neuron] = {}
        for name, module in model.named_modules():
            if isinstance(module, Neuron) and id(module) not in self.records:
                self.records[id(module)] = NeuronRecord(name, _kind(module), module.steps, gate_comparisons(module),
                                                          internal_steps(module))
                self.neurons[id(module)] = module
        self._gate_of = {id(prob): id(exp) for exp, prob in gated.items()}
        self._gated = {id(exp) for exp in gated}
        self._pending: dict[int, tuple[Tensor, Tensor | None]] = {}
        self._start: dict[int, dict[str, int]] = {}
        self._calls = 0

    def called(self) -> list[NeuronRecord]:
        """Records of the neurons that were called, in the order of their first call (the data flow)."""
        return sorted((r for r in self.records.values() if r.order >= 0), key=lambda r: r.order)

    def record(self, neuron: Neuron) -> NeuronRecord:
        return self.records[id(neuron)]

    def _observe(self, neuron: Neuron, x: Tensor, counts: Tensor, fired: Tensor | None) -> None:
        key = id(neuron)
        if self.records[key].order < 0:
            self.records[key].order = self._calls
            self._calls += 1
        if key in self._gated:
            self._pending[key] = (counts, fired)
            return
        self.records[key].add(counts, fired)
        exp_key = self._gate_of.get(key)
        if exp_key is not None and exp_key in self._pending:
            exp_counts, exp_fired = self._pending.pop(exp_key)
            self.records[exp_key].add(exp_counts, exp_fired, keep=x.reshape(exp_counts.shape) != 0)

    def count(self, neuron: Neuron, x: Tensor, output: Tensor) -> Tensor:
        """Spikes per element of one equivalent-mode call (the neuron's popcount; experiments override it)."""
        return neuron.spike_count(x)

    def _equivalent_hook(self, neuron: Neuron, args: tuple[Any, ...], output: Tensor) -> None:
        x = args[0]
        fired = None
        if self.per_step:
            with track_stats(False):
                fired = _fired(neuron.spikes(x))
        self._observe(neuron, x, self.count(neuron, x, output), fired)

    def _temporal_spikes(self, neuron: Neuron, original: Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
        def spikes(x: Tensor) -> Tensor:
            train = original(x)
            fired = _fired(train)
            counts = fired.sum(0, dtype=torch.int32)
            self.records[id(neuron)].mismatches += int((counts != neuron.spike_count(x)).sum())
            self._observe(neuron, x, counts, fired if self.per_step else None)
            return train

        return spikes

    @contextlib.contextmanager
    def recording(self, mode: str) -> Iterator[SpikeCounter]:
        """Count spikes of every neuron call inside the block (``mode``: the model's "equivalent" or "temporal")."""
        undo: list[Callable[[], None]] = []
        for key, neuron in self.neurons.items():
            self._start[key] = neuron.stats.to_dict()
            if mode == "temporal":
                neuron.spikes = self._temporal_spikes(neuron, neuron.spikes)
                undo.append(lambda n=neuron: n.__dict__.pop("spikes", None))
            else:
                undo.append(neuron.register_forward_hook(self._equivalent_hook).remove)
        try:
            yield self
        finally:
            for action in undo:
                action()
            for key, neuron in self.neurons.items():
                now = neuron.stats.to_dict()
                record = self.records[key]
                for stat in _STATS:
                    record.stats[stat] = record.stats.get(stat, 0) + now[stat] - self._start[key][stat]
