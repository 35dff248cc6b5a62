"""Energy estimates from counted operations, with named presets and every constant stated.

    E_ANN = MACs·e_MAC + ACs·e_AC + F·e_F
    E_SNN = ACs·e_AC + MACs·e_MAC + U·e_U
    with memory: + (MACs + ACs)·e_mem  (one operand read per MAC / AC)

MACs: multiply-accumulates, ACs: accumulates, F: the ANN's non-linear function evaluations, U: neuron state
updates. Constants: Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014, 45 nm, 0.9 V.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..modules.base import Ops

SOURCE = "M. Horowitz, Computing's energy problem (and what we can do about it), ISSCC 2014, 45 nm, 0.9 V"


@dataclass(frozen=True)
class EnergyPreset:
    """Energy per operation in picojoules.

    mac_pj: one multiply + one add; ac_pj: one add; update_pj: one neuron state update (compare + subtract, priced
    as one add unless stated); function_pj: one non-linear function evaluation of the ANN (priced as one MAC, a
    lower bound: real exp / rsqrt kernels take several); memory_pj: one operand read (used with memory=True).
    """

    name: str
    mac_pj: float
    ac_pj: float
    update_pj: float
    function_pj: float
    memory_pj: float
    note: str = ""

    def __post_init__(self) -> None:
        for key in ("mac_pj", "ac_pj", "update_pj", "function_pj", "memory_pj"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(f"energy preset {self.name!r}: {key} must be a number >= 0, got {value!r}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnergyPreset:
        """A user-defined preset: name, mac_pj, ac_pj required; update_pj (= ac_pj), function_pj (= mac_pj),
        memory_pj (= 0) optional."""
        if not isinstance(data, dict) or not {"name", "mac_pj", "ac_pj"} <= set(data):
            raise ValueError("an energy preset needs at least name, mac_pj and ac_pj")
        unknown = set(data) - {"name", "mac_pj", "ac_pj", "update_pj", "function_pj", "memory_pj", "note"}
        if unknown:
            raise ValueError(f"unknown energy preset fields {sorted(unknown)}")
        return cls(name=str(data["name"]), mac_pj=data["mac_pj"], ac_pj=data["ac_pj"],
                   update_pj=data.get("update_pj", data["ac_pj"]), function_pj=data.get("function_pj", data["mac_pj"]),
                   memory_pj=data.get("memory_pj", 0.0), note=str(data.get("note", "user-defined")))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


PRESETS: dict[str, EnergyPreset] = {
    p.name: p for p in (
        EnergyPreset("fp32-45nm", mac_pj=4.6, ac_pj=0.9, update_pj=0.9, function_pj=4.6, memory_pj=5.0,
                     note="fp32 mult 3.7 pJ + add 0.9 pJ; memory: a 32-bit word from an 8 KB SRAM (10 pJ per 64 bits)"),
        EnergyPreset("fp16-45nm", mac_pj=1.5, ac_pj=0.4, update_pj=0.4, function_pj=1.5, memory_pj=2.5,
                     note="fp16 mult 1.1 pJ + add 0.4 pJ; memory: a 16-bit word from an 8 KB SRAM"),
        EnergyPreset("int8-45nm", mac_pj=0.23, ac_pj=0.03, update_pj=0.03, function_pj=0.23, memory_pj=1.25,
                     note="int8 mult 0.2 pJ + add 0.03 pJ (accumulators wider than 8 bits cost more: int32 add "
                          "0.1 pJ); memory: an 8-bit word from an 8 KB SRAM"),
    )
}


def resolve_preset(preset: str | EnergyPreset | dict[str, Any]) -> EnergyPreset:
    """A preset by name, a user dict, or an EnergyPreset."""
    if isinstance(preset, EnergyPreset):
        return preset
    if isinstance(preset, dict):
        return EnergyPreset.from_dict(preset)
    if preset not in PRESETS:
        raise ValueError(f"unknown energy preset {preset!r}; known: {', '.join(PRESETS)}, or pass an EnergyPreset")
    return PRESETS[preset]


def energy_pj(ops: Ops, preset: EnergyPreset, memory: bool = False) -> float:
    """Energy in pJ of ``ops`` (formula in the module docstring)."""
    total = ops.macs * preset.mac_pj + ops.acs * preset.ac_pj + ops.functions * preset.function_pj \
        + ops.updates * preset.update_pj
    if memory:
        total += (ops.macs + ops.acs) * preset.memory_pj
    return total
