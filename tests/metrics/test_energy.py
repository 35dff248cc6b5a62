"""Energy arithmetic, presets, and what the report states."""

import json

import pytest

from lasnn.metrics.energy import PRESETS, EnergyPreset, Ops, energy_pj, resolve_preset
from lasnn.metrics.report import report


def test_energy_arithmetic():
    ops = Ops(macs=10, acs=100, functions=2, updates=50)
    fp32 = PRESETS["fp32-45nm"]
    assert (fp32.mac_pj, fp32.ac_pj) == (4.6, 0.9)
    assert energy_pj(ops, fp32) == pytest.approx(10 * 4.6 + 100 * 0.9 + 2 * 4.6 + 50 * 0.9)
    assert energy_pj(ops, fp32, memory=True) == pytest.approx(energy_pj(ops, fp32) + 110 * fp32.memory_pj)
    assert Ops(1, 2, 3, 4) + Ops(10, 20, 30, 40) == Ops(11, 22, 33, 44)


def test_user_presets_and_errors():
    user = resolve_preset({"name": "mine", "mac_pj": 2.0, "ac_pj": 0.5})
    assert (user.update_pj, user.function_pj, user.memory_pj) == (0.5, 2.0, 0.0)
    with pytest.raises(ValueError, match="unknown energy preset"):
        resolve_preset("fp64")
    with pytest.raises(ValueError, match="ac_pj"):
        EnergyPreset("bad", 1.0, -1.0, 0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="at least"):
        EnergyPreset.from_dict({"name": "x"})


def test_report_json_lists_every_constant_and_rule(tiny_llama, eval_batch, tmp_path):
    result = report(tiny_llama, [eval_batch], memory=True)
    data = json.loads(result.to_json(tmp_path / "r.json").read_text())
    names = [p["name"] for p in data["constants"]["presets"]]
    assert names == list(PRESETS)
    for preset in data["constants"]["presets"]:
        assert {"mac_pj", "ac_pj", "update_pj", "function_pj", "memory_pj", "note"} <= set(preset)
    assert {"neurons", "linear", "product", "to_neuron", "inherent", "allow_ann"} <= set(data["counting_rules"])
    assert data["energy"][0]["memory"] is True
    text = str(result)
    for preset in PRESETS.values():
        assert f"MAC {preset.mac_pj} pJ, AC {preset.ac_pj} pJ" in text
    ops = {op["op"] for op in data["ops"]}
    assert {"linear", "Q·Kᵀ", "P·V", "softmax ê ⊙ r̂", "act(gate) ⊙ up", "x ⊙ rsqrt", "RoPE"} <= ops
    assert data["totals"]["snn"]["acs"] > 0 and data["totals"]["ann"]["macs"] > 0
    layer = data["layers"]["layer 0"]
    assert layer["spikes_per_neuron"] > 0 and layer["energy_pj"]["fp32-45nm"]["ann"] > 0


def test_report_says_plainly_when_the_snn_costs_more(tiny_llama, eval_batch):
    cheap_macs = {"name": "cheap-mac", "mac_pj": 0.01, "ac_pj": 1.0}
    costly_macs = {"name": "costly-mac", "mac_pj": 1000.0, "ac_pj": 0.001, "update_pj": 0.0}
    result = report(tiny_llama, eval_batch, presets=[cheap_macs, costly_macs], per_step=False)
    more, less = result.energy
    assert more.snn_pj > more.ann_pj and "the SNN costs MORE than the ANN" in more.verdict
    assert less.snn_pj < less.ann_pj and "MORE" not in less.verdict
    assert more.verdict in str(result)
