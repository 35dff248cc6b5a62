"""Spikes, operations and energy of SmolLM2-135M converted with LAS, on a few Shakespeare windows.

    HF_HUB_OFFLINE=1 python benchmarks/energy.py --json benchmarks/results/energy_smollm2.json --plot docs/energy

Writes the full lasnn.report JSON plus parity and perplexity (ANN and SNN) of the same windows.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import lasnn
from lasnn.jsonio import write_json
from lasnn.metrics.plots import write_plots
from lasnn.metrics.report import report
from lasnn.neurons import CODES
from lasnn.studies.metric import perplexity
from lasnn.studies.models import prepare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--sequences", type=int, default=2)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--calibration-sequences", type=int, default=8)
    parser.add_argument("--time-steps", type=int, default=16)
    parser.add_argument("--code", choices=CODES, default="binary", help="spike code of every neuron (default binary)")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/energy_smollm2.json"))
    parser.add_argument("--plot", type=Path)
    parser.add_argument("--save", type=Path, help="also lasnn.save the converted model here")
    args = parser.parse_args()

    start = time.perf_counter()
    model, tokenizer, batches = prepare(args.model, "shakespeare", args.sequences, args.length, 4, args.calibration_sequences,
                                        args.time_steps, args.code)
    converted = time.perf_counter()
    if args.save:
        lasnn.save(model, args.save, tokenizer=tokenizer, overwrite=True)
    parity = lasnn.parity(model, batches[0])
    with lasnn.mode(model, "ann"):
        ppl_ann = perplexity(model, batches)
    ppl_snn = perplexity(model, batches)
    result = report(model, batches)
    print(parity)
    print(f"perplexity ANN {ppl_ann:.4f}  SNN {ppl_snn:.4f}")
    print(result)
    out = result.to_dict()
    out["benchmark"] = {"command": "python benchmarks/energy.py " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if v is not None),
        "parity": parity.to_dict(), "perplexity_ann": ppl_ann, "perplexity_snn": ppl_snn,
        "convert_s": converted - start, "total_s": time.perf_counter() - start}
    write_json(args.json, out)
    if args.plot:
        write_plots(result, args.plot)


if __name__ == "__main__":
    main()
