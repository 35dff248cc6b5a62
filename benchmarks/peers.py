"""Peers side by side: SpikingJelly 2.0.0's ANN-to-SNN recipes and lasnn on the same models and inputs, in one run.

    pip install -e '.[peers]'          # SpikingJelly 2.0.0 (see the README: --no-deps on a CPU-only torch)
    HF_HUB_OFFLINE=1 python benchmarks/peers.py [--sentences 200 --repeats 5 --temporal-sentences 25] \
        [--json reports/peers.json]

Part 1, all-MiniLM-L6-v2 on the first ``--sentences`` polarity test sentences (batches of 25, as
tests/real/test_minilm.py; lasnn calibrates on the first 32 train sentences, as that test does):

- the ANN (the Hugging Face model itself);
- SpikingJelly ``TransformerTDEquivalentRecipe`` at T = 8 and T = 16 on the FX-friendly BERT encoder wrapper that ships
  in ``spikingjelly.activation_based.ann2snn.examples.bert_sst2_transformer_td_equivalent`` (the ANN's embedding layer
  feeds it, the embedding output enters at t = 0 and zeros after it, the output sequence is summed over time, exactly
  as that example does);
- lasnn ``LASConfig()`` and ``LASConfig.paper()``, equivalent mode on every sentence and temporal mode on the first
  ``--temporal-sentences`` (temporal mode carries K = 16 steps through every synapse and is slow on a CPU).

Per method: min / mean cosine of the mean-pooled embeddings to the ANN's; max |hidden-state diff| over attended
positions relative to the ANN's hidden std (per batch, as lasnn.parity); decisions flipped by one logistic regression
fit on the ANN's embeddings of the 2000 labelled polarity train sentences; forward time over the ANN's, per repeat
(the methods alternate within a repeat, the machine is shared), median and range; spikes per neuron (lasnn:
lasnn.report's counts, on the first ``--count-sentences``); SpikingJelly's TD operators emit floating-point
differences, not spikes (their docstrings say so), so for them the table counts non-zero output entries per output
element of every TD operator over the T steps, labelled as such; energy under the Horowitz 45 nm presets of
lasnn.metrics.energy for lasnn only (a TD operator is a dense float op at every step: an energy per spike does not
apply).

Part 2, a tiny random Qwen2 (``Qwen2Config`` built here, seeded): SpikingJelly ``calibrate_qwen2_snn`` +
``Qwen2SNNRecipe`` (its default ``Qwen2SNNConfig``: T = 32, 16 calibration levels, signed IF encoding) against lasnn
on the same model, calibration batches and test batch: relative logit error ||z - z_ANN|| / ||z_ANN|| (Frobenius),
max |diff| / std(z_ANN), next-token top-1 agreement.
"""

from __future__ import annotations

import argparse
import copy
import importlib.metadata
import importlib.util
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

PEERS_HINT = "pip install -e '.[peers]'"
SPIKINGJELLY = "2.0.0"
BATCH = 25
# Measured outside this repository, not reproduced here (the LAS paper's released code does not install here).
OUTSIDE = {
    "las_paper_code_minilm": {"min_cosine": 0.977, "time_ratio": 93.0,
                              "note": "the LAS paper's released code on all-MiniLM-L6-v2, measured outside"},
    "spikingjelly_td_t8_minilm": {"cosine": 0.99999976, "time_ratio": "14-20"},
    "spikingjelly_td_t16_minilm": {"time_ratio": 45.0},
    "spikingjelly_qwen2_signed_if": {"relative_logit_error": 0.10, "top1_agreement": 0.81},
}


# -- metric helpers (pure, tested in tests/metrics/test_peers_helpers.py) ----------------------------------------------

