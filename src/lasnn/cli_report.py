"""``lasnn report``, ``lasnn sweep`` and ``lasnn ablation``: spike/operation/energy accounting and the paper's studies.

``register(subparsers)`` adds the subcommands to the parser of ``lasnn.cli``; each sets ``func(args) -> int``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .metrics.energy import PRESETS
from .neurons.codes import CODES


def register(subparsers: Any) -> None:
    """Add ``report`` and ``sweep`` to an ``argparse`` subparsers object."""
    report = subparsers.add_parser("report", help="spikes, operations and energy of a converted model, ANN beside SNN")
    _common(report)
    report.add_argument("--time-steps", type=positive, default=16, help="K for a model converted here (default 16)")
    report.add_argument("--code", choices=CODES, default="binary",
                        help="spike code for a model converted here: binary (LAS) or naf (signed digits, fewer spikes)")
    report.add_argument("--preset", action="append", choices=sorted(PRESETS), help="energy preset(s) (default: all)")
    report.add_argument("--energy", type=Path, help="JSON file with a user-defined preset (name, mac_pj, ac_pj, ...)")
    report.add_argument("--memory", action="store_true", help="add the memory-access term of each preset")
    report.add_argument("--temporal", action="store_true", help="count in temporal mode (spike trains; slow)")
    report.set_defaults(func=_run_report)

    sweep = subparsers.add_parser("sweep", help="perplexity, parity and spikes per neuron as the time steps K vary")
    _common(sweep)
    sweep.add_argument("--time-steps", type=positive, nargs="+", default=[6, 8, 10, 12, 14, 16], help="K values")
    sweep.add_argument("--code", choices=CODES, help="spike code for every K (default: binary, or as saved)")
    sweep.set_defaults(func=_run_sweep)

    ablation = subparsers.add_parser("ablation", help="OAT vs one MT neuron, HG vs one FS neuron per function")
    _common(ablation, plot=False)
    ablation.add_argument("--time-steps", type=positive, default=16, help="K for a model converted here (default 16)")
    ablation.set_defaults(func=_run_ablation)


def positive(value: str) -> int:
    """An argparse type: an integer >= 1."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {number}")
    return number


def nonempty(value: str) -> str:
    """An argparse type: a string that is not empty or blank."""
    if not value.strip():
        raise argparse.ArgumentTypeError("is empty; give a value or leave the option out")
    return value


def _common(parser: argparse.ArgumentParser, plot: bool = True) -> None:
    parser.add_argument("model", metavar="MODEL", help="named model (smollm2-135m), a local HF folder, or a lasnn.save folder")
    parser.add_argument("--data", type=nonempty, default="shakespeare", help="shakespeare[:WORK] or a text file (default shakespeare)")
    parser.add_argument("--sequences", type=positive, default=4, help="evaluation sequences (default 4)")
    parser.add_argument("--length", type=positive, default=128, help="tokens per sequence (default 128)")
    parser.add_argument("--batch-size", type=positive, default=4, help="batch size (default 4)")
    parser.add_argument("--calibration-sequences", type=positive, default=8, help="calibration sequences, taken after the evaluation ones")
    parser.add_argument("--json", type=Path, help="write the JSON report here")
    if plot:
        parser.add_argument("--plot", type=Path, help="write PNG plots into this folder")


def _user_preset(path: Path | None) -> Any:
    from .metrics.energy import EnergyPreset

    if path is None:
        return None
    try:
        return EnergyPreset.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError) as error:
        raise ValueError(f"--energy {path}: {error}") from None


def _run_report(args: argparse.Namespace) -> int:
    from .metrics.plots import write_plots
    from .metrics.report import report
    from .studies.models import prepare

    presets: list[Any] = list(args.preset or sorted(PRESETS))
    user = _user_preset(args.energy)
    if user is not None:
        presets.append(user)
    model, _, batches = prepare(args.model, args.data, args.sequences, args.length, args.batch_size,
                                args.calibration_sequences, args.time_steps, args.code)
    result = report(model, batches, presets=presets, memory=args.memory,
                    mode="temporal" if args.temporal else "equivalent")
    print(result)
    if args.json:
        result.to_json(args.json)
    if args.plot:
        for path in write_plots(result, args.plot):
            print(f"wrote {path}")
    return 0


def _run_sweep(args: argparse.Namespace) -> int:
    from .studies.sweep import sweep

    result = sweep(args.model, args.data, args.time_steps, sequences=args.sequences, length=args.length,
                   batch_size=args.batch_size, calibration_sequences=args.calibration_sequences, code=args.code)
    print(result)
    if args.json:
        result.to_json(args.json)
    if args.plot:
        print(f"wrote {result.plot(args.plot)}")
    return 0


def _run_ablation(args: argparse.Namespace) -> int:
    from .studies.ablation import ablation

    result = ablation(args.model, args.data, sequences=args.sequences, length=args.length,
                      batch_size=args.batch_size, calibration_sequences=args.calibration_sequences,
                      time_steps=args.time_steps)
    print(result)
    if args.json:
        result.to_json(args.json)
    return 0
