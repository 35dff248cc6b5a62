"""Time and memory of the spiking modes against the ANN on SmolLM2-135M, measured side by side in one run.

    python benchmarks/overhead.py [--batch 4 --length 256 --repeats 5 --compile] [--json reports/overhead.json]

The ANN and equivalent-mode forwards alternate (the machine is shared and noisy) and the ratio of their medians is
reported; the temporal mode runs on a smaller input (it carries K = 16 time steps through every synapse). Memory:
before each forward freed heap goes back to the OS and the resident set is read; during it the resident set is
sampled every millisecond (CUDA: allocated and max allocated). The peak of a mode is the lean resident set before
the ANN forward plus the most that mode's forward added; both are reported.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import statistics
import threading
import time
from pathlib import Path

import psutil
import torch
from rich.console import Console
from rich.table import Table

import lasnn
from lasnn.assets import load_model, load_shakespeare
from lasnn.jsonio import write_json
from lasnn.neurons import compile_kernels


def _release_free_heap() -> None:
    """Hand freed heap pages back to the OS (glibc ``malloc_trim``), so the resident set starts each forward lean."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class PeakMemory:
    """Memory a block needs above what the process held when it began: peak resident set (sampled every
    millisecond) minus the resident set at entry, after freed heap is handed back (CUDA: peak allocated minus
    allocated at entry). ``base`` is the entry value, so ``base + extra`` is the block's peak."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.base, self.peak = device, 0, 0

    @property
    def extra(self) -> int:
        return max(0, self.peak - self.base)

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = torch.cuda.memory_allocated(self.device)
            return self
        gc.collect()
        _release_free_heap()
        self._process, self._running = psutil.Process(os.getpid()), True
        self.base = self.peak = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while self._running:
            self.peak = max(self.peak, self._process.memory_info().rss)
            time.sleep(0.001)

    def __exit__(self, *exc: object) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.peak = torch.cuda.max_memory_allocated(self.device)
        else:
            self._running = False
            self._thread.join()
            self.peak = max(self.peak, self._process.memory_info().rss)


def timed_forward(model: torch.nn.Module, batch: dict[str, torch.Tensor], mode: str) -> tuple[float, PeakMemory]:
    device = next(model.parameters()).device
    with lasnn.mode(model, mode), torch.no_grad(), PeakMemory(device) as memory:
        start = time.perf_counter()
        model(**batch)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        elapsed = time.perf_counter() - start
    return elapsed, memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--temporal-length", type=int, default=32, help="tokens per sequence for the temporal run")
    parser.add_argument("--compile", action="store_true", help="fuse the neuron kernels with torch.compile")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--json", type=Path, default=Path("reports/overhead.json"))
    args = parser.parse_args()
    compile_kernels(args.compile)
    device = torch.device(args.device)
    model, tokenizer = load_model("smollm2-135m")
    model.to(device)
    ids = tokenizer(load_shakespeare("macbeth"), return_tensors="pt").input_ids[0]
    need = args.length * (args.batch + 8)
    ids = ids[:need].view(-1, args.length).to(device)
    calibration = [{"input_ids": ids[i : i + 4], "attention_mask": torch.ones_like(ids[i : i + 4])} for i in (0, 4)]
    lasnn.convert(model, lasnn.LASConfig(calibration_sequences=8), calibration_data=calibration)
    batch = {"input_ids": ids[8 : 8 + args.batch], "attention_mask": torch.ones_like(ids[8 : 8 + args.batch])}
    for mode in ("ann", "equivalent"):
        timed_forward(model, batch, mode)
    runs: dict[str, list[tuple[float, int]]] = {"ann": [], "equivalent": []}
    for _ in range(args.repeats):
        for mode in runs:
            runs[mode].append(timed_forward(model, batch, mode))
    small = {k: v[:, : args.temporal_length] for k, v in batch.items()}
    small_ann = min(timed_forward(model, small, "ann")[0] for _ in range(2))
    small_temporal = timed_forward(model, small, "temporal")[0]
    median = {mode: statistics.median(t for t, _ in values) for mode, values in runs.items()}
    base = {mode: min(m.base for _, m in values) for mode, values in runs.items()}
    extra = {mode: max(m.extra for _, m in values) for mode, values in runs.items()}
    peak = {mode: base["ann"] + extra[mode] for mode in runs}
    result = {
        "model": "smollm2-135m",
        "device": str(device),
        "threads": torch.get_num_threads(),
        "compiled_kernels": args.compile,
        "batch": args.batch,
        "length": args.length,
        "repeats": args.repeats,
        "seconds": {mode: [t for t, _ in values] for mode, values in runs.items()},
        "median_seconds": median,
        "equivalent_time_ratio": median["equivalent"] / median["ann"],
        "resident_before_forward_bytes": base,
        "forward_extra_memory_bytes": extra,
        "peak_memory_bytes": peak,
        "peak_memory_ratio": peak["equivalent"] / peak["ann"],
        "forward_extra_memory_ratio": extra["equivalent"] / max(extra["ann"], 1),
        "temporal": {
            "length": args.temporal_length,
            "ann_seconds": small_ann,
            "temporal_seconds": small_temporal,
            "time_ratio": small_temporal / small_ann,
        },
        "goals": {"equivalent_time_ratio": 1.5, "peak_memory_ratio": 1.15},
    }
    table = Table(title=f"SmolLM2-135M, batch {args.batch} x {args.length} tokens, {device}, compiled kernels: {args.compile}")
    for column in ("measure", "ANN", "SNN", "ratio", "goal"):
        table.add_column(column)
    table.add_row("forward time (median)", f"{median['ann']:.3f} s", f"{median['equivalent']:.3f} s",
                  f"{result['equivalent_time_ratio']:.2f}x", "<= 1.5x")
    table.add_row("peak memory (process)", f"{peak['ann'] / 2**20:.0f} MiB", f"{peak['equivalent'] / 2**20:.0f} MiB",
                  f"{result['peak_memory_ratio']:.3f}x", "<= 1.15x")
    table.add_row("memory the forward adds", f"{extra['ann'] / 2**20:.0f} MiB", f"{extra['equivalent'] / 2**20:.0f} MiB",
                  f"{result['forward_extra_memory_ratio']:.2f}x", "-")
    table.add_row(f"temporal mode ({args.batch} x {args.temporal_length})", f"{small_ann:.3f} s",
                  f"{small_temporal:.3f} s", f"{result['temporal']['time_ratio']:.1f}x", "-")
    Console().print(table)
    print(f"wrote {write_json(args.json, result)}")


if __name__ == "__main__":
    main()
