"""Calibration: run the float path with every neuron observing, find shared sites, then freeze thresholds.

Degenerate data is refused: a batch that is empty or whose embeddings are constant or non-finite, and a site that
saw NaN / inf or only zeros (named in the error). Rules (LASConfig): OAT theta_nor = quantile(|x|), theta_out = theta_nor * 2^ceil(log2(margin * max|x| / theta_nor));
HG gate banks cover the observed input range widened by ``hg_range_margin``. Synapses that read the very same
tensor in one forward (q/k/v, gate/up) share one site.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
import torch.nn as nn
from tqdm.auto import tqdm

from ..modules.linear import SpikingSynapse
from ..modules.sites import SiteEncoder
from ..modules.state import ConversionState, Mode
from ..neurons import HGNeuron, Neuron, OATNeuron
from . import distributed
from .inputs import validate_batch


def _sequences(batch: dict[str, Any]) -> int:
    first = batch.get("input_ids", batch.get("inputs_embeds"))
    return int(first.shape[0])


class _SiteValues:
    """Counts, at every observing OAT site, the non-finite and the non-zero values it sees (on the device, no sync)."""

    def __init__(self, model: nn.Module, observing: list[Neuron]) -> None:
        watched = {id(neuron) for neuron in observing if isinstance(neuron, OATNeuron)}
        self.counts: dict[str, torch.Tensor] = {}
        self._handles = [
            module.register_forward_pre_hook(self._make_hook(name))
            for name, module in model.named_modules()
            if id(module) in watched
        ]

    def _make_hook(self, name: str):  # noqa: ANN202
        def hook(_: nn.Module, args: tuple[Any, ...]) -> None:
            x = args[0]
            finite = torch.isfinite(x)
            counts = torch.stack([(~finite).sum(), (finite & (x != 0)).sum()])
            self.counts[name] = self.counts[name] + counts if name in self.counts else counts

        return hook

    def check(self) -> None:
        """ValueError naming the first site that saw NaN / inf, or only zeros."""
        for name, counts in self.counts.items():
            non_finite, non_zero = (int(c) for c in counts)
            site = name.removesuffix(".neuron")
            if non_finite:
                raise ValueError(f"calibration is degenerate at site {site}: it saw {non_finite} NaN or inf values; "
                                 "the calibration inputs or the model's weights produce non-finite activations "
                                 "(check them, or load the model in float32)")
            if not non_zero:
                raise ValueError(f"calibration is degenerate at site {site}: every calibration value was 0, so it "
                                 "gives no threshold; calibrate on real model inputs (tokenised text)")

    def close(self) -> None:
        for handle in self._handles:
            handle.remove()


def _check_informative(batch: dict[str, Any], where: str) -> None:
    """ValueError if a calibration batch's embeddings are one constant value (they would calibrate nothing)."""
    embeds = batch.get("inputs_embeds")
    if embeds is not None and bool((embeds == embeds.reshape(-1)[0]).all()):
        raise ValueError(f"{where}['inputs_embeds'] is constant (every value is {float(embeds.reshape(-1)[0])}); "
                         "calibrate on real embeddings, e.g. the model's own embeddings of tokenised text")


