"""The ``lasnn`` command line: demo, convert, eval, generate, fetch (+ report, sweep and ablation from ``cli_report``).

Every subcommand prints rich tables, shows progress on stderr, writes the numbers it prints with ``--json PATH``,
and turns bad input into one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from . import cli_report
from .cli_report import nonempty as _nonempty
from .cli_report import positive as _positive
from .eval.glue import METRICS
from .jsonio import check_writable, write_json
from .neurons.codes import CODES

console = Console()
DEMO_JSON = Path("lasnn-demo.json")
TASKS = ("perplexity", "sentiment", "choice", "probe", "classify")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: what was wrong and where the help is."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class UserError(Exception):
    """Bad input found by the command line itself."""


# -- helpers -------------------------------------------------------------------------------------------------------

def _write_json(path: Path | None, data: dict[str, Any]) -> None:
    if path is None:
        return
    console.print(f"wrote {write_json(path, data)}", highlight=False)


def _conversion_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("conversion (ignored for a folder written by lasnn convert)")
    group.add_argument("--time-steps", type=_positive, default=16, help="time steps K per spike train (default 16)")
    group.add_argument("--paper", action="store_true", help="the paper's fixed thresholds 10 / 500 and floor codes")
    group.add_argument("--code", choices=CODES, default="binary",
                       help="spike code: binary (LAS, K steps) or naf (signed digits, K + 1 steps, fewer spikes; "
                            "same outputs)")
    group.add_argument("--calibration", type=_nonempty, help="shakespeare:WORK, polarity, or a .txt file "
                                             "(default: shakespeare:macbeth for LMs, polarity for embedding models and classifiers)")
    group.add_argument("--calibration-sequences", type=_positive, default=8, help="calibration sequences (default 8)")
    group.add_argument("--calibration-length", type=_positive, default=256, help="tokens per sequence (default 256)")
    group.add_argument("--mode", choices=("equivalent", "temporal"), default="equivalent", help="spiking mode to run")


def _config(args: argparse.Namespace) -> Any:
    from .config import LASConfig

    options = {"time_steps": args.time_steps, "code": args.code}
    return LASConfig.paper(**options) if args.paper else LASConfig(**options)


def _spiking(args: argparse.Namespace, task: str | None = None) -> tuple[Any, Any, dict[str, Any]]:
    from .eval.loading import load_spiking

    start = time.perf_counter()
    model, tokenizer, info = load_spiking(args.model, task, _config(args), args.calibration,
                                          args.calibration_sequences, args.calibration_length, args.mode)
    info["seconds"] = round(time.perf_counter() - start, 2)
    console.print(f"{args.model}: {info['source']} in {info['seconds']:.1f} s", highlight=False)
    if task == "causal-lm":
        _require_lm(model, args)
    return model, tokenizer, info


def _require_lm(model: Any, args: argparse.Namespace) -> None:
    """UserError unless ``model`` is a causal language model (it has a head that predicts the next token)."""
    if not model.can_generate():
        raise UserError(f"{args.model} is a {type(model).__name__} with no language-model head; "
                        f"{args.command} needs a causal LM: convert the model with --task causal-lm")


# -- demo ----------------------------------------------------------------------------------------------------------

def _demo_table(result: dict[str, Any]) -> Table:
    ppl, senti, gen = result["perplexity"], result["sentiment"], result["generation"]
    table = Table(title=f"lasnn demo: {result['model']} as an ANN and as a spiking network "
                        f"(K = {result['config']['time_steps']})", title_justify="left")
    table.add_column("")
    table.add_column("ANN", justify="right", overflow="fold")
    table.add_column("SNN", justify="right", overflow="fold")
    table.add_row(f"Hamlet perplexity ({ppl['examples']} tokens)", f"{ppl['ann']:.4f}", f"{ppl['snn']:.4f}")
    table.add_row("  relative change", "", f"{100 * ppl['relative_difference']:+.5f} %")
    table.add_row("  next-token top-1 agreement", "", f"{100 * ppl['parity']['top1_agreement']:.2f} %")
    table.add_row(f"sentiment accuracy ({senti['examples']} test sentences)", f"{100 * senti['ann']:.2f} %",
                  f"{100 * senti['snn']:.2f} %")
    table.add_row("  predictions changed", "", f"{senti['changed']} / {senti['examples']}")
    table.add_row("max |logit diff| / logit std", "", f"{max(ppl['parity']['max_rel'], senti['parity']['max_rel']):.2e}")
    table.add_row(f"greedy continuation ({gen['new_tokens']} tokens)", repr(gen["ann"]), repr(gen["snn"]))
    table.add_row("  identical", "", "yes" if gen["identical"] == gen["prompts"] else
                  f"no, from step {gen['divergences'][0]['step']}")
    accounting = result["accounting"]
    codes = accounting["codes"]
    table.add_row("spikes per neuron, binary code / naf code", "",
                  " / ".join(f"{codes[code]['spikes_per_neuron']:.3f}" for code in codes))
    for preset, row in codes["binary"]["energy"].items():
        snn = [f"{code} {codes[code]['energy'][preset]['snn_pj'] / 1e9:.4g} mJ "
               f"({codes[code]['energy'][preset]['snn_pj'] / row['ann_pj']:.2f}x)" for code in codes]
        table.add_row(f"energy, {preset} ({accounting['tokens']} tokens)", f"{row['ann_pj'] / 1e9:.4g} mJ",
                      "\n".join(snn))
    return table


def _run_demo(args: argparse.Namespace) -> int:
    from .assets import load_polarity, load_shakespeare
    from .eval.demo import DemoSizes, Timer, demo_model, run_demo

    timer, started = Timer(), time.perf_counter()
    sizes = DemoSizes(sentences=args.sentences, perplexity_tokens=args.tokens, new_tokens=args.new_tokens,
                      calibration_sequences=args.calibration_sequences)
    model, tokenizer, origin = demo_model(sizes, args.recalibrate, timer)
    console.print(f"conversion: {origin}", highlight=False)
    result = run_demo(model, tokenizer, load_shakespeare("hamlet"), load_polarity("test"), sizes, args.prompt, timer)
    result["conversion"] = origin
    result["seconds"]["total"] = round(time.perf_counter() - started, 2)
    console.print(_demo_table(result))
    console.print("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in result["seconds"].items()), highlight=False)
    _write_json(args.json, result)
    return 0


# -- convert / eval / generate -------------------------------------------------------------------------------------

def _run_convert(args: argparse.Namespace) -> int:
    from .convert.folders import check_target
    from .convert.persist import save
    from .eval.loading import held_out_batch
    from .metrics.parity import parity

    out = Path(args.out).expanduser()
    if out.exists() and not args.overwrite:
        raise UserError(f"{out} already exists; choose another folder or pass --overwrite")
    check_target(out, args.overwrite, args.model)  # before the conversion, not after it
    model, tokenizer, info = _spiking(args, args.task)
    if info["source"] == "converted":
        batch = held_out_batch(tokenizer, info["calibration"], args.calibration_sequences, args.calibration_length)
        report = parity(model, batch)
        console.print(f"parity on held-out {info['calibration']} inputs:\n{report}", highlight=False)
        info["parity"] = report.to_dict()
    path = save(model, out, tokenizer=tokenizer, overwrite=args.overwrite, max_shard_size=args.max_shard_size)
    console.print(f"saved the converted model to {path}", highlight=False)
    _write_json(args.json, {**info, "out": str(path)})
    return 0
def _perplexity_text(data: str) -> str:
    from .assets import load_shakespeare
    from .assets.datasets import read_utf8

    if data.startswith("shakespeare:"):
        return load_shakespeare(data.partition(":")[2])
    if Path(data).is_file():
        return read_utf8(data)
    raise UserError(f"--data {data!r} is neither shakespeare:WORK nor an existing text file")


def _run_eval(args: argparse.Namespace) -> int:
    from . import eval as tasks
    from .assets import load_polarity

    if args.task == "classify":
        return _run_classify(args)
    if args.task == "choice" and not args.data:
        raise UserError("the choice task needs --data FILE.json[l] with {context, choices, label} records")
    examples = tasks.load_choices(args.data) if args.task == "choice" else None
    text = _perplexity_text(args.data or "shakespeare:hamlet") if args.task == "perplexity" else ""
    model, tokenizer, info = _spiking(args, "embedding" if args.task == "probe" else "causal-lm")
    limit = args.limit
    if args.task == "perplexity":
        result = tasks.perplexity(model, tokenizer, text, args.window, args.stride, args.batch_size,
                                  max_tokens=limit or 2048)
    elif args.task == "sentiment":
        result = tasks.sentiment(model, tokenizer, load_polarity("test")[: limit or 200], args.batch_size)
    elif args.task == "choice":
        result = tasks.multiple_choice(model, tokenizer, examples[:limit] if limit else examples, args.batch_size)
    else:
        result = tasks.linear_probe(model, tokenizer, load_polarity("train")[: args.train or 2000],
                                    load_polarity("test")[: limit or 200], args.batch_size)
    console.print(result.table())
    _write_json(args.json, {"model": info, "result": result.to_dict()})
    return 0


def _shard_size(value: str) -> int:
    """An argparse type: a shard size in bytes (an integer or 500MB, 2GB, ...)."""
    from .convert.persist import shard_size

    try:
        return shard_size(int(value) if value.strip().isdigit() else value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _text_columns(value: str) -> tuple[str, ...]:
    """An argparse type: one or two comma-separated column names."""
    names = tuple(name.strip() for name in value.split(","))
    if not 1 <= len(names) <= 2 or not all(names):
        raise argparse.ArgumentTypeError(f"must be one or two comma-separated column names (a or a,b), got {value!r}")
    return names


def _run_classify(args: argparse.Namespace) -> int:
    from .assets.finetune import split_examples
    from .assets.registry import ASSETS, RecipeSpec
    from .eval import ClassifyExample, classify, read_records, resolve_columns, to_examples
    from .eval.classify import head_labels

    spec = ASSETS.get(args.model)
    if args.data:  # the table and its columns are checked before the model is converted
        where = Path(args.data).name
        records = read_records(args.data)[: args.limit]
        columns = resolve_columns(records, args.text_columns, args.label_column, args.split_column, where)
    elif isinstance(spec, RecipeSpec):
        held_out = split_examples(spec.recipe["test"])[: args.limit]
    else:
        raise UserError("the classify task needs --data FILE (.csv, .tsv, .jsonl, .json or a datasets folder) with "
                        "text and label columns; only a recipe model (minilm-polarity) has a held-out split of its own")
    model, tokenizer, info = _spiking(args, "sequence-classification")
    regression = head_labels(model) == 1
    examples = to_examples(records, columns, model.config.label2id, regression, where) if args.data \
        else [ClassifyExample(text, None, label) for text, label in held_out]
    result = classify(model, tokenizer, examples, args.metric, args.batch_size)
    console.print(result.table())
    if result.changed:
        console.print(f"changed predictions at examples {', '.join(map(str, result.extra['changed_indices']))}",
                      highlight=False)
    data = args.data or spec.recipe["test"]
    _write_json(args.json, {"model": info, "data": data, "result": result.to_dict()})
    return 0


def _run_generate(args: argparse.Namespace) -> int:
    from .metrics.generation import compare_greedy

    model, tokenizer, info = _spiking(args, "causal-lm")
    prompts = [_prompt(model, tokenizer, p, args.max_new_tokens) for p in args.prompt]
    comparison = compare_greedy(model, prompts, new_tokens=args.max_new_tokens)
    table = Table(title=f"greedy continuations, ann vs {comparison.mode}", title_justify="left", show_lines=True)
    for column in ("prompt", "ANN", "SNN", "identical"):
        table.add_column(column, overflow="fold")
    rows = []
    for prompt, ann, snn in zip(args.prompt, comparison.ann_tokens, comparison.snn_tokens):
        row = {"prompt": prompt, "ann": tokenizer.decode(ann), "snn": tokenizer.decode(snn), "identical": ann == snn}
        rows.append(row)
        table.add_row(prompt, row["ann"], row["snn"], "yes" if ann == snn else "no")
    console.print(table)
    console.print(str(comparison), highlight=False)
    _write_json(args.json, {"model": info, "continuations": rows, "comparison": comparison.to_dict()})
    return 0


def _prompt(model: Any, tokenizer: Any, prompt: str, new_tokens: int) -> dict[str, Any]:
    """The tokenised prompt, checked: at least one token, and room for ``new_tokens`` in the position table."""
    from .convert.inputs import check_positions, position_limit

    inputs = dict(tokenizer(prompt, return_tensors="pt"))
    tokens = inputs["input_ids"].shape[1]
    if tokens == 0:
        raise UserError(f"--prompt {prompt!r} encodes to no tokens (empty); give a prompt with text")
    check_positions(model, tokens + new_tokens, f"--prompt {prompt[:20]!r}... plus --max-new-tokens {new_tokens}",
                    f"use a shorter prompt or fewer new tokens (at most {position_limit(model)} in all)")
    return inputs


def _run_fetch(args: argparse.Namespace) -> int:
    from .assets import fetch
    from .assets.registry import fetch_all_names

    paths = {}
    for name in fetch_all_names() if "all" in args.names else list(dict.fromkeys(args.names)):
        start = time.perf_counter()
        paths[name] = str(fetch(name))
        console.print(f"{name}: {paths[name]} ({time.perf_counter() - start:.1f} s)", highlight=False)
    _write_json(args.json, paths)
    return 0


# -- parser --------------------------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    from .assets.registry import ASSETS, fetch_all_names

    parser = _Parser(prog="lasnn", description="Loss-less ANN-to-SNN conversion (LAS) of Hugging Face transformers.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="SmolLM2-135M as ANN and as SNN, side by side")
    demo.add_argument("--json", type=Path, default=DEMO_JSON, help=f"JSON report path (default {DEMO_JSON})")
    demo.add_argument("--sentences", type=_positive, default=200, help="polarity test sentences (default 200)")
    demo.add_argument("--tokens", type=_positive, default=512, help="Hamlet tokens for perplexity (default 512)")
    demo.add_argument("--new-tokens", type=_positive, default=16, help="greedy tokens generated (default 16)")
    demo.add_argument("--calibration-sequences", type=_positive, default=8, help="Macbeth sequences (default 8)")
    demo.add_argument("--prompt", default="To be, or not to be, that is the question:", help="generation prompt")
    demo.add_argument("--recalibrate", action="store_true", help="convert again instead of loading the cached conversion")
    demo.set_defaults(func=_run_demo)

    model_help = ("a pinned model (smollm2-135m, minilm-l6, minilm-polarity), a local Hugging Face folder, or a lasnn "
                  "convert folder")
    conv = commands.add_parser("convert", help="convert a model with calibration and save it")
    conv.add_argument("model", metavar="MODEL", help=model_help)
    conv.add_argument("out", metavar="OUT", help="folder to write (weights, config, calibration, tokenizer)")
    conv.add_argument("--task", choices=("causal-lm", "embedding", "masked-lm", "sequence-classification"),
                      help="model head (default: the pinned model's, else causal-lm)")
    conv.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    conv.add_argument("--max-shard-size", type=_shard_size, metavar="SIZE",
                      help="split the weights into safetensors shards of at most SIZE (bytes, or 500MB, 2GB, ...)")
    conv.add_argument("--json", type=Path, help="write the numbers printed here")
    _conversion_args(conv)
    conv.set_defaults(func=_run_convert)

    ev = commands.add_parser("eval", help="score the ANN and the SNN on one task, side by side")
    ev.add_argument("model", metavar="MODEL", help=model_help)
    ev.add_argument("task", metavar="TASK", choices=TASKS, help=f"one of {', '.join(TASKS)}")
    ev.add_argument("--data", type=_nonempty, help="perplexity: shakespeare:WORK or a .txt file (default shakespeare:hamlet); "
                                   "choice: a .json/.jsonl file of {context, choices, label} records; classify: a "
                                   ".csv/.tsv/.jsonl/.json table or a datasets folder (default for minilm-polarity: "
                                   "its held-out polarity test split)")
    ev.add_argument("--limit", type=_positive, help="examples (perplexity: tokens, default 2048; sentiment, probe: "
                                                   "200; choice, classify: all)")
    ev.add_argument("--train", type=_positive, help="probe: training sentences (default 2000)")
    ev.add_argument("--window", type=_positive, default=256, help="perplexity window in tokens (default 256)")
    ev.add_argument("--stride", type=_positive, help="perplexity stride in tokens (default: the window)")
    ev.add_argument("--batch-size", type=_positive, default=8, help="batch size (default 8)")
    group = ev.add_argument_group("classify")
    group.add_argument("--metric", choices=tuple(METRICS), help="accuracy, f1 or glue-TASK (default: accuracy; "
                                                               "glue-stsb for a regression head)")
    group.add_argument("--text-columns", type=_text_columns, metavar="A[,B]",
                       help="one or two text columns (default: GLUE names, e.g. sentence or sentence1,sentence2)")
    group.add_argument("--label-column", type=_nonempty,
                       help="label id / name or score column (default label, else score)")
    group.add_argument("--split-column", type=_nonempty, help="a column naming each row's split, scored on its own too "
                                                              "(MNLI: matched / mismatched)")
    ev.add_argument("--json", type=Path, help="write the numbers printed here")
    _conversion_args(ev)
    ev.set_defaults(func=_run_eval)

    gen = commands.add_parser("generate", help="greedy continuations from the ANN and the SNN")
    gen.add_argument("model", metavar="MODEL", help=model_help)
    gen.add_argument("--prompt", action="append", required=True, help="a prompt (repeat for more)")
    gen.add_argument("--max-new-tokens", type=_positive, default=32, help="tokens to generate (default 32)")
    gen.add_argument("--json", type=Path, help="write the numbers printed here")
    _conversion_args(gen)
    gen.set_defaults(func=_run_generate)

    fetch = commands.add_parser("fetch", help="download, verify and cache the pinned models and datasets")
    fetch.add_argument("names", nargs="+", metavar="NAME", choices=(*ASSETS, "all"),
                       help=f"{', '.join(ASSETS)}, or all (= {', '.join(fetch_all_names())})")
    fetch.add_argument("--json", type=Path, help="write where each asset lies")
    fetch.set_defaults(func=_run_fetch)

    cli_report.register(commands)
    return parser


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    from .assets import AssetError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if getattr(args, "json", None) is not None:
            check_writable(args.json)  # a report that cannot be written fails now, not after the run
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"lasnn {args.command}: interrupted", file=sys.stderr)
        return 130
    except (UserError, ValueError, OSError, AssetError) as error:  # a TypeError is a bug: its traceback shows
        print(f"lasnn {args.command}: error: {_one_line(error)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
