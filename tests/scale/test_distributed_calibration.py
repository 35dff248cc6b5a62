"""Data-parallel calibration: 2 gloo processes, each on half the batches, freeze the thresholds of 1 process on all."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import lasnn
from lasnn.convert.persist import _calibration_tensors

sys.path.insert(0, str(Path(__file__).parent.parent))
from tiny_models import tiny_model, token_batches  # noqa: E402

CONFIG = lasnn.LASConfig(calibration_sequences=64)


def _rank(rank: int, world: int, init: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    try:
        torch.set_num_threads(1)
        model = lasnn.convert(tiny_model("llama"), CONFIG, calibration_data=token_batches(4)[rank::world])
        torch.save(_calibration_tensors(model), f"{out}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_two_rank_calibration_gives_the_one_process_thresholds(tmp_path: Path) -> None:
    mp.spawn(_rank, args=(2, f"file://{tmp_path}/init", str(tmp_path)), nprocs=2, join=True)
    single = _calibration_tensors(lasnn.convert(tiny_model("llama"), CONFIG, calibration_data=token_batches(4)))
    for rank in range(2):
        shared = torch.load(tmp_path / f"rank{rank}.pt")
        assert shared.keys() == single.keys()
        for key, value in single.items():
            assert torch.equal(shared[key], value), key
    half = _calibration_tensors(lasnn.convert(tiny_model("llama"), CONFIG, calibration_data=token_batches(4)[0::2]))
    assert any(not torch.equal(half[key], value) for key, value in single.items())  # the reduction did something