class _InputSharing:
    """Records which synapses read the same tensor object consecutively during one forward."""

    def __init__(self, model: nn.Module) -> None:
        self.groups: list[list[tuple[str, nn.Module]]] = []
        self._last: torch.Tensor | None = None
        self._handles = [
            module.register_forward_pre_hook(self._make_hook(name, module))
            for name, module in model.named_modules()
            if isinstance(module, SpikingSynapse)
        ]

    def _make_hook(self, name: str, module: nn.Module):  # noqa: ANN202
        def hook(_: nn.Module, args: tuple[Any, ...]) -> None:
            x = args[0]
            if x is self._last and self.groups:
                self.groups[-1].append((name, module))
            else:
                self.groups.append([(name, module)])
            self._last = x

        return hook

    def close(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._last = None


def share_sites(groups: list[list[tuple[str, nn.Module]]]) -> list[list[str]]:
    """Make every group of synapses that read one tensor use the first one's site; returns the groups by name."""
    shared = []
    for group in groups:
        if len(group) < 2:
            continue
        site: SiteEncoder = group[0][1].lasnn_input
        site.consumers = len(group)
        for _, module in group[1:]:
            module.lasnn_input = site
        shared.append([name for name, _ in group])
    return shared


def neurons_to_observe(model: nn.Module) -> list[Neuron]:
    """Neurons that learn from calibration data: OAT sites without thresholds and every HG gate bank."""
    return [
        m for m in model.modules()
        if (isinstance(m, OATNeuron) and not m.is_calibrated) or isinstance(m, HGNeuron)
    ]


class CalibrationRun:
    """One calibration, from the first observed batch to the frozen thresholds (prepare → observe → freeze).

    While it runs the model is in calibration mode: every OAT site without thresholds and every HG gate bank
    observes what it sees; the first batch also finds the synapses that read one tensor (they then share a site).
    """

    def __init__(self, model: nn.Module, state: ConversionState) -> None:
        self.model, self.state = model, state
        self.observing = neurons_to_observe(model)
        for neuron in self.observing:
            neuron.observing = True
        state.mode = Mode.CALIBRATE
        self.first: dict[str, Any] | None = None
        self.sequences = 0
        self.batches = 0
        self._sharing: _InputSharing | None = _InputSharing(model)
        self._values = _SiteValues(model, self.observing)

    def observe(self, batches: Iterable[Any], limit: int | None = None) -> int:
        """Run the float path on each batch (up to ``limit`` sequences in all, if given); returns the sequences
        observed so far."""
        with torch.no_grad(), tqdm(total=limit, desc="calibrating", unit="seq", leave=False) as bar:
            for raw in batches:
                where = f"calibration batch {self.batches}"
                batch = validate_batch(self.model, raw, where=where)
                _check_informative(batch, where)
                self.model(**batch)
                self.batches += 1
                if self.first is None:
                    self.first = batch
                    self._close_sharing()
                count = _sequences(batch)
                self.sequences += count
                bar.update(count)
                if limit is not None and self.sequences >= limit:
                    break
        return self.sequences

    def _close_sharing(self) -> None:
        if self._sharing is not None:
            self._sharing.close()
            self.state.shared_inputs = share_sites(self._sharing.groups)
            self._sharing = None

    def close(self) -> None:
        """Remove the observing hooks (the run cannot observe any more)."""
        if self._sharing is not None:
            self._sharing.close()
            self._sharing = None
        self._values.close()

    def freeze(self) -> dict[str, Any]:
        """Reduce the observers across ranks (torch.distributed), refuse degenerate sites, and freeze every
        observing neuron. Returns the first observed batch (used for the conversion audit)."""
        config = self.state.config
        self.close()
        if distributed.active():
            distributed.check_batches(0 if self.first is None else 1)
            distributed.reduce_observers(self.observing, self._values.counts)
        if self.first is None:
            raise ValueError("calibration_data is empty; pass an iterable of tokenizer output dicts "
                             "(default 32 sequences)")
        self._values.check()
        for neuron in self.observing:
            if isinstance(neuron, OATNeuron):
                neuron.freeze(quantile=config.quantile, margin=config.outlier_margin)
            else:
                neuron.freeze(margin=config.hg_range_margin)
        return self.first


def calibrate(model: nn.Module, state: ConversionState, batches: Iterable[Any]) -> dict[str, Any]:
    """Run up to ``config.calibration_sequences`` sequences of ``batches`` and freeze every observing neuron.

    Under torch.distributed (more than one rank), ``batches`` is this rank's share of the data and the observers
    are reduced across ranks before freezing, so every rank gets the thresholds of one process calibrating on all
    the shares. Returns the first validated batch (used for the conversion audit).
    """
    run = CalibrationRun(model, state)
    try:
        run.observe(batches, limit=state.config.calibration_sequences)
    finally:
        run.close()
    return run.freeze()
