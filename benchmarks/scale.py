"""Conversion and run cost of a LLaMA-architecture model with random weights at 1B / 7B shape (or a small one for a CPU).

    python benchmarks/scale.py --shape small [--dtype bfloat16 --device cpu --batch 2 --length 128]
                               [--calibration-sequences 8 --repeats 3 --new-tokens 16] [--json reports/scale.json]

Shapes: ``tiny`` (hidden 64, 2 layers), ``small`` (hidden 512, 4 layers, ~25M parameters), ``1b`` (Llama-3.2-1B:
hidden 2048, 16 layers, GQA 32 / 8, vocab 128256, tied embeddings) and ``7b`` (Llama-2-7B: hidden 4096, 32 layers,
vocab 32000). The weights are random (``from_config`` on the device, in ``--dtype``, default bfloat16): the timings and
memory depend on shapes, not on trained values, and nothing is downloaded. Calibration and inputs are random token ids.

Reported: model build time; conversion time (``lasnn.convert``: surgery, calibration, audit) and calibration time per
sequence against an ANN forward per sequence of the same length; equivalent-mode forward time and peak memory
against the ANN (alternating, medians; memory as in benchmarks/overhead.py: the resident set on a CPU, allocated
bytes on CUDA); temporal-mode forward on a shorter input; greedy generation tokens/s (ANN and SNN, KV cache); and the
parity of the equivalent-mode logits with the ANN's (max |diff| / std, top-1 agreement). The ratio column is the
SNN's cost over the ANN's (time or memory; for generation, ANN tokens/s over SNN tokens/s).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch
import transformers
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
from overhead import PeakMemory, timed_forward  # noqa: E402

import lasnn  # noqa: E402

convert_api = importlib.import_module("lasnn.convert.api")
from lasnn.jsonio import write_json  # noqa: E402

SHAPES: dict[str, dict[str, Any]] = {
    "tiny": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                 intermediate_size=128, vocab_size=256, max_position_embeddings=2048),
    "small": dict(hidden_size=512, num_hidden_layers=4, num_attention_heads=8, num_key_value_heads=4,
                  intermediate_size=1408, vocab_size=8192, max_position_embeddings=2048),
    "1b": dict(hidden_size=2048, num_hidden_layers=16, num_attention_heads=32, num_key_value_heads=8,
               intermediate_size=8192, vocab_size=128256, max_position_embeddings=131072, rope_theta=500000.0,
               tie_word_embeddings=True, head_dim=64),
    "7b": dict(hidden_size=4096, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32,
               intermediate_size=11008, vocab_size=32000, max_position_embeddings=4096),
}
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def build(shape: str, dtype: torch.dtype, device: torch.device, seed: int = 0) -> transformers.PreTrainedModel:
    """A LlamaForCausalLM of ``shape`` with random weights, built directly on ``device`` in ``dtype``."""
    config = transformers.LlamaConfig(**SHAPES[shape], bos_token_id=1, eos_token_id=2, pad_token_id=0)
    torch.manual_seed(seed)
    with torch.device(device):
        model = transformers.AutoModelForCausalLM.from_config(config, dtype=dtype)
    return model.eval()


def tokens(count: int, length: int, vocab: int, device: torch.device, seed: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, vocab, (count, length), generator=generator).to(device)
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}


def convert_timed(model: torch.nn.Module, config: lasnn.LASConfig,
                  batches: list[dict[str, torch.Tensor]]) -> tuple[float, float]:
    """(conversion seconds, of which calibration seconds): lasnn.convert with its calibrate() timed."""
    calibrate, spent = convert_api.calibrate, []
    device = next(model.parameters()).device

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return calibrate(*args, **kwargs)
        finally:
            _sync(device)
            spent.append(time.perf_counter() - start)

    convert_api.calibrate = timed
    try:
        start = time.perf_counter()
        lasnn.convert(model, config, calibration_data=batches)
        _sync(device)
        return time.perf_counter() - start, sum(spent)
    finally:
        convert_api.calibrate = calibrate


def generate_rate(model: torch.nn.Module, mode: str | None, prompt: dict[str, torch.Tensor],
                  new_tokens: int) -> tuple[float, torch.Tensor]:
    """(new tokens per second, the tokens) of greedy generation in ``mode`` (None: a model not converted) with the
    KV cache."""
    device = prompt["input_ids"].device
    with (lasnn.mode(model, mode) if mode else contextlib.nullcontext()), torch.no_grad():
        model.generate(**prompt, max_new_tokens=2, do_sample=False, pad_token_id=0)  # warm-up
        _sync(device)
        start = time.perf_counter()
        out = model.generate(**prompt, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                             pad_token_id=0)
        _sync(device)
        elapsed = time.perf_counter() - start
    return prompt["input_ids"].shape[0] * new_tokens / elapsed, out


def logits(model: torch.nn.Module, batch: dict[str, torch.Tensor], mode: str) -> torch.Tensor:
    with lasnn.mode(model, mode), torch.no_grad():
        return model(**batch).logits.float()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", choices=tuple(SHAPES), default="small")
    parser.add_argument("--dtype", choices=tuple(DTYPES), default="bfloat16")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=2, help="sequences per timed forward")
    parser.add_argument("--length", type=int, default=128, help="tokens per sequence (forwards and calibration)")
    parser.add_argument("--calibration-sequences", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--temporal-length", type=int, default=16, help="tokens per sequence for the temporal run")
    parser.add_argument("--prompt-length", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=16)
    parser.add_argument("--json", type=Path, default=Path("reports/scale.json"))
    args = parser.parse_args()
    device, dtype = torch.device(args.device), DTYPES[args.dtype]

    start = time.perf_counter()
    model = build(args.shape, dtype, device)
    _sync(device)
    build_seconds = time.perf_counter() - start
    parameters = sum(p.numel() for p in model.parameters())
    vocab = model.config.vocab_size
    calibration = [tokens(min(4, args.calibration_sequences - i), args.length, vocab, device, seed=100 + i)
                   for i in range(0, args.calibration_sequences, 4)]
    batch = tokens(args.batch, args.length, vocab, device, seed=1)
    small = {key: value[:, : args.temporal_length] for key, value in batch.items()}
    prompt = {key: value[:1, : args.prompt_length] for key, value in batch.items()}

    # the ANN before conversion: a forward per calibration-shaped batch (the comparison for calibration's cost)
    with torch.no_grad():
        model(**calibration[0])  # warm-up
        _sync(device)
        start = time.perf_counter()
        for item in calibration:
            model(**item)
        _sync(device)
    ann_per_sequence = (time.perf_counter() - start) / args.calibration_sequences
    ann_rate, ann_tokens = generate_rate(model, None, prompt, args.new_tokens)

    config = lasnn.LASConfig(calibration_sequences=args.calibration_sequences)
    convert_seconds, calibrate_seconds = convert_timed(model, config, calibration)

    for mode in ("ann", "equivalent"):  # warm-up
        timed_forward(model, batch, mode)
    runs: dict[str, list[tuple[float, PeakMemory]]] = {"ann": [], "equivalent": []}
    for _ in range(args.repeats):
        for mode in runs:
            runs[mode].append(timed_forward(model, batch, mode))
    median = {mode: statistics.median(t for t, _ in values) for mode, values in runs.items()}
    fastest = {mode: min(t for t, _ in values) for mode, values in runs.items()}  # the least disturbed run
    base = {mode: min(m.base for _, m in values) for mode, values in runs.items()}
    extra = {mode: max(m.extra for _, m in values) for mode, values in runs.items()}
    peak = {mode: base["ann"] + extra[mode] for mode in runs}
    small_ann = min(timed_forward(model, small, "ann")[0] for _ in range(2))
    small_temporal = timed_forward(model, small, "temporal")[0]
    snn_rate, snn_tokens = generate_rate(model, "equivalent", prompt, args.new_tokens)
    ann_logits, snn_logits = logits(model, batch, "ann"), logits(model, batch, "equivalent")
    max_diff = float((snn_logits - ann_logits).abs().max() / ann_logits.std())
    top1 = float((snn_logits.argmax(-1) == ann_logits.argmax(-1)).float().mean())
    same_tokens = int((snn_tokens[0, args.prompt_length:] == ann_tokens[0, args.prompt_length:]).sum())

    result = {
        "shape": args.shape, "architecture": SHAPES[args.shape], "parameters": parameters, "dtype": args.dtype,
        "device": str(device), "threads": torch.get_num_threads(), "batch": args.batch, "length": args.length,
        "repeats": args.repeats, "build_seconds": build_seconds,
        "conversion": {"seconds": convert_seconds, "calibration_seconds": calibrate_seconds,
                       "calibration_sequences": args.calibration_sequences,
                       "calibration_seconds_per_sequence": calibrate_seconds / args.calibration_sequences,
                       "ann_forward_seconds_per_sequence": ann_per_sequence,
                       "calibration_time_ratio": calibrate_seconds / args.calibration_sequences / ann_per_sequence},
        "forward": {"seconds": {mode: [t for t, _ in values] for mode, values in runs.items()},
                    "median_seconds": median, "time_ratio": median["equivalent"] / median["ann"],
                    "fastest_time_ratio": fastest["equivalent"] / fastest["ann"],
                    "resident_before_forward_bytes": base, "forward_extra_memory_bytes": extra,
                    "peak_memory_bytes": peak, "peak_memory_ratio": peak["equivalent"] / peak["ann"]},
        "temporal": {"length": args.temporal_length, "ann_seconds": small_ann, "temporal_seconds": small_temporal,
                     "time_ratio": small_temporal / small_ann},
        "generation": {"prompt_length": args.prompt_length, "new_tokens": args.new_tokens,
                       "ann_tokens_per_second": ann_rate, "snn_tokens_per_second": snn_rate,
                       "same_tokens": same_tokens},
        "parity": {"max_abs_diff_over_std": max_diff, "top1_agreement": top1},
    }
    mib = 2**20
    table = Table(title=f"LLaMA {args.shape} ({parameters / 1e6:.1f}M parameters, random weights), {args.dtype}, "
                        f"{device}, batch {args.batch} x {args.length} tokens")
    for column in ("measure", "ANN", "SNN", "ratio"):
        table.add_column(column)
    table.add_row("build (random weights)", f"{build_seconds:.2f} s", "", "")
    table.add_row(f"conversion ({args.calibration_sequences} calibration sequences)", "", f"{convert_seconds:.2f} s", "")
    table.add_row("calibration per sequence (ANN: forward)", f"{ann_per_sequence * 1e3:.1f} ms",
                  f"{calibrate_seconds / args.calibration_sequences * 1e3:.1f} ms",
                  f"{result['conversion']['calibration_time_ratio']:.2f}x")
    table.add_row("equivalent forward (median)", f"{median['ann']:.3f} s", f"{median['equivalent']:.3f} s",
                  f"{result['forward']['time_ratio']:.2f}x")
    table.add_row("equivalent forward (fastest)", f"{fastest['ann']:.3f} s", f"{fastest['equivalent']:.3f} s",
                  f"{result['forward']['fastest_time_ratio']:.2f}x")
    table.add_row("peak memory", f"{peak['ann'] / mib:.0f} MiB", f"{peak['equivalent'] / mib:.0f} MiB",
                  f"{result['forward']['peak_memory_ratio']:.3f}x")
    table.add_row("memory the forward adds", f"{extra['ann'] / mib:.0f} MiB", f"{extra['equivalent'] / mib:.0f} MiB",
                  f"{extra['equivalent'] / max(extra['ann'], 1):.2f}x")
    table.add_row(f"temporal forward ({args.batch} x {args.temporal_length})", f"{small_ann:.3f} s",
                  f"{small_temporal:.3f} s", f"{result['temporal']['time_ratio']:.1f}x")
    table.add_row(f"greedy generation ({args.new_tokens} tokens)", f"{ann_rate:.1f} tok/s", f"{snn_rate:.1f} tok/s",
                  f"{ann_rate / snn_rate:.2f}x")
    table.add_row("parity (max |diff| / std, top-1)", "", f"{max_diff:.2e}, {top1:.2%}",
                  f"{same_tokens}/{args.new_tokens} same tokens")
    Console().print(table)
    print(f"wrote {write_json(args.json, result)}")


if __name__ == "__main__":
    main()
