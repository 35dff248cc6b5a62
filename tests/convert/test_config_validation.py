"""LASConfig refuses every value that would fail later: non-finite numbers, bools for integers, bad thresholds."""

import math

import pytest

from lasnn import LASConfig

NAN, INF = math.nan, math.inf


@pytest.mark.parametrize("field, value, fragment", [
    ("time_steps", True, "time_steps"),
    ("time_steps", 16.0, "time_steps"),
    ("time_steps", 0, "time_steps"),
    ("quantile", NAN, "quantile"),
    ("quantile", "0.9", "quantile"),
    ("quantile", True, "quantile"),
    ("outlier_margin", NAN, "outlier_margin"),
    ("outlier_margin", INF, "outlier_margin"),
    ("outlier_margin", 0.5, "outlier_margin"),
    ("hg_range_margin", NAN, "hg_range_margin"),
    ("hg_range_margin", INF, "hg_range_margin"),
    ("hg_range_margin", None, "hg_range_margin"),
    ("fixed_thresholds", (1.0, INF), "fixed_thresholds"),
    ("fixed_thresholds", (NAN, 1.0), "fixed_thresholds"),
    ("fixed_thresholds", (1.0,), "fixed_thresholds"),
    ("fixed_thresholds", (2.0, 1.0), "fixed_thresholds"),
    ("fixed_thresholds", ("1", "2"), "fixed_thresholds"),
    ("fixed_thresholds", 10.0, "fixed_thresholds"),
    ("calibration_sequences", True, "calibration_sequences"),
    ("calibration_sequences", 2.5, "calibration_sequences"),
    ("calibration_sequences", 0, "calibration_sequences"),
    ("exact_synapses", "yes", "exact_synapses"),
    ("allow_ann", (1, 2), "allow_ann"),
    ("allow_ann", None, "allow_ann"),
    ("rounding", "up", "rounding"),
    ("code", "morse", "code"),
])
def test_bad_values_raise_value_error_naming_the_field(field, value, fragment):
    with pytest.raises(ValueError, match=fragment):
        LASConfig(**{field: value})


def test_bad_values_from_a_manifest_dict_raise_value_error():
    with pytest.raises(ValueError, match="outlier_margin"):
        LASConfig.from_dict({"outlier_margin": INF})
    with pytest.raises(ValueError, match="fixed_thresholds"):
        LASConfig.from_dict({"fixed_thresholds": 10})
    with pytest.raises(ValueError, match="allow_ann"):
        LASConfig.from_dict({"allow_ann": 3})


def test_good_values_still_pass_and_normalise():
    config = LASConfig(time_steps=8, quantile=1, outlier_margin=1, fixed_thresholds=(1, 4), allow_ann="lm_head")
    assert config.fixed_thresholds == (1.0, 4.0) and config.allow_ann == ("lm_head",)
    assert LASConfig.from_dict(config.to_dict()) == config
    assert LASConfig.paper().fixed_thresholds == (10.0, 500.0)
