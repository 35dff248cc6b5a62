"""Experiment: fewer spikes per neuron with other codes of the same neurons, measured without changing them.

    HF_HUB_OFFLINE=1 python benchmarks/spike_reduction.py SAVED_MODEL --json benchmarks/results/spike_reduction.json

Variants (all on the exact inputs each neuron sees, equivalent mode):
- binary: the neurons' K-bit codes, one spike per set bit (what lasnn does).
- naf: the same codes as signed digits (non-adjacent form, digits in {-1, 0, +1}, spike sign rides on the spike):
  identical decoded values, spikes = popcount(c XOR 3c) <= popcount(c); one extra leading step. This is what
  ``LASConfig(code="naf")`` does (``python benchmarks/energy.py --code naf`` measures the real option).
- sig-S: every neuron's decoded value rounded to S significant bits (a forward hook replaces the output), coded as
  NAF: fewer spikes, and a parity cost that is measured.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import Tensor

import lasnn
from lasnn.jsonio import write_json
from lasnn.metrics.spikes import SpikeCounter
from lasnn.neurons import HGNeuron, Neuron, OATNeuron
from lasnn.neurons.codes import digit_count, float_code, round_significand
from lasnn.studies.metric import perplexity
from lasnn.studies.models import calibration_of, prepare, reconvert


def oat_step(neuron: OATNeuron, x: Tensor) -> Tensor:
    """Grid step of each element: theta * 2^-K of the branch the gate routes it to."""
    tau = torch.where(x.abs() >= neuron.theta_nor, neuron.theta_out, neuron.theta_nor).double()
    return tau * 2.0 ** -neuron.time_steps


def integer_code(neuron: Neuron, x: Tensor, output: Tensor) -> Tensor:
    """The integer code c of a neuron's decoded output (|output| = c * its grid step), int64."""
    out = output.double()
    if isinstance(neuron, OATNeuron):
        return torch.round(out.abs() / oat_step(neuron, x)).to(torch.int64)
    if isinstance(neuron, HGNeuron):
        return float_code(out, neuron.time_steps, neuron.e_min)[0]
    raise TypeError(f"no integer code for {type(neuron).__name__}")


class NAFCounter(SpikeCounter):
    """Spikes of the signed-digit (non-adjacent form) code of the same integer codes: popcount(c ^ 3c)."""

    def count(self, neuron: Neuron, x: Tensor, output: Tensor) -> Tensor:
        return digit_count(integer_code(neuron, x, output), "naf")


def significand_hooks(model: torch.nn.Module, bits: int) -> list:
    """Round every neuron's integer code to ``bits`` significant bits (forward hooks replacing the decoded output;
    an HG code is the significand of the value, an OAT code |x| / step); remove the handles after."""
    def hook(neuron: Neuron, args: tuple[Tensor, ...], output: Tensor) -> Tensor:
        if isinstance(neuron, HGNeuron):
            return round_significand(output.float(), bits, True).to(output.dtype)
        step = oat_step(neuron, args[0])
        code = round_significand(integer_code(neuron, args[0], output).double(), bits, True)
        return (code * step).copysign(output.double()).to(output.dtype)

    return [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (OATNeuron, HGNeuron))]


def measure(name: str, model: torch.nn.Module, batches: list, counter: type[SpikeCounter]) -> dict:
    check = lasnn.parity(model, batches[0])
    counts = lasnn.report(model, batches, presets=["fp32-45nm"], per_step=False, counter=counter)
    row = {"variant": name, "perplexity_snn": perplexity(model, batches), "max_rel_logit_diff": check.diff.max_rel,
           "top1_agreement": check.top1_agreement, "spikes_per_neuron": counts.spikes_per_neuron,
           "snn_acs": counts.snn.acs, "ann_macs": counts.ann.macs, "energy_ratio_fp32": counts.energy[0].ratio}
    print(row, flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path, help="a lasnn.save folder")
    parser.add_argument("--sequences", type=int, default=2)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--bits", type=int, nargs="*", default=[10, 8])
    parser.add_argument("--time-steps", type=int, help="re-attach the saved calibration with this K first")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/spike_reduction.json"))
    args = parser.parse_args()
    model, _, batches = prepare(str(args.model), "shakespeare", args.sequences, args.length, 4, 1)
    if args.time_steps is not None:
        model = reconvert(str(args.model), calibration_of(model), time_steps=args.time_steps)
    with lasnn.mode(model, "ann"):
        rows = [{"variant": "ann", "perplexity": perplexity(model, batches)}]
    rows.append(measure("binary", model, batches, SpikeCounter))
    rows.append(measure("naf", model, batches, NAFCounter))
    for bits in args.bits:
        handles = significand_hooks(model, bits)
        rows.append(measure(f"sig-{bits}", model, batches, NAFCounter))
        for handle in handles:
            handle.remove()
    command = f"python benchmarks/spike_reduction.py {args.model} --bits {' '.join(map(str, args.bits))}" \
        + (f" --time-steps {args.time_steps}" if args.time_steps else "")
    write_json(args.json, {"command": command, "rows": rows})


if __name__ == "__main__":
    main()