def additive_mask(attention_mask: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """BERT's extended attention mask [B, 1, 1, S]: 0 where attended, the dtype's minimum where padded (what
    ``get_extended_attention_mask`` returned before transformers 5 removed it; SpikingJelly's BERT example uses it)."""
    return (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


def ratio_summary(seconds: Sequence[float], ann_seconds: Sequence[float]) -> dict[str, Any]:
    """Per-repeat time ratios to the ANN of the same repeat, their median and range."""
    if len(seconds) != len(ann_seconds) or not seconds:
        raise ValueError("one ANN time per repeat is needed")
    ratios = [s / a for s, a in zip(seconds, ann_seconds)]
    return {"ratios": ratios, "median": statistics.median(ratios), "min": min(ratios), "max": max(ratios),
            "seconds": list(seconds), "ann_seconds": list(ann_seconds)}


def nonzero_events(sequence: torch.Tensor) -> tuple[int, int, int]:
    """(non-zero entries, of them after step 0, output elements) of a [T, ...] sequence; elements count one per
    position, not per step."""
    return int(torch.count_nonzero(sequence)), int(torch.count_nonzero(sequence[1:])), sequence[0].numel()


def logit_agreement(reference: torch.Tensor, output: torch.Tensor) -> dict[str, float]:
    """Relative Frobenius error, max |diff| / std(reference) and top-1 agreement of [..., V] logits."""
    reference, output = reference.double(), output.double()
    return {"relative_logit_error": float((output - reference).norm() / reference.norm()),
            "max_abs_over_std": float((output - reference).abs().max() / reference.std()),
            "top1_agreement": float((output.argmax(-1) == reference.argmax(-1)).double().mean())}


def embedding_metrics(reference: torch.Tensor, output: torch.Tensor, classifier: Any) -> dict[str, Any]:
    """Cosine of each row of ``output`` [N, H] to ``reference`` and the rows whose ``classifier`` decision flips."""
    cosine = torch.nn.functional.cosine_similarity(reference.double(), output.double(), dim=-1)
    flipped = classifier.predict(reference.numpy()) != classifier.predict(output.double().numpy())
    return {"sentences": int(reference.shape[0]), "cosine_min": float(cosine.min()),
            "cosine_mean": float(cosine.mean()),
            "flipped": int(flipped.sum()), "flipped_indices": [int(i) for i in flipped.nonzero()[0]]}


# -- the methods ------------------------------------------------------------------------------------------------------

def progress(message: str) -> None:
    print(f"[peers] {message}", file=sys.stderr, flush=True)


def require_spikingjelly() -> str:
    """SpikingJelly's version; exits with one line if it (or one of its imports) is missing."""
    if importlib.util.find_spec("spikingjelly") is None:
        sys.exit(f"benchmarks/peers.py needs SpikingJelly {SPIKINGJELLY}, which is not installed: {PEERS_HINT}")
    try:
        import spikingjelly.activation_based.ann2snn  # noqa: F401
    except ImportError as error:
        sys.exit(f"SpikingJelly is installed but does not import ({error}): {PEERS_HINT}")
    version = importlib.metadata.version("spikingjelly")
    if version != SPIKINGJELLY:
        progress(f"warning: SpikingJelly {version} is installed; these numbers were taken with {SPIKINGJELLY}")
    return version


class TDEncoder:
    """SpikingJelly's TD-equivalent BERT encoder at T steps, behind the ANN's own embedding layer; returns the
    last hidden state [B, S, H] (the output sequence summed over time, as SpikingJelly's BERT example does)."""

    def __init__(self, ann: torch.nn.Module, time_steps: int) -> None:
        from spikingjelly.activation_based import functional
        from spikingjelly.activation_based.ann2snn import (
            Converter,
            TransformerTDEquivalentRecipe,
        )
        from spikingjelly.activation_based.ann2snn.examples.bert_sst2_transformer_td_equivalent import (
            FXFriendlyBertEncoder,
            make_first_real_then_zero_sequence,
        )

        self.functional, self.sequence, self.time_steps = functional, make_first_real_then_zero_sequence, time_steps
        self.embeddings = ann.embeddings
        wrapper = FXFriendlyBertEncoder(copy.deepcopy(ann.encoder), ann.config).eval()
        self.wrapper = wrapper
        self.td = Converter(recipe=TransformerTDEquivalentRecipe(time_steps=time_steps)).convert(
            copy.deepcopy(wrapper)).eval()
        functional.set_step_mode(self.td, "m")

    def embed(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.embeddings(input_ids=batch["input_ids"], token_type_ids=batch.get("token_type_ids"))

    def __call__(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        embedded = self.embed(batch)
        self.functional.reset_net(self.td)
        out = self.td(self.sequence(embedded, self.time_steps), additive_mask(batch["attention_mask"], embedded.dtype))
        return out.sum(0)

    def count_events(self, batches: Sequence[dict[str, torch.Tensor]]) -> dict[str, Any]:
        """Non-zero output entries of every TD operator per output element, over ``batches``."""
        from spikingjelly.activation_based.ann2snn.operators import TDModule

        totals = {"events": 0, "events_after_step_0": 0, "elements": 0}

        def hook(_module: torch.nn.Module, _inputs: Any, output: Any) -> None:
            if isinstance(output, torch.Tensor):
                events, later, elements = nonzero_events(output)
                totals["events"] += events
                totals["events_after_step_0"] += later
                totals["elements"] += elements

        handles = [m.register_forward_hook(hook) for m in self.td.modules() if isinstance(m, TDModule)]
        try:
            with torch.no_grad():
                for batch in batches:
                    self(batch)
        finally:
            for handle in handles:
                handle.remove()
        return {**totals, "per_element": totals["events"] / max(totals["elements"], 1), "time_steps": self.time_steps,
                "what": "non-zero float differences emitted by TD operators per output element over T steps "
                        "(not spikes: SpikingJelly's TD operators emit real-valued differences)"}


def lasnn_runner(model: torch.nn.Module, mode: str) -> Callable[[dict[str, torch.Tensor]], torch.Tensor]:
    import lasnn

    def run(batch: dict[str, torch.Tensor]) -> torch.Tensor:
        with lasnn.mode(model, mode):
            return model(**batch).last_hidden_state

    return run


def timed(run: Callable[[dict[str, torch.Tensor]], torch.Tensor],
          batches: Sequence[dict[str, torch.Tensor]]) -> tuple[float, list[torch.Tensor]]:
    """Summed forward seconds over ``batches`` and the outputs."""
    outputs, seconds = [], 0.0
    with torch.no_grad():
        for batch in batches:
            start = time.perf_counter()
            outputs.append(run(batch))
            seconds += time.perf_counter() - start
    return seconds, outputs


# -- part 1: MiniLM ----------------------------------------------------------------------------------------------------

def minilm(args: argparse.Namespace) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression

    import lasnn
    from lasnn.assets import load_model, load_polarity
    from lasnn.eval.probe import mean_pool
    from lasnn.metrics.parity import ParityStats
    from lasnn.metrics.report import report

    ann, tokenizer = load_model("minilm-l6")
    train, test = load_polarity("train"), load_polarity("test")[: args.sentences]

    def tokenize(texts: Sequence[str]) -> dict[str, torch.Tensor]:
        return dict(tokenizer(list(texts), return_tensors="pt", padding=True, truncation=True, max_length=128))

    def batched(rows: Sequence[tuple[str, int]]) -> list[dict[str, torch.Tensor]]:
        return [tokenize([t for t, _ in rows[i: i + BATCH]]) for i in range(0, len(rows), BATCH)]

    batches = batched(test)
    temporal_batches, count_batches = batched(test[: args.temporal_sentences]), batched(test[: args.count_sentences])
    calibration = [tokenize([t for t, _ in train[i: i + 16]]) for i in range(0, 32, 16)]

    progress(f"ANN embeddings of the {len(train)} polarity train sentences for the logistic-regression head")
    with torch.no_grad():
        features = torch.cat([mean_pool(ann(**b).last_hidden_state, b["attention_mask"]).double()
                              for b in (tokenize([t for t, _ in train[i: i + 64]]) for i in range(0, len(train), 64))])
    classifier = LogisticRegression(max_iter=2000).fit(features.numpy(), [label for _, label in train])

    methods: dict[str, dict[str, Any]] = {}
    runners: dict[str, Callable[[dict[str, torch.Tensor]], torch.Tensor]] = {}
    for steps in args.td_steps:
        progress(f"SpikingJelly TransformerTDEquivalentRecipe, T = {steps}")
        td = TDEncoder(ann, steps)
        name = f"spikingjelly-td-T{steps}"
        runners[name] = td
        methods[name] = {"family": "spikingjelly", "recipe": "TransformerTDEquivalentRecipe", "time_steps": steps,
                         "mode": "TD (float differences)", "subset": "all"}
        methods[name]["_td"] = td
    for label, config in (("default", lasnn.LASConfig()), ("paper", lasnn.LASConfig.paper())):
        progress(f"lasnn.convert with LASConfig{'.paper' if label == 'paper' else ''}()")
        model = copy.deepcopy(ann)
        started = time.perf_counter()
        lasnn.convert(model, config, calibration_data=calibration)
        convert_s = time.perf_counter() - started
        for mode in ("equivalent", "temporal"):
            name = f"lasnn-{label}-{mode}"
            runners[name] = lasnn_runner(model, mode)
            methods[name] = {"family": "lasnn", "config": config.to_dict(), "preset": label, "mode": mode,
                             "time_steps": config.time_steps, "convert_s": convert_s,
                             "subset": "all" if mode == "equivalent" else "temporal", "_model": model}

    # The wrapper is SpikingJelly's, not the HF forward: say how far it is from it.
    td0 = next(m["_td"] for m in methods.values() if "_td" in m)
    wrapper_stats = ParityStats()
    with torch.no_grad():
        for batch in batches[:1]:
            wrapper_stats.update(ann(**batch).last_hidden_state,
                                 td0.wrapper(td0.embed(batch), additive_mask(batch["attention_mask"])),
                                 batch["attention_mask"])

    subsets = {"all": batches, "temporal": temporal_batches}
    progress("warm-up: one batch of every method")
    with torch.no_grad():
        ann(**batches[0])
        for name, run in runners.items():
            run(subsets[methods[name]["subset"]][0])
    ann_seconds: dict[str, list[float]] = {"all": [], "temporal": []}
    seconds: dict[str, list[float]] = {name: [] for name in runners}
    outputs: dict[str, list[torch.Tensor]] = {}
    for repeat in range(args.repeats):
        for subset, group in subsets.items():
            elapsed, out = timed(lambda b: ann(**b).last_hidden_state, group)
            ann_seconds[subset].append(elapsed)
            outputs.setdefault(f"ann-{subset}", out)
        for name, run in runners.items():
            group = subsets[methods[name]["subset"]]
            count = sum(len(b["input_ids"]) for b in group)
            progress(f"repeat {repeat + 1}/{args.repeats}: {name} on {count} sentences")
            elapsed, out = timed(run, group)
            seconds[name].append(elapsed)
            outputs.setdefault(name, out)
        progress(f"repeat {repeat + 1}/{args.repeats}: ANN {ann_seconds['all'][-1]:.2f} s on all, "
                 + ", ".join(f"{n} {seconds[n][-1]:.1f} s" for n in runners))

    reference = {subset: torch.cat([mean_pool(h, b["attention_mask"]).double() for h, b in
                                    zip(outputs[f"ann-{subset}"], group)]) for subset, group in subsets.items()}
    ann_row = {"family": "ann", "mode": "float", "subset": "all",
               **embedding_metrics(reference["all"], reference["all"], classifier), "hidden_max_rel": 0.0,
               "time": ratio_summary(ann_seconds["all"], ann_seconds["all"]), "spikes_per_neuron": None}
    for name, method in methods.items():
        subset = method["subset"]
        group = subsets[subset]
        stats = ParityStats()
        for hidden, ref, batch in zip(outputs[name], outputs[f"ann-{subset}"], group):
            stats.update(ref, hidden, batch["attention_mask"])
        pooled = torch.cat([mean_pool(h, b["attention_mask"]).double() for h, b in zip(outputs[name], group)])
        method.update(embedding_metrics(reference[subset], pooled, classifier))
        method["hidden_max_rel"] = stats.to_dict()["max_rel"]
        method["hidden_parity"] = stats.to_dict()
        method["time"] = ratio_summary(seconds[name], ann_seconds[subset])
        if "_td" in method:
            progress(f"counting {name}'s non-zero TD outputs on {args.count_sentences} sentences")
            method["events"] = method.pop("_td").count_events(count_batches)
            method["spikes_per_neuron"] = None
            method["energy"] = None
    for label in ("default", "paper"):
        model = methods[f"lasnn-{label}-equivalent"]["_model"]
        progress(f"lasnn.report (spikes, operations, energy) of LASConfig {label} on {args.count_sentences} sentences")
        counted = report(model, count_batches)
        energy = {row.preset.name: {"snn_pj": row.snn_pj, "ann_pj": row.ann_pj, "snn_over_ann": row.ratio}
                  for row in counted.energy}
        for mode in ("equivalent", "temporal"):
            method = methods[f"lasnn-{label}-{mode}"]
            method.pop("_model")
            method["spikes_per_neuron"] = counted.spikes_per_neuron
            method["energy"] = energy
            method["spikes_counted"] = ("equivalent-mode popcount of the codes (temporal mode emits the same codes, "
                                        "DESIGN.md section 2)")
    return {"model": "minilm-l6 (all-MiniLM-L6-v2)", "sentences": len(test), "batch": BATCH,
            "temporal_sentences": args.temporal_sentences, "count_sentences": args.count_sentences,
            "train_sentences_for_head": len(train), "calibration": "first 32 polarity train sentences, 2 x 16",
            "spikingjelly_wrapper_vs_hf": wrapper_stats.to_dict(), "methods": {"ann": ann_row, **methods}}


# -- part 2: tiny Qwen2 ------------------------------------------------------------------------------------------------

def qwen2(args: argparse.Namespace) -> dict[str, Any]:
    from spikingjelly.activation_based.ann2snn import ModuleConverter
    from spikingjelly.activation_based.ann2snn.recipes import (
        Qwen2SNNConfig,
        Qwen2SNNRecipe,
        calibrate_qwen2_snn,
    )
    from transformers import Qwen2Config, Qwen2ForCausalLM

    import lasnn

    torch.manual_seed(args.seed)
    config = Qwen2Config(vocab_size=512, hidden_size=128, intermediate_size=256, num_hidden_layers=4,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                         tie_word_embeddings=False)
    ann = Qwen2ForCausalLM(config).eval()
    generator = torch.Generator().manual_seed(args.seed + 1)
    ids = torch.randint(0, config.vocab_size, (12, 32), generator=generator)
    calibration = [{"input_ids": ids[i: i + 4], "attention_mask": torch.ones_like(ids[i: i + 4])} for i in (0, 4)]
    test = {"input_ids": ids[8:], "attention_mask": torch.ones_like(ids[8:])}
    rows: dict[str, dict[str, Any]] = {}
    with torch.no_grad():
        reference = ann(**test).logits
        progress("SpikingJelly calibrate_qwen2_snn + Qwen2SNNRecipe on the tiny Qwen2")
        sj_config = Qwen2SNNConfig()
        calibrated = calibrate_qwen2_snn(ann, calibration, sj_config)
        snn = ModuleConverter(recipe=Qwen2SNNRecipe(calibrated, sj_config)).convert(copy.deepcopy(ann))
        rows["spikingjelly-qwen2-signed-if"] = {"family": "spikingjelly", "recipe": "Qwen2SNNRecipe",
                                                "config": vars(sj_config), "encoding_mode": "signed_if",
                                                **logit_agreement(reference, snn(**test).logits)}
        for label, las_config in (("default", lasnn.LASConfig()), ("paper", lasnn.LASConfig.paper())):
            progress(f"lasnn.convert of the tiny Qwen2 with LASConfig {label}")
            model = copy.deepcopy(ann)
            lasnn.convert(model, las_config, calibration_data=calibration)
            for mode in ("equivalent", "temporal"):
                with lasnn.mode(model, mode):
                    rows[f"lasnn-{label}-{mode}"] = {"family": "lasnn", "config": las_config.to_dict(), "mode": mode,
                                                     **logit_agreement(reference, model(**test).logits)}
    return {"model": f"Qwen2ForCausalLM, random weights (torch.manual_seed({args.seed}))", "config": config.to_dict(),
            "calibration": "8 random sequences x 32 tokens", "test": "4 random sequences x 32 tokens",
            "positions": int(test["input_ids"].numel()), "methods": rows}


# -- output ------------------------------------------------------------------------------------------------------------

def _time(row: dict[str, Any]) -> str:
    t = row["time"]
    return f"{t['median']:.1f}x ({t['min']:.1f}-{t['max']:.1f})"


def _spikes(row: dict[str, Any]) -> str:
    if row.get("events"):
        return f"{row['events']['per_element']:.2f} nz / {row['events']['time_steps']} steps *"
    return "-" if row["spikes_per_neuron"] is None else f"{row['spikes_per_neuron']:.2f}"


def _energy(row: dict[str, Any]) -> str:
    if row["family"] == "ann":
        return "1"
    if not row.get("energy"):
        return "n/a *"
    return f"{row['energy']['fp32-45nm']['snn_over_ann']:.2f} / {row['energy']['int8-45nm']['snn_over_ann']:.2f}"


def print_tables(result: dict[str, Any]) -> None:
    """The two tables and their notes, from the result dict (so a written JSON can be printed again)."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:  # a log file or a pipe: no 80-column wrapping of the wide table
        console = Console(width=160)
    part = result["minilm"]
    table = Table(title=f"all-MiniLM-L6-v2, {part['sentences']} polarity test sentences, {result['threads']} CPU "
                        f"threads, {result['repeats']} timed repeats")
    for column in ("method", "n", "1 - min cos", "1 - mean cos", "max err/std", "flips", "time/ANN (range)",
                   "spikes/neuron", "E fp32 / int8"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for name, row in part["methods"].items():
        gaps = (f"{max(0.0, 1 - row[key]):.1e}" for key in ("cosine_min", "cosine_mean"))
        table.add_row(name, str(row["sentences"]), *gaps, f"{row['hidden_max_rel']:.1e}", str(row["flipped"]),
                      _time(row), _spikes(row), _energy(row))
    paper = OUTSIDE["las_paper_code_minilm"]
    table.add_row("LAS paper code (outside, not run)", "", f"{1 - paper['min_cosine']:.1e}", "", "", "",
                  f"~{paper['time_ratio']:.0f}x", "", "")
    console.print(table)
    console.print(f"n: sentences (temporal mode: the first {part['temporal_sentences']}); spikes and energy counted on "
                  f"the first {part['count_sentences']}; flips: decisions of the ANN-trained logistic regression "
                  f"that change; E: energy SNN/ANN under lasnn.metrics.energy's fp32-45nm / int8-45nm presets.\n"
                  "* SpikingJelly's TD operators emit floating-point differences, not spikes: 'nz' counts non-zero "
                  "output entries per output element of every TD operator over its T steps; no energy per spike "
                  "applies to them (each step is a dense float op).", soft_wrap=True)
    part = result["qwen2"]
    table = Table(title=f"tiny random Qwen2 ({part['config']['num_hidden_layers']} layers, hidden "
                        f"{part['config']['hidden_size']}, vocab {part['config']['vocab_size']}), "
                        f"{part['positions']} next-token positions")
    for column in ("method", "relative logit error", "max |diff| / std", "top-1 agreement"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for name, row in part["methods"].items():
        table.add_row(name, f"{100 * row['relative_logit_error']:.3f} %", f"{row['max_abs_over_std']:.2e}",
                      f"{100 * row['top1_agreement']:.2f} %")
    console.print(table)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", type=int, default=200, help="polarity test sentences (default 200)")
    parser.add_argument("--temporal-sentences", type=int, default=25,
                        help="the first N of them for lasnn's temporal mode (default 25)")
    parser.add_argument("--count-sentences", type=int, default=25,
                        help="the first N of them for spike / event counting (default 25)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats (default 3)")
    parser.add_argument("--td-steps", type=int, nargs="+", default=[8, 16], help="SpikingJelly TD time steps")
    parser.add_argument("--seed", type=int, default=0, help="seed of the tiny Qwen2")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    parser.add_argument("--print", type=Path, metavar="JSON", help="print the tables of a --json file and exit")
    args = parser.parse_args(argv)
    if args.print:
        print_tables(json.loads(args.print.read_text(encoding="utf-8")))
        return
    for name in ("sentences", "temporal_sentences", "count_sentences", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    args.temporal_sentences = min(args.temporal_sentences, args.sentences)
    args.count_sentences = min(args.count_sentences, args.sentences)
    from lasnn.jsonio import check_writable, write_json

    if args.json:
        check_writable(args.json)
    version = require_spikingjelly()
    started = time.perf_counter()
    result = {"spikingjelly": version, "torch": torch.__version__, "threads": torch.get_num_threads(),
              "repeats": args.repeats, "command": "python benchmarks/peers.py " + " ".join(sys.argv[1:] if argv is None
                                                                                           else argv),
              "minilm": minilm(args), "qwen2": qwen2(args), "outside_measurements": OUTSIDE}
    result["total_s"] = time.perf_counter() - started
    print_tables(result)
    if args.json:
        print(f"wrote {write_json(args.json, result)}")


if __name__ == "__main__":
    main()
