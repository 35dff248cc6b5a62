"""Parity of the spike-equivalent operators: max error vs torch and temporal-vs-equivalent difference.

    python benchmarks/ops_parity.py [--time-steps 16 20] [--device cpu] [--seed 0] [--json PATH]

Metrics (per operator, on the data named in the `data` column):
- product, activations: max |y - ref| / |ref| (relative, |ref| >= 2^-100), ref = torch on the un-encoded inputs
  for the product (so it includes the input codes' error) and on x for the activations;
- softmax: max |P - torch.softmax| (absolute);
- layer_norm / rms_norm: max over rows of max |y - ref| / rms(ref), neurons calibrated on the same rows;
- temporal_vs_equivalent: the same metric between the two modes (0 = bit-identical).
"""

from __future__ import annotations

import argparse
import math
import platform

import torch
import torch.nn.functional as F

import lasnn
from lasnn.jsonio import write_json
from lasnn.neurons import HGNeuron, OATNeuron, calibrate_neurons
from lasnn.ops import (
    NormNeurons,
    SoftmaxNeurons,
    spike_product,
    spike_product_steps,
    spiking_activation,
    spiking_layer_norm,
    spiking_rms_norm,
    spiking_softmax,
    spiking_softmax_spikes,
)

WIDTH = 4096


def _relative(y: torch.Tensor, ref: torch.Tensor) -> float:
    ref = ref.double()
    keep = ref.abs() >= 2.0**-100
    return float(((y.double() - ref).abs()[keep] / ref.abs()[keep]).max())


def _absolute(y: torch.Tensor, ref: torch.Tensor) -> float:
    return float((y.double() - ref.double()).abs().max())


def _row_relative(y: torch.Tensor, ref: torch.Tensor) -> float:
    ref = ref.double()
    return float(((y.double() - ref).abs().amax(-1) / ref.pow(2).mean(-1).sqrt()).max())


def _outlier_rows(g: torch.Generator, rows: int, n_outliers: int) -> torch.Tensor:
    x = torch.randn(rows, WIDTH, generator=g)
    channels = torch.randperm(WIDTH, generator=g)[:n_outliers]
    signs = torch.randint(0, 2, (rows, n_outliers), generator=g) * 2 - 1
    x[:, channels] = 1000 * x.abs().median() * signs * (1 + 0.1 * torch.rand(rows, n_outliers, generator=g))
    return x


def _products(k: int, g: torch.Generator, device: str) -> list[dict]:
    rows = []
    cases = [
        ("mul", torch.mul, (64, 256), (1, 256), "gaussian, OAT codes"),
        ("matmul (Q·Kᵀ)", torch.matmul, (2, 4, 32, 64), (2, 4, 64, 48), "gaussian, OAT codes"),
    ]
    for name, op, shape_a, shape_b, data in cases:
        a, b = torch.randn(shape_a, generator=g).to(device), torch.randn(shape_b, generator=g).to(device)
        na, nb = OATNeuron.from_tensor(a, time_steps=k), OATNeuron.from_tensor(b, time_steps=k)
        eq = spike_product(na(a), nb(b), op)
        temporal = spike_product_steps(na.spikes(a), nb.spikes(b), op).sum(0)
        ref = op(a.double(), b.double())
        scale = float(ref.pow(2).mean().sqrt())
        rows.append(dict(operator=f"product {name}", data=data, metric="max|err|/rms(ref)",
                         error=_absolute(eq, ref) / scale, temporal_vs_equivalent=_absolute(temporal, eq) / scale))
    return rows


def _softmax(k: int, g: torch.Generator, device: str) -> list[dict]:
    rows = []
    for keys in (512, 8192):
        scales = torch.tensor([1.0, 10.0, 100.0, 1000.0]).repeat_interleave(4)[:, None]
        scores = (torch.randn(16, keys, generator=g) * scales).clamp(-1e3, 1e3).to(device)
        keep = (torch.rand(16, keys, generator=g) > 0.25).to(device)
        keep[:, 0] = True
        neurons = SoftmaxNeurons(k).to(device)
        for masked in (False, True):
            mask = keep if masked else None
            p = spiking_softmax(scores, neurons, mask=mask)
            temporal = spiking_softmax_spikes(scores[:4], neurons, mask=None if mask is None else mask[:4]).sum(0)
            ref = torch.softmax(scores.double().masked_fill(~keep, -math.inf) if masked else scores.double(), -1)
            rows.append(dict(operator="softmax", data=f"{keys} keys, scores ±1e3{', 25% masked' if masked else ''}",
                             metric="max|err|", error=_absolute(p, ref),
                             temporal_vs_equivalent=_absolute(temporal, p[:4])))
    return rows


