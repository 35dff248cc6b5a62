"""Devices of modules dispatched by accelerate (``device_map``): offloaded weights sit on ``meta`` until a hook
loads them, so probes run on the hook's execution device."""

from __future__ import annotations

import torch
import torch.nn as nn


def execution_device(module: nn.Module, weight: torch.Tensor) -> torch.device:
    """Where ``module`` computes: its accelerate hook's execution device, else the device of ``weight``."""
    device = getattr(getattr(module, "_hf_hook", None), "execution_device", None)
    return torch.device(device) if device is not None else weight.device
