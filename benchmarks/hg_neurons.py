"""HG neuron benchmark: precision against float64 references, spikes per neuron, gates and throughput.

For every HG function: sweep its declared range (log-spaced where it spans decades, both signs where the domain has
both), report max abs / rel error (rel where |f| >= 1e-30: below, f itself nears the float32 underflow limit), mean
spikes per neuron (popcount of the codes), the gate bank size, the issue's error bound and whether it holds, and
forward throughput in equivalent mode.

    python benchmarks/hg_neurons.py [--time-steps 16] [--points 1000000] [--device cpu] [--json PATH]
"""

from __future__ import annotations

import argparse
import math
import platform
import time

import torch
from rich.console import Console
from rich.table import Table

from lasnn.jsonio import write_json
from lasnn.neurons import HG_FUNCTIONS, HGNeuron, track_stats
from lasnn.neurons.references import reference

# issue precision table at K = 16: (kind, bound as a function of x, text)
BOUNDS = {
    "exp": ("abs", lambda x: 2e-5, "abs <= 2e-5"),
    "reciprocal": ("rel", lambda x: 1e-4, "rel <= 1e-4"),
    "rsqrt": ("rel", lambda x: 1e-4, "rel <= 1e-4"),
    "sqrt": ("rel", lambda x: 1e-4, "rel <= 1e-4"),
    "square": ("rel", lambda x: 1e-4, "rel <= 1e-4 (|x| >= 1e-6)"),
    "gelu": ("abs", lambda x: 1e-4 * x.abs().clamp_min(1), "abs <= 1e-4 max(1,|x|)"),
    "gelu_tanh": ("abs", lambda x: 1e-4 * x.abs().clamp_min(1), "abs <= 1e-4 max(1,|x|)"),
    "silu": ("abs", lambda x: 1e-4 * x.abs().clamp_min(1), "abs <= 1e-4 max(1,|x|)"),
    "sigmoid": ("abs", lambda x: 1e-4, "abs <= 1e-4"),
    "tanh": ("abs", lambda x: 1e-4, "abs <= 1e-4"),
}


def sweep(lo: float, hi: float, n: int) -> torch.Tensor:
    """n float32-representable points over [lo, hi]: half linear, half log-spaced per sign where it has decades."""
    parts = [torch.linspace(lo, hi, n // 2, dtype=torch.float64)]
    for a, b, sign in ((max(lo, 0.0), hi, 1.0), (max(-hi, 0.0), -lo, -1.0)):
        if b > 0:
            a = a if a > 0 else 1e-8 * b
            parts.append(sign * torch.logspace(math.log10(a), math.log10(b), n // 4, dtype=torch.float64))
    return torch.cat(parts).float().double()


def throughput(neuron: HGNeuron, device: str, n: int = 1 << 22, repeats: int = 5) -> dict[str, float]:
    """Forward elements/s (best of `repeats`), with and without statistics counting."""
    lo, hi = neuron.range
    x = (torch.rand(n, device=device) * (hi - lo) + lo).float()
    out = {}
    for label, tracking in (("stats_on", True), ("stats_off", False)):
        with track_stats(tracking):
            neuron(x)
            best = math.inf
            for _ in range(repeats):
                if device.startswith("cuda"):
                    torch.cuda.synchronize()
                start = time.perf_counter()
                neuron(x)
                if device.startswith("cuda"):
                    torch.cuda.synchronize()
                best = min(best, time.perf_counter() - start)
        out[label] = n / best
    return out


def measure(name: str, time_steps: int, points: int, device: str) -> dict:
    neuron = HGNeuron.for_function(name, time_steps=time_steps).to(device)
    lo, hi = neuron.range
    x = sweep(lo, hi, points)
    y = neuron(x.float().to(device)).double().cpu()
    ref = reference(name, x)
    err = (y - ref).abs()
    normal = ref.abs() >= 1e-30
    rel = err[normal] / ref.abs()[normal]
    spikes = neuron.spike_count(x.float().to(device)).double()
    row = {
        "function": name, "lo": lo, "hi": hi, "points": x.numel(),
        "max_abs_error": float(err.max()), "max_rel_error": float(rel.max()),
        "mean_spikes_per_neuron": float(spikes.mean()), "max_spikes_per_neuron": int(spikes.max()),
        "gates": neuron.n_gates, "octaves": [neuron.e_min, neuron.e_max],
        "underflow_fraction": float(neuron.stats.underflow) / x.numel(),
        "throughput_elements_per_s": throughput(neuron, device),
    }
    if name in BOUNDS and time_steps == 16:
        kind, bound, text = BOUNDS[name]
        keep = x.abs() >= 1e-6 if name == "square" else torch.ones_like(x, dtype=torch.bool)
        e = (err / ref.abs() if kind == "rel" else err)[keep]
        row["bound"] = text
        row["bound_holds"] = bool((e <= bound(x[keep])).all())
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-steps", type=int, default=16)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--json", metavar="PATH", help="write the numbers as JSON")
    args = parser.parse_args()

    rows = [measure(name, args.time_steps, args.points, args.device) for name in HG_FUNCTIONS]
    table = Table(title=f"HG neurons, K = {args.time_steps}, {args.points:,} points per function, {args.device}")
    for col in ("function", "range", "max abs err", "max rel err", "mean spikes", "gates", "bound", "holds",
                "Melem/s (stats on/off)"):
        table.add_column(col, justify="left" if col in ("function", "range", "bound") else "right")
    for r in rows:
        tp = r["throughput_elements_per_s"]
        table.add_row(r["function"], f"[{r['lo']:.4g}, {r['hi']:.4g}]", f"{r['max_abs_error']:.3g}",
                      f"{r['max_rel_error']:.3g}", f"{r['mean_spikes_per_neuron']:.2f}", str(r["gates"]),
                      r.get("bound", "-"), {True: "yes", False: "NO"}.get(r.get("bound_holds"), "-"),
                      f"{tp['stats_on'] / 1e6:.0f} / {tp['stats_off'] / 1e6:.0f}")
    Console(width=170).print(table)
    if args.json:
        meta = {"time_steps": args.time_steps, "points": args.points, "device": args.device,
                "torch": torch.__version__, "threads": torch.get_num_threads(), "machine": platform.machine(),
                "gpu": torch.cuda.get_device_name() if args.device.startswith("cuda") else None}
        write_json(args.json, {"meta": meta, "functions": rows})


if __name__ == "__main__":
    main()