def _norms(k: int, g: torch.Generator, device: str) -> list[dict]:
    rows = []
    weight = (1 + 0.2 * torch.randn(WIDTH, generator=g)).to(device)
    bias = (0.1 * torch.randn(WIDTH, generator=g)).to(device)
    for n_outliers in (0, 4):
        x = _outlier_rows(g, 16, n_outliers).to(device)
        data = f"{WIDTH} wide, " + (f"{n_outliers} channels at 1000x median" if n_outliers else "gaussian")
        ln = NormNeurons.layer_norm(k).to(device)
        run_ln = lambda temporal=False: spiking_layer_norm(x, WIDTH, weight, bias, 1e-5, ln, temporal)  # noqa: E731
        calibrate_neurons(ln, run_ln)
        ref = F.layer_norm(x.double(), (WIDTH,), weight.double(), bias.double(), 1e-5)
        y = run_ln()
        rows.append(dict(operator="layer_norm", data=data, metric="max_row max|err|/rms(ref)",
                         error=_row_relative(y, ref), temporal_vs_equivalent=_row_relative(run_ln(True), y)))
        rms = NormNeurons.rms_norm(k).to(device)
        run_rms = lambda temporal=False: spiking_rms_norm(x, weight, 1e-6, rms, temporal=temporal)  # noqa: E731
        calibrate_neurons(rms, run_rms)
        xd = x.double()
        ref = xd * torch.rsqrt(xd.pow(2).mean(-1, keepdim=True) + 1e-6) * weight.double()
        y = run_rms()
        rows.append(dict(operator="rms_norm", data=data, metric="max_row max|err|/rms(ref)",
                         error=_row_relative(y, ref), temporal_vs_equivalent=_row_relative(run_rms(True), y)))
    return rows


def _activations(k: int, g: torch.Generator, device: str) -> list[dict]:
    references = {
        "gelu": lambda x: x * 0.5 * torch.special.erfc(-x / math.sqrt(2)),
        "gelu_tanh": lambda x: x * torch.sigmoid(2 * math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)),
        "silu": F.silu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
    }
    x = torch.cat([torch.linspace(-12, 12, 100001), torch.randn(100000, generator=g) * 4]).to(device)
    rows = []
    for name, reference in references.items():
        neuron = HGNeuron.for_function(name, time_steps=k).to(device)
        y = spiking_activation(x, neuron)
        rows.append(dict(operator=f"activation {name}", data="x in [-12, 12]", metric="max|err|/|ref|",
                         error=_relative(y, reference(x.double())),
                         temporal_vs_equivalent=_absolute(spiking_activation(x, neuron, temporal=True), y)))
    return rows


def run(time_steps: list[int], device: str, seed: int) -> list[dict]:
    results = []
    for k in time_steps:
        g = torch.Generator().manual_seed(seed)
        for section in (_products, _softmax, _norms, _activations):
            for row in section(k, g, device):
                results.append({"time_steps": k, **row})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-steps", type=int, nargs="+", default=[16], help="K values (default 16)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="PATH", help="write the numbers (and the run's settings) as JSON")
    args = parser.parse_args()
    with torch.no_grad():
        results = run(args.time_steps, args.device, args.seed)
    header = f"{'K':>2}  {'operator':<22} {'data':<38} {'metric':<26} {'error':>10} {'temporal-vs-eq':>14}"
    print(header)
    print("-" * len(header))
    for r in results:
        print(f"{r['time_steps']:>2}  {r['operator']:<22} {r['data']:<38} {r['metric']:<26} "
              f"{r['error']:>10.3e} {r['temporal_vs_equivalent']:>14.3e}")
    if args.json:
        report = {"benchmark": "ops_parity", "lasnn_version": lasnn.__version__, "torch": torch.__version__,
                  "device": args.device, "platform": platform.platform(), "seed": args.seed, "results": results}
        print(f"wrote {write_json(args.json, report)}")


if __name__ == "__main__":
    main()
