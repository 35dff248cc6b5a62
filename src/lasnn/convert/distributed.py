"""Data-parallel calibration: reduce every observer across the ranks of torch.distributed's default group.

Each observer is an exact statistic, so the reduction is exact: OAT histograms (int64 counts) and the calibration
value counts add (SUM), maxima take MAX, HG minima take MIN (as MAX of the negation). Afterwards every rank holds
the observers of one process that saw all ranks' data, and freezes the same thresholds bit for bit.
"""

from __future__ import annotations

import torch
import torch.distributed as dist

from ..neurons import HGNeuron, Neuron, OATNeuron


def active() -> bool:
    """Whether calibration runs data-parallel (an initialised default group of more than one rank)."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def _comm_device() -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


def check_batches(local_batches: int) -> None:
    """ValueError on every rank if some rank has no calibration batch (each rank needs one for the audit)."""
    fewest = torch.tensor([local_batches], dtype=torch.int64, device=_comm_device())
    dist.all_reduce(fewest, op=dist.ReduceOp.MIN)
    if int(fewest) == 0:
        raise ValueError(f"data-parallel calibration: a rank of {dist.get_world_size()} got no calibration batch; "
                         "give every rank at least one batch (e.g. batches[rank::world_size])")


def _check_same_sites(observing: list[Neuron]) -> None:
    kinds = [type(neuron).__name__ for neuron in observing]
    gathered: list[list[str] | None] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, kinds)
    if any(other != kinds for other in gathered):
        raise ValueError("data-parallel calibration: the ranks' models have different neurons; convert the same model "
                         "with the same LASConfig on every rank")


def reduce_observers(observing: list[Neuron], counts: dict[str, torch.Tensor]) -> None:
    """Sum / max / min every observer of ``observing`` and the site value ``counts`` across all ranks, in place."""
    _check_same_sites(observing)
    device = _comm_device()
    sums = [n._hist for n in observing if isinstance(n, OATNeuron)] + [counts[k] for k in sorted(counts)]
    maxima = [n._obs_max for n in observing if isinstance(n, (OATNeuron, HGNeuron))]
    minima = [n._obs_min for n in observing if isinstance(n, HGNeuron)]
    for tensors, op, sign in ((sums, dist.ReduceOp.SUM, 1), (maxima, dist.ReduceOp.MAX, 1), (minima, dist.ReduceOp.MAX, -1)):
        if not tensors:
            continue
        flat = torch.cat([t.reshape(-1).to(device) for t in tensors]) * sign
        dist.all_reduce(flat, op=op)
        for tensor, part in zip(tensors, torch.split(flat * sign, [t.numel() for t in tensors])):
            tensor.copy_(part.reshape(tensor.shape))
